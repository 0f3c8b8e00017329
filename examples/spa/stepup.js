// RFC 9470 step-up for the demo SPA: GET /api/vault needs a sign-in with
// a second factor. A token without one is answered 401 with
//   WWW-Authenticate: Bearer error="insufficient_user_authentication",
//     acr_values="urn:latch:acr:mfa urn:latch:acr:phr", max_age="900"
// and the app signs in again asking Latch for exactly that (acr_values
// and max_age are OpenID Connect Core §3.1.2.1 authorization parameters).
// Latch asks the user for the missing factor (no password again when the
// session is recent) and the app retries the call once back.
window.LatchStepUp = {
  // vault calls the API with get (app.js getWithToken), shows the answer,
  // and on the step-up challenge calls signIn(undefined, params, buttonId).
  async vault(get, signIn, apiUrl, log) {
    const list = document.getElementById('vault');
    try {
      const body = await get(apiUrl + '/api/vault');
      list.replaceChildren(...body.messages.map((m) => Object.assign(document.createElement('li'), { textContent: m.text })));
      log(`the vault opened: acr ${body.acr}`);
    } catch (err) {
      const ch = err.challenge || '';
      if (err.status !== 401 || !/error="insufficient_user_authentication"/.test(ch)) throw err;
      const param = (name) => (ch.match(new RegExp(`${name}="([^"]*)"`)) || [])[1];
      const params = {};
      if (param('acr_values')) params.acr_values = param('acr_values');
      if (param('max_age')) params.max_age = param('max_age');
      log(`the vault asks for a step-up (RFC 9470): ${JSON.stringify(params)}`);
      await signIn(undefined, params, 'call-vault');
    }
  },
};
