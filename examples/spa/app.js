// Latch demo SPA: the OAuth 2.0 Authorization Code flow with PKCE (RFC 7636)
// and OpenID Connect in plain JavaScript, no library, no build step. Read it
// top to bottom; each step names the spec it follows.
//
// Tokens live in memory only (`session`), never in localStorage or
// sessionStorage, where an injected script could read them at leisure and
// where they outlive the tab. sessionStorage keeps only what a sign-in needs
// across the redirect to Latch and back (PKCE verifier, state, nonce).
//
// Memory is per tab, so tabs share tokens over a BroadcastChannel (same
// origin, nothing on disk): a new tab says "hello", a signed-in tab answers.
// Refresh tokens rotate, and a retired one presented again makes Latch revoke
// the grant (RFC 9700 §4.14.2). So one tab refreshes at a time, under the Web
// Lock "latch-refresh", and broadcasts the result; the next tab to get the
// lock sees that its tokens changed while it waited and uses them.
//
// DPoP (RFC 9449, dpop.js): unless config.js sets dpop: false, the tokens
// are bound to a non-extractable key of this browser, and every request to
// Latch and the API carries a proof signed with it. A stolen token is then
// useless without the key, which no script can read.

const cfg = window.LATCH_CONFIG; // issuer, clientId, scope, apiUrl, redirectUri: see config.js
// <origin>/callback by default (`latch dev` serves index.html there); <origin>/ suits any static server.
const redirectUri = cfg.redirectUri || location.origin + '/callback';
const channel = new BroadcastChannel('latch-tokens');
const $ = (id) => document.getElementById(id);
const dpop = cfg.dpop !== false && window.LatchDPoP; // see dpop.js
let meta; // the issuer's metadata (OpenID Connect Discovery 1.0)
let session = null; // { accessToken, tokenType, refreshToken, idToken, claims, expiresAt, gen }
let refreshTimer;

// ---- Helpers ------------------------------------------------------------------
const el = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
const log = (text) => $('log').prepend(el('li', `${new Date().toLocaleTimeString()}  ${text}`));

function showError(err) {
  Object.assign($('error'), { textContent: err.message, hidden: false });
  log('error: ' + err.message);
}
// base64url without padding (RFC 4648 §5), the encoding of PKCE and JWTs.
const base64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// 32 random bytes make 43 characters: a PKCE code verifier (RFC 7636 §4.1),
// and unguessable enough for state and nonce too.
const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const sha256 = async (text) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

// The payload of a JWT, decoded for reading. This verifies nothing.
function jwtClaims(jwt) {
  const b64 = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
}

// POST a form to a Latch endpoint, cross-origin: Latch answers CORS for the
// origins registered for the client. A public client sends only its
// client_id; PKCE, the refresh token's rotation and DPoP protect it instead.
async function post(url, params) {
  const init = { method: 'POST', body: new URLSearchParams({ client_id: cfg.clientId, ...params }) };
  const res = await (dpop ? dpop.fetch(url, init) : fetch(url, init)); // with a DPoP proof (RFC 9449 §5)
  const text = await res.text();
  const body = text ? JSON.parse(text) : {};
  if (res.ok) return body;
  throw Object.assign(new Error(`${body.error || res.status}: ${body.error_description || ''}`), { code: body.error, description: body.error_description });
}

// GET with the access token in the Authorization header: a DPoP-bound one
// with a proof (RFC 9449 §7.1), a bearer token as such (RFC 6750 §2.1).
async function getWithToken(url) {
  const res = await (session.tokenType === 'DPoP' ? dpop.fetch(url, {}, session.accessToken)
    : fetch(url, { headers: { Authorization: 'Bearer ' + session.accessToken } }));
  if (res.ok) return res.json();
  const why = res.headers.get('WWW-Authenticate') || ''; // RFC 6750 §3
  throw Object.assign(new Error(`${url} answered ${res.status} ${why}`), { status: res.status, challenge: why });
}

// ---- Step 1: send the browser to Latch's authorization endpoint ---------------
// RFC 6749 §4.1.1 with PKCE (RFC 7636 §4.2-4.3): the verifier stays in this
// tab, only its SHA-256 (the challenge) travels. prompt=none asks Latch to
// answer at once, without showing a page (OpenID Connect Core §3.1.2.1).
async function signIn(prompt, params = {}, after = '') { // params: acr_values, max_age for a step-up (stepup.js)
  const pending = { verifier: randomString(), state: randomString(), nonce: randomString(), prompt, after };
  sessionStorage.setItem('latch.pending', JSON.stringify(pending));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: cfg.clientId, redirect_uri: redirectUri, scope: cfg.scope,
    state: pending.state, nonce: pending.nonce,
    code_challenge: base64url(await sha256(pending.verifier)), code_challenge_method: 'S256',
    ...(dpop && { dpop_jkt: await dpop.thumbprint() }), // binds the code to our key (RFC 9449 §10)
    ...(prompt && { prompt }), ...params,
  });
  log(`redirecting to ${url.origin}${url.pathname}${prompt ? ' with prompt=' + prompt : ''}`);
  location.assign(url);
}

// ---- Step 2: back at the redirect URI, check the response, exchange the code ---
// In the query, or in the fragment: the implicit flow's mode, in which Latch
// refuses response_type=token (OAuth 2.0 Multiple Response Types §5).
function responseParams() {
  const q = new URLSearchParams(location.search);
  if (q.has('code') || q.has('error') || q.has('state')) return q;
  return new URLSearchParams(location.hash.slice(1));
}

// prompt=none answers these when Latch would show a page (OIDC Core §3.1.2.6): "not signed in".
const silentErrors = ['login_required', 'interaction_required', 'consent_required', 'account_selection_required'];

async function handleCallback(p) {
  history.replaceState(null, '', '/'); // the code must not stay in the address bar or history
  const pending = JSON.parse(sessionStorage.getItem('latch.pending'));
  sessionStorage.removeItem('latch.pending'); // one use only
  // state ties the response to the request this tab made. Without the check,
  // an attacker could send the user a link carrying the attacker's own code
  // and sign them in to the attacker's account (RFC 6749 §10.12).
  if (!pending || p.get('state') !== pending.state) {
    // Nothing in it is trusted (not even error_description); the error code helps a developer.
    const code = /^[a-z_]{1,64}$/.test(p.get('error') || '') ? ` It carried error=${p.get('error')}.` : '';
    throw new Error(`Rejected the sign-in response: its state does not match the sign-in this tab started (possible CSRF). The code was not used.${code}`);
  }
  // iss names the server that answered (RFC 9207 §2.4), against mix-up
  // attacks where one issuer's response is passed off as another's.
  if (p.get('iss') !== meta.issuer && (p.has('iss') || meta.authorization_response_iss_parameter_supported)) {
    throw new Error(`Rejected the sign-in response: it names issuer ${p.get('iss')}, not ${meta.issuer}. The code was not used.`);
  }
  // An error response for this tab's request (RFC 6749 §4.1.2.1): Latch's own error.
  if (p.has('error')) {
    if (pending.prompt === 'none' && silentErrors.includes(p.get('error'))) {
      return log(`silent sign-in: not signed in at Latch (${p.get('error')}); sign in to continue`);
    }
    throw new Error(`Latch answered ${p.get('error')}: ${p.get('error_description') || '(no description)'}`);
  }
  log('state and iss match; exchanging the code at the token endpoint');
  // Step 3: the code plus the verifier buy the tokens (RFC 6749 §4.1.3,
  // RFC 7636 §4.5). A stolen code is useless without the verifier.
  const t = await post(meta.token_endpoint, {
    grant_type: 'authorization_code', code: p.get('code'), redirect_uri: redirectUri, code_verifier: pending.verifier,
  });
  // The ID token came straight from the token endpoint, in answer to our own
  // request (over TLS in production), so we know who issued it without
  // checking its signature (OpenID Connect Core §3.1.3.7, item 6). We still
  // check that it is for this app and for this sign-in.
  const c = jwtClaims(t.id_token);
  if (c.iss !== meta.issuer || ![].concat(c.aud).includes(cfg.clientId) || c.nonce !== pending.nonce) {
    throw new Error('Rejected the ID token: wrong iss, aud or nonce.');
  }
  log(`signed in as ${c.sub}; the access token is valid for ${t.expires_in} s`);
  useSession(newSession(t, null), true);
  await loadUserinfo();
  if (pending.after) $(pending.after).click(); // back from a step-up (stepup.js): retry the call
}

// ---- Tokens in memory, shared between tabs --------------------------------------
// gen orders token sets across tabs: a later sign-in or refresh has a higher one.
function newSession(t, prev) {
  const idToken = t.id_token || prev.idToken; // a refresh may or may not return one
  return {
    accessToken: t.access_token, tokenType: t.token_type, refreshToken: t.refresh_token || prev?.refreshToken, idToken,
    claims: jwtClaims(idToken), expiresAt: Date.now() + t.expires_in * 1000,
    gen: Math.max(Date.now(), (prev?.gen ?? 0) + 1),
  };
}

function useSession(s, broadcast) {
  session = s;
  if (broadcast) channel.postMessage({ type: 'tokens', session: s });
  // Refresh a minute before the access token expires. Every tab sets this
  // timer; the lock in refresh() makes only the first one do the work.
  const left = s.expiresAt - Date.now();
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh('the access token expires soon').catch(showError), Math.max(left - 60_000, left * 0.8));
  render();
}

function forget(why, reason = '') {
  session = null;
  clearTimeout(refreshTimer);
  LatchReasons.show($('signed-out-reason'), reason);
  log(why);
  render();
}

channel.onmessage = ({ data }) => {
  if (data.type === 'hello' && session) channel.postMessage({ type: 'tokens', session });
  if (data.type === 'tokens' && data.session.gen > (session?.gen ?? 0)) {
    const first = !session;
    log('got newer tokens from another tab');
    useSession(data.session, false);
    if (first) loadUserinfo().catch(showError);
  }
  if (data.type === 'signed-out' && session) forget('signed out in another tab', data.reason);
};

// ---- Refresh (RFC 6749 §6) with a rotating refresh token, one tab at a time ---
async function refresh(why) {
  const seen = session?.gen;
  await navigator.locks.request('latch-refresh', async () => {
    if (!session) return;
    if (session.gen !== seen) return log('another tab refreshed while this one waited for the lock: using its tokens');
    log(`refreshing: ${why}`);
    const t = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: session.refreshToken }).catch((err) => {
      if (err.code === 'invalid_grant') { // expired or revoked: every tab is signed out, told why
        const reason = LatchReasons.of(err.description);
        forget(`the refresh token was refused (${err.description || 'no description'}); signed out`, reason);
        channel.postMessage({ type: 'signed-out', reason });
      }
      throw err;
    });
    if (t.id_token && jwtClaims(t.id_token).sub !== session.claims.sub) { // OpenID Connect Core §12.2
      throw new Error('Rejected the refreshed ID token: it is for another user.');
    }
    useSession(newSession(t, session), true);
    log('refreshed: new access token and new refresh token');
    // The broadcast and the lock's release reach other tabs by different
    // routes; keep the lock a moment so they hold the new tokens before any
    // of them can take it and present the retired refresh token.
    await new Promise((resolve) => setTimeout(resolve, 250));
  });
}

// ---- Using the access token -------------------------------------------------------
async function loadUserinfo() {
  $('userinfo').textContent = JSON.stringify(await getWithToken(meta.userinfo_endpoint), null, 2);
  log('loaded the profile from userinfo');
}

async function callApi() {
  const body = await getWithToken(cfg.apiUrl + '/api/messages');
  $('messages').replaceChildren(...body.messages.map((m) => el('li', m.text)));
  log(`the API answered ${body.messages.length} messages for sub ${body.sub}`);
}

// ---- Step 4: sign out -------------------------------------------------------------
async function signOut() {
  const s = session;
  forget('signing out');
  channel.postMessage({ type: 'signed-out' });
  // Revoke the refresh token (RFC 7009 §2.1), so it is dead even if a copy leaked.
  await post(meta.revocation_endpoint, { token: s.refreshToken, token_type_hint: 'refresh_token' })
    .then(() => log('revoked the refresh token'), (err) => log('revocation failed: ' + err.message));
  // End the session at Latch too, or the next sign-in would not ask for a
  // password (OpenID Connect RP-Initiated Logout 1.0 §2).
  const state = randomString();
  sessionStorage.setItem('latch.logout', state);
  const url = new URL(meta.end_session_endpoint);
  url.search = new URLSearchParams({ id_token_hint: s.idToken, post_logout_redirect_uri: location.origin + '/', state });
  location.assign(url);
}

function handleLogoutReturn(p) {
  const state = p.get('state');
  const expected = sessionStorage.getItem('latch.logout');
  history.replaceState(null, '', '/');
  sessionStorage.removeItem('latch.logout');
  if (!expected || state !== expected) throw new Error('Ignored a logout response whose state does not match.');
  log('signed out at Latch');
}

// ---- Rendering ----------------------------------------------------------------------
// Tokens are shown (and exposed to the browser tests) only as fingerprints.
const fingerprint = async (token) => [...(await sha256(token)).slice(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');

async function render() {
  document.body.dataset.state = session ? 'signed-in' : 'signed-out';
  $('signed-in').hidden = !session;
  $('signed-out').hidden = !!session;
  if (!session) return;
  const s = session;
  const c = s.claims;
  $('name').textContent = c.name || c.preferred_username || c.sub;
  const rows = { sub: c.sub, name: c.name, email: c.email, 'signed in at': new Date(c.auth_time * 1000).toLocaleString() };
  $('profile').replaceChildren(...Object.entries(rows).filter(([, v]) => v).flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
  const [at, rt, jkt] = await Promise.all([fingerprint(s.accessToken), fingerprint(s.refreshToken), dpop ? dpop.thumbprint() : '']);
  if (s !== session) return; // a newer render is under way
  Object.assign($('tokens').dataset, { access: at, refresh: rt });
  $('tokens').textContent = `access #${at} · refresh #${rt} · access expires ${new Date(s.expiresAt).toLocaleTimeString()}`;
  const bound = { tokenType: s.tokenType, jkt, cnfJkt: jwtClaims(s.accessToken).cnf?.jkt || '' };
  Object.assign($('dpop').dataset, bound); // the access token's cnf.jkt is the key's thumbprint (RFC 9449 §6.1)
  $('dpop').textContent = `token_type: ${s.tokenType}` + (bound.jkt ? ` · DPoP key thumbprint ${bound.jkt} · cnf.jkt ${bound.cnfJkt || 'none'}` : '');
}

// ---- Start: discover the issuer, then handle where the browser came from -----------
$('issuer').textContent = cfg.issuer;
$('api-url').textContent = cfg.apiUrl + '/api/messages';
try {
  meta = await (await fetch(cfg.issuer + '/.well-known/openid-configuration')).json();
  if (meta.issuer !== cfg.issuer) throw new Error(`discovery names issuer ${meta.issuer}, not ${cfg.issuer}`); // Discovery §4.3
  log(`discovered ${cfg.issuer}`);
  const actions = { 'sign-in': () => signIn(), silent: () => signIn('none'), 'call-api': callApi, refresh: () => refresh('button'), 'sign-out': signOut, 'call-vault': () => LatchStepUp.vault(getWithToken, signIn, cfg.apiUrl, log) };
  for (const [id, action] of Object.entries(actions)) {
    $(id).addEventListener('click', () => { $('error').hidden = true; action().catch(showError); });
  }
  // A sign-in response has code or error (at any path); a logout response only state.
  const p = responseParams();
  if (p.has('code') || p.has('error')) await handleCallback(p);
  else if (p.has('state')) handleLogoutReturn(p);
  else channel.postMessage({ type: 'hello' }); // a signed-in tab will answer with its tokens
} catch (err) {
  showError(err);
}
render();
