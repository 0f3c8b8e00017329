// DPoP (RFC 9449) for the demo SPA, in plain JavaScript with WebCrypto.
//
// DPoP makes a stolen token useless: Latch binds the access token (cnf.jkt)
// and the refresh token to a key pair that this browser holds, and every
// request carries a fresh proof signed with the private key. The private
// key is non-extractable: scripts of this origin can sign with it but can
// never read it, so there is nothing to steal that works elsewhere.
//
// The key pair lives in IndexedDB (database "latch-dpop", store "keys",
// key "ES256"), because IndexedDB stores a CryptoKey by structured clone,
// keeping it non-extractable, and every tab of the origin shares it: a
// proof from any tab matches the binding. Signing out keeps the key: it
// is not a secret that leaves the browser, and tokens bound to it are
// revoked or expire on their own.
//
// A classic script: it sets window.LatchDPoP, which app.js uses.
window.LatchDPoP = (() => {
  const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const utf8 = (text) => new TextEncoder().encode(text);
  const sha256 = async (text) => new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(text)));
  const nonces = new Map(); // origin → the latest DPoP-Nonce it sent (§8)

  // One IndexedDB request, in its own transaction.
  function idb(mode, op) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open('latch-dpop', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('keys');
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction('keys', mode);
        const req = op(tx.objectStore('keys'));
        tx.oncomplete = () => { db.close(); resolve(req.result); };
        tx.onerror = () => { db.close(); reject(tx.error); };
      };
    });
  }

  // The key pair, made on first use. The Web Lock keeps two tabs starting
  // at once from making two keys.
  async function loadOrCreate() {
    const pair = await navigator.locks.request('latch-dpop-key', async () => {
      const stored = await idb('readonly', (s) => s.get('ES256'));
      if (stored) return stored;
      const made = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false /* non-extractable */, ['sign']);
      await idb('readwrite', (s) => s.put({ privateKey: made.privateKey, publicKey: made.publicKey }, 'ES256'));
      return made;
    });
    // A public key is always exportable. The proof header carries only the
    // required members (RFC 7518 §6.2.1), and the JWK thumbprint hashes
    // them in lexicographic order, without spaces (RFC 7638 §3.2).
    const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const jwk = { crv, kty, x, y };
    return { privateKey: pair.privateKey, jwk, jkt: b64u(await sha256(JSON.stringify(jwk))) };
  }
  let key;
  const getKey = () => (key ??= loadOrCreate());

  // A DPoP proof (RFC 9449 §4.2): a JWT of typ dpop+jwt with the public
  // key in its header, for one request (htm, htu without query and
  // fragment), with ath = the access token's SHA-256 when one is sent.
  async function proof(htm, url, accessToken, nonce) {
    const k = await getKey();
    const u = new URL(url);
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk };
    const payload = {
      jti: b64u(crypto.getRandomValues(new Uint8Array(16))), htm, htu: u.origin + u.pathname,
      iat: Math.floor(Date.now() / 1000),
      ...(accessToken && { ath: b64u(await sha256(accessToken)) }), ...(nonce && { nonce }),
    };
    const input = [header, payload].map((part) => b64u(utf8(JSON.stringify(part)))).join('.');
    // WebCrypto's ECDSA signature is already r‖s, the JWS form (RFC 7518 §3.4).
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, k.privateKey, utf8(input));
    return input + '.' + b64u(new Uint8Array(sig));
  }

  // Did the server ask for a nonce? 400 use_dpop_nonce from the token
  // endpoint (§8), 401 with a WWW-Authenticate challenge from a resource (§9).
  async function wantsNonce(res) {
    if (!res.headers.get('DPoP-Nonce')) return false;
    if (res.status === 401) return /error="use_dpop_nonce"/.test(res.headers.get('WWW-Authenticate') || '');
    return res.status === 400 && (await res.clone().json().catch(() => ({}))).error === 'use_dpop_nonce';
  }

  // fetch with a fresh proof; with accessToken, as "Authorization: DPoP"
  // (§7.1). Remembers each origin's latest nonce and, when the server
  // asks for one, retries once with it.
  async function dpopFetch(url, init = {}, accessToken) {
    const origin = new URL(url).origin;
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      headers.set('DPoP', await proof(init.method || 'GET', url, accessToken, nonces.get(origin)));
      if (accessToken) headers.set('Authorization', 'DPoP ' + accessToken);
      const res = await fetch(url, { ...init, headers });
      if (res.headers.get('DPoP-Nonce')) nonces.set(origin, res.headers.get('DPoP-Nonce'));
      if (attempt > 0 || !(await wantsNonce(res))) return res;
    }
  }

  return { proof, fetch: dpopFetch, thumbprint: async () => (await getKey()).jkt };
})();
