// The BFF example's page. It never sees a token: it asks the BFF who is
// signed in (/me) and calls the API through the BFF (/api/...), and the
// browser adds the HttpOnly session cookie by itself (same origin).
'use strict';

(async () => {
  const $ = (id) => document.getElementById(id);

  const me = await fetch('/me');
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
    const res = await fetch('/api/messages');
    let body = await res.text();
    try { body = JSON.stringify(JSON.parse(body), null, 2); } catch { /* not JSON */ }
    out.textContent = `HTTP ${res.status}\n${body}`;
    out.hidden = false;
    if (res.status === 401) location.reload(); // the session ended: show "sign in"
  });
})();
