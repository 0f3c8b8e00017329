// Latch passkeys (WebAuthn): the browser half of the ceremonies whose
// options the server renders into data attributes (no inline script under
// the pages' CSP). The options are go-webauthn's JSON: byte fields are
// base64url strings, decoded here; the credential goes back as the JSON
// of the PublicKeyCredential (toJSON, or the same shape built by hand) in
// the form's hidden "credential" input, and the form is posted with its
// sealed, single-use interaction. The server verifies everything.
//
//   form[data-passkey-login]   the login page: conditional UI (autofill on
//                              input[autocomplete~=webauthn]) and the
//                              "Sign in with a passkey" button
//   form[data-passkey-create]  the account page and a registration link:
//                              create a passkey on submit
(function () {
  "use strict";

  function decode(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }

  function encode(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return { type: c.type, id: decode(c.id), transports: c.transports };
    });
  }

  // The library's options JSON → the WebAuthn dictionaries.
  function requestOptions(o) {
    var p = { challenge: decode(o.challenge), timeout: o.timeout, rpId: o.rpId, userVerification: o.userVerification };
    if (o.allowCredentials) p.allowCredentials = descriptors(o.allowCredentials);
    return p;
  }

  function creationOptions(o) {
    return {
      rp: o.rp,
      user: { id: decode(o.user.id), name: o.user.name, displayName: o.user.displayName },
      challenge: decode(o.challenge),
      pubKeyCredParams: o.pubKeyCredParams,
      timeout: o.timeout,
      excludeCredentials: descriptors(o.excludeCredentials),
      authenticatorSelection: o.authenticatorSelection,
      attestation: o.attestation,
    };
  }

  // PublicKeyCredential → its JSON (WebAuthn L3 §5.1 toJSON).
  function credentialJSON(c) {
    if (typeof c.toJSON === "function") return c.toJSON();
    var r = c.response, out = {
      id: c.id, rawId: encode(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults(),
      response: { clientDataJSON: encode(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = encode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = encode(r.authenticatorData);
      out.response.signature = encode(r.signature);
      if (r.userHandle) out.response.userHandle = encode(r.userHandle);
    }
    return out;
  }

  function send(form, credential) {
    form.elements.credential.value = JSON.stringify(credentialJSON(credential));
    var pw = document.getElementById("password");
    if (pw) pw.value = ""; // never posted along with a passkey
    HTMLFormElement.prototype.submit.call(form);
  }

  function showError(form) {
    var e = form.querySelector("[data-passkey-error]");
    if (e) e.hidden = false;
  }

  function login(form) {
    var options = JSON.parse(form.dataset.passkeyLogin);
    var pending = null, controller = null;
    function get(mediation) {
      controller = new AbortController();
      var req = { publicKey: requestOptions(options), signal: controller.signal };
      if (mediation) req.mediation = mediation;
      pending = navigator.credentials.get(req);
      return pending;
    }
    form.hidden = false;
    document.getElementById("passkey-button").addEventListener("click", function () {
      var before = pending;
      if (controller) controller.abort();
      Promise.resolve(before && before.catch(function () {})).then(function () {
        return get(null);
      }).then(function (c) {
        if (c) send(form, c);
      }, function (err) {
        if (!err || err.name !== "AbortError") showError(form);
      });
    });
    // Conditional UI: passkeys offered in the username field's autofill.
    if (form.dataset.passkeyConditional === "on" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) return;
        get("conditional").then(function (c) {
          if (c) send(form, c);
        }, function () {});
      });
    }
  }

  function create(form) {
    var options = JSON.parse(form.dataset.passkeyCreate);
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      navigator.credentials.create({ publicKey: creationOptions(options) }).then(function (c) {
        if (c) send(form, c);
      }, function () {
        showError(form);
      });
    });
  }

  function go() {
    if (!window.PublicKeyCredential || !navigator.credentials) return; // the forms stay hidden
    document.querySelectorAll("form[data-passkey-login]").forEach(login);
    document.querySelectorAll("form[data-passkey-create]").forEach(create);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", go, { once: true });
  } else {
    go();
  }
})();
