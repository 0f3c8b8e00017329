// Latch form_post response mode (OAuth 2.0 Form Post Response Mode §2):
// submit the authorization response form as soon as the page is parsed.
// Served from 'self' so the page needs no inline script under the CSP.
// HTMLFormElement.prototype.submit is called directly because a field
// named "submit" would shadow form.submit.
(function () {
  "use strict";
  function go() {
    var form = document.forms[0];
    if (form) {
      HTMLFormElement.prototype.submit.call(form);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", go, { once: true });
  } else {
    go();
  }
})();
