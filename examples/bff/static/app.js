// The BFF example's page. It never sees a token: it asks the BFF who is
// signed in (/me) and calls the API through the BFF (/api/...), and the
// browser adds the HttpOnly session cookie by itself (same origin). Calls
// carry X-Requested-With: the BFF refuses cookie-authenticated requests
// without it (RFC 10017 §6.1.3.3: another site cannot add a custom header
// without a CORS preflight, which the BFF never grants).
'use strict';

(async () => {
  const $ = (id) => document.getElementById(id);
  const bff = (path, init = {}) => fetch(path, { ...init, headers: { 'X-Requested-With': 'fetch', ...init.headers } });

  const me = await bff('/me');
  $('status').hidden = true;
  if (me.status !== 200) {
    $('signed-out').hidden = false;
    return;
  }
  const profile = await me.json();
  $('name').textContent = profile.name || profile.preferred_username || profile.sub;
  $('sub').textContent = profile.sub;
  $('signed-in').hidden = false;

  $('call-api').addEventListener('click', async () => {
    const out = $('api-result');
    const res = await bff('/api/messages');
    let body = await res.text();
    try { body = JSON.stringify(JSON.parse(body), null, 2); } catch { /* not JSON */ }
    out.textContent = `HTTP ${res.status}\n${body}`;
    out.hidden = false;
    if (res.status === 401) location.reload(); // the session ended: show "sign in"
  });

  // Sign out: the BFF ends its session and answers where to go to end
  // Latch's (RP-Initiated Logout), which comes back here.
  $('logout').addEventListener('click', async () => {
    const res = await bff('/logout', { method: 'POST' });
    const { logout_url: next } = res.ok ? await res.json() : { logout_url: '/' };
    location.assign(next);
  });
})();
