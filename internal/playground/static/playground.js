// Latch flow playground: the Authorization Code flow with PKCE (RFC 7636),
// one step at a time, showing every value that travels. Plain JavaScript,
// no libraries. Teaching material: a real app would not show its tokens.
'use strict';

(() => {
  const cfg = document.body.dataset; // data-issuer, data-client-id, data-base
  const issuer = cfg.issuer;
  const redirectURI = issuer + '/playground/callback';
  const postLogoutURI = issuer + '/playground';
  const PENDING = 'latch-playground'; // sessionStorage key, kept across the redirect

  // The redirect URI is on the issuer's origin; opened on another name for
  // the same server (127.0.0.1 vs localhost), the callback would land on
  // an origin whose sessionStorage never saw the verifier. Go there first.
  if (location.origin !== new URL(issuer).origin) {
    location.replace(postLogoutURI);
    return;
  }

  // ---- small helpers -------------------------------------------------

  const $ = (id) => document.getElementById(id);

  // el builds an element; strings become text nodes (never HTML), so no
  // value from the network can inject markup.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // table renders [name, value, note] rows; each row carries data-name.
  function table(id, caption, rows) {
    return el('table', { id, class: 'kv' },
      caption ? el('caption', {}, caption) : null,
      el('tbody', {}, rows.map(([k, v, note]) =>
        el('tr', { 'data-name': k }, el('th', { scope: 'row' }, k),
          el('td', {}, el('code', {}, v)), el('td', { class: 'note' }, note || '')))));
  }

  function pre(id, text) { return el('pre', { id }, text); }

  function put(n, ...nodes) { $('out' + n).replaceChildren(...nodes); }

  function append(n, ...nodes) { $('out' + n).append(...nodes); }

  // show reveals step n and highlights it in the diagram.
  function show(n) {
    $('step' + n).hidden = false;
    for (const g of document.querySelectorAll('#diagram .flow-step')) {
      const s = Number(g.dataset.step);
      g.classList.toggle('done', s < n);
      g.classList.toggle('active', s === n);
    }
  }

  function b64url(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // random returns n bytes from the browser's CSPRNG, base64url-encoded.
  function random(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }

  // RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(ASCII(code_verifier))).
  async function s256(verifier) {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    return b64url(new Uint8Array(digest));
  }

  // decodeJWT returns the header and payload of a compact JWS. It does
  // NOT verify the signature: display only.
  function decodeJWT(raw) {
    const part = (s) => {
      const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
      const bin = atob(b64 + '='.repeat((4 - b64.length % 4) % 4));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    };
    const [h, p] = raw.split('.');
    return { header: part(h), payload: part(p) };
  }

  // short keeps long tokens readable in the request texts.
  function short(s) { return s.length > 48 ? s.slice(0, 24) + '…' + s.slice(-12) : s; }

  function shown(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

  const timeClaims = new Set(['exp', 'iat', 'nbf', 'auth_time']);
  function claimNote(k, v) {
    if (timeClaims.has(k) && typeof v === 'number') return new Date(v * 1000).toLocaleString();
    return claimNotes[k] || '';
  }
  const claimNotes = {
    alg: 'signature algorithm', kid: 'which key of the JWKS signed it', typ: 'token type: JWT for an ID token, at+jwt for an access token (RFC 9068)',
    iss: 'who issued it', sub: 'the user, as Latch identifies them', aud: 'who it is for',
    azp: 'the client it was issued to', client_id: 'the client it was issued to', nonce: 'echo of step 1 (replay protection)',
    at_hash: 'binds the ID token to this access token', scope: 'what the access token allows', jti: 'unique id of this token',
    gid: 'the grant (refresh-token family)', amr: 'how the user authenticated', sid: 'the login session',
  };

  function claimsTable(id, caption, obj) {
    return table(id, caption, Object.entries(obj).map(([k, v]) => [k, shown(v), claimNote(k, v)]));
  }

  function httpRequest(method, url, headers, body) {
    const u = new URL(url);
    let s = `${method} ${u.pathname}${u.search} HTTP/1.1\nHost: ${u.host}\n`;
    for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\n`;
    return body ? s + '\n' + body : s;
  }

  function formText(params) {
    return [...params].map(([k, v]) => `${k}=${encodeURIComponent(short(v))}`).join('\n  &');
  }

  async function httpResponse(res) {
    let body = await res.text();
    try { body = JSON.stringify(JSON.parse(body), null, 2); } catch { /* not JSON: show as is */ }
    const ct = res.headers.get('Content-Type') || '';
    return { text: `HTTP/1.1 ${res.status} ${res.statusText}\nContent-Type: ${ct}\n\n${body}`, json: safeJSON(body) };
  }

  function safeJSON(s) { try { return JSON.parse(s); } catch { return null; } }

  function check(id, ok, text) {
    return el('span', { id, class: ok ? 'ok' : 'bad' }, ok ? '✓ ' + text : '✗ ' + text);
  }

  function fail(n, message) { append(n, el('p', { class: 'bad' }, message)); }

  // discovery: the endpoints come from Latch's metadata, as any client's
  // should (OIDC Discovery 1.0 §4).
  let metadata;
  async function discover() {
    if (!metadata) {
      const res = await fetch(issuer + '/.well-known/openid-configuration');
      if (!res.ok) throw new Error('discovery failed: HTTP ' + res.status);
      metadata = await res.json();
    }
    return metadata;
  }

  // ---- the flow ------------------------------------------------------

  let pending; // {verifier, challenge, state, nonce, scope, authURL}
  let code;    // from the callback
  let tokens;  // the latest token response: in memory only

  function renderStep1(p, restored) {
    put(1, table('pkce', null, [
      ['code_verifier', p.verifier, '32 random bytes, base64url: stays in this tab (sessionStorage) until step 4'],
      ['code_challenge', p.challenge, 'BASE64URL(SHA-256(code_verifier)): goes to Latch in step 2'],
      ['code_challenge_method', 'S256', 'the only method Latch accepts'],
      ['state', p.state, 'random; must come back unchanged in step 3'],
      ['nonce', p.nonce, 'random; must come back inside the ID token in step 5'],
    ]), restored ? el('p', { class: 'note' }, 'Made before the redirect and read back from sessionStorage.') : '');
  }

  function renderStep2(p) {
    const u = new URL(p.authURL);
    const notes = {
      response_type: 'code: the Authorization Code flow',
      client_id: 'this page, registered at Latch as a public client',
      redirect_uri: 'where Latch sends the browser back; must match the registration exactly',
      scope: 'what the page asks for (openid: an ID token; offline_access: a refresh token)',
      state: 'echoed back by Latch; ties the answer to this tab',
      nonce: 'copied into the ID token',
      code_challenge: 'the hash from step 1',
      code_challenge_method: 'how the challenge was made',
    };
    put(2, pre('auth-url', p.authURL),
      table('auth-params', null, [...u.searchParams].map(([k, v]) => [k, v, notes[k]])));
    $('authorize').href = p.authURL;
  }

  $('generate').addEventListener('click', async () => {
    try {
      const md = await discover();
      const verifier = random(32);
      const p = { verifier, challenge: await s256(verifier), state: random(16), nonce: random(16) };
      p.scope = $('scope').value.trim().split(/\s+/).join(' ');
      const u = new URL(md.authorization_endpoint);
      for (const [k, v] of Object.entries({
        response_type: 'code', client_id: cfg.clientId, redirect_uri: redirectURI, scope: p.scope,
        state: p.state, nonce: p.nonce, code_challenge: p.challenge, code_challenge_method: 'S256',
      })) u.searchParams.set(k, v);
      p.authURL = u.href;
      sessionStorage.setItem(PENDING, JSON.stringify(p));
      renderStep1(p, false);
      renderStep2(p);
      show(2);
    } catch (e) {
      fail(1, String(e));
    }
  });

  async function handleCallback() {
    const q = new URLSearchParams(location.search);
    // The code must not linger in the address bar or the history.
    history.replaceState(null, '', cfg.base + '/callback');
    // One-time: a reload of the callback finds nothing pending.
    pending = safeJSON(sessionStorage.getItem(PENDING) || 'null');
    sessionStorage.removeItem(PENDING);
    show(3);
    if (!pending) {
      put(3, el('p', { id: 'no-state', class: 'bad' },
        'No sign-in is pending in this tab (no state found): it was already used, or started in another tab or on another origin. Start over.'));
      return;
    }
    $('step2').hidden = false;
    $('scope').value = pending.scope;
    $('generate').disabled = true;
    renderStep1(pending, true);
    renderStep2(pending);
    $('authorize').hidden = true;

    const rows = [...q].map(([k, v]) => [k, v, {
      code: 'one-time, short-lived; useless without the verifier',
      state: 'must equal the state sent in step 2',
      iss: 'must equal the issuer this page talks to (RFC 9207)',
    }[k]]);
    put(3, table('callback-params', null, rows));
    // RFC 9207 §2.4: compare iss with the expected issuer before anything
    // else; RFC 6749 §10.12: state must match what this tab sent.
    const stateOK = q.get('state') === pending.state;
    const issOK = q.get('iss') === issuer;
    append(3, el('p', {}, check('check-state', stateOK, 'state matches')),
      el('p', {}, check('check-iss', issOK, 'iss is ' + issuer)));
    if (q.has('error')) {
      fail(3, `Latch answered ${q.get('error')}: ${q.get('error_description') || ''}`);
      return;
    }
    if (!stateOK || !issOK || !q.get('code')) {
      fail(3, 'Refusing this response: start over.');
      return;
    }
    code = q.get('code');
    $('exchange').disabled = false;
  }

  $('exchange').addEventListener('click', async () => {
    $('exchange').disabled = true;
    show(4);
    const md = await discover();
    const body = new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectURI,
      client_id: cfg.clientId, code_verifier: pending.verifier,
    });
    put(4, el('h3', {}, 'Request'),
      pre('token-request', httpRequest('POST', md.token_endpoint,
        { 'Content-Type': 'application/x-www-form-urlencoded' }, formText(body))));
    const res = await fetch(md.token_endpoint, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
    });
    const r = await httpResponse(res);
    append(4, el('h3', {}, 'Response'), pre('token-response', r.text));
    if (!res.ok || !r.json) { fail(4, 'The exchange failed: start over.'); return; }
    tokens = r.json;
    renderTokens(tokens);
    show(5);
    $('step6').hidden = !tokens.refresh_token;
    $('step7').hidden = false;
    showLogout(md);
  });

  // renderTokens shows the decoded tokens; after a refresh, fresh is the
  // refresh response (which may or may not carry a new ID token).
  function renderTokens(t, fresh) {
    const nodes = [];
    const refreshed = Boolean(fresh);
    const tag = (isNew) => (isNew ? ' (from the refresh)' : '');
    if (t.id_token) {
      const id = decodeJWT(t.id_token);
      nodes.push(el('h3', {}, 'ID token' + tag(refreshed && fresh.id_token)),
        claimsTable('id-token-header', 'Header', id.header),
        claimsTable('id-token-payload', 'Payload', id.payload));
      if (pending && !refreshed) {
        nodes.push(el('p', {}, check('check-nonce', id.payload.nonce === pending.nonce, 'nonce matches step 1')));
      }
    }
    const at = decodeJWT(t.access_token);
    nodes.push(el('h3', {}, 'Access token' + tag(refreshed)),
      claimsTable('access-token-header', 'Header', at.header),
      claimsTable('access-token-payload', 'Payload', at.payload));
    put(5, ...nodes);
  }

  function showLogout(md) {
    if (!md.end_session_endpoint || !tokens.id_token) return;
    const u = new URL(md.end_session_endpoint);
    u.searchParams.set('id_token_hint', tokens.id_token);
    u.searchParams.set('post_logout_redirect_uri', postLogoutURI);
    $('logout').href = u.href;
    $('logout').hidden = false;
  }

  $('refresh').addEventListener('click', async () => {
    show(6);
    const md = await discover();
    const old = tokens.refresh_token;
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: old, client_id: cfg.clientId });
    put(6, el('h3', {}, 'Request'),
      pre('refresh-request', httpRequest('POST', md.token_endpoint,
        { 'Content-Type': 'application/x-www-form-urlencoded' }, formText(body))));
    const res = await fetch(md.token_endpoint, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
    });
    const r = await httpResponse(res);
    append(6, el('h3', {}, 'Response'), pre('refresh-response', r.text));
    if (!res.ok || !r.json) { fail(6, 'The refresh failed: start over.'); return; }
    tokens = { ...tokens, ...r.json };
    const rotated = r.json.refresh_token && r.json.refresh_token !== old;
    append(6, el('p', { id: 'refresh-note', class: rotated ? 'ok' : 'note' }, rotated
      ? '✓ New refresh token: the old one is now spent, and using it again would revoke the whole family.'
      : 'The refresh token was not rotated.'));
    renderTokens(tokens, r.json);
    showLogout(md);
  });

  $('userinfo').addEventListener('click', async () => {
    show(7);
    const md = await discover();
    put(7, el('h3', {}, 'Request'),
      pre('userinfo-request', httpRequest('GET', md.userinfo_endpoint, { Authorization: 'Bearer ' + short(tokens.access_token) })));
    const res = await fetch(md.userinfo_endpoint, { headers: { Authorization: 'Bearer ' + tokens.access_token } });
    const r = await httpResponse(res);
    append(7, el('h3', {}, 'Response'), pre('userinfo-response', r.text));
  });

  $('restart').addEventListener('click', () => {
    sessionStorage.removeItem(PENDING);
    location.assign(cfg.base);
  });

  if (location.pathname === cfg.base + '/callback') {
    handleCallback();
  } else {
    show(1);
  }
})();
