// Browser tests of DPoP (RFC 9449) in the example SPA (examples/spa/dpop.js)
// against `latch dev`: the tokens are bound to a non-extractable P-256 key
// the browser keeps in IndexedDB, and a stolen token is useless without it.

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe } from 'node:test';
import { DEMO, harness } from './harness.js';

const waitState = (page, s) => page.locator(`body[data-state="${s}"]`).waitFor();
const b64uJSON = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const decodeJWT = (jwt) => jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));

// RFC 7638 §3: SHA-256 over the required EC members in lexicographic order.
const thumbprint = ({ crv, kty, x, y }) => createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');

// The SPA's key, read back from IndexedDB the way any script of the origin could.
function loadKey(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('latch-dpop');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = open.result.transaction('keys').objectStore('keys').get('ES256');
      req.onerror = () => reject(req.error);
      req.onsuccess = async () => {
        const { privateKey, publicKey } = req.result;
        resolve({
          type: privateKey.type, algorithm: privateKey.algorithm, extractable: privateKey.extractable,
          exportJWK: await crypto.subtle.exportKey('jwk', privateKey).then(() => 'exported', (e) => e.name),
          exportPKCS8: await crypto.subtle.exportKey('pkcs8', privateKey).then(() => 'exported', (e) => e.name),
          publicJwk: await crypto.subtle.exportKey('jwk', publicKey),
        });
      };
    };
  }));
}

// A DPoP proof made in Node with a key of its own: what a thief holding a
// stolen token, but not the browser's key, can produce.
async function thiefProof(htm, htu, extra = {}) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const input = `${b64uJSON({ typ: 'dpop+jwt', alg: 'ES256', jwk: { crv, kty, x, y } })}.${b64uJSON({ jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...extra })}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

// Records the token endpoint traffic of a context: each request's grant
// type and DPoP proof, each response's status and body (the wire, as a
// network attacker or a malicious extension would see it).
function recordToken(h, target) {
  const seen = [];
  target.on('response', async (res) => {
    const req = res.request();
    if (req.url() !== `${h.latch.issuer}/token` || req.method() !== 'POST') return;
    const entry = { grant: new URLSearchParams(req.postData() || '').get('grant_type'), proof: req.headers().dpop, status: res.status() };
    entry.body = await res.json().catch(() => null);
    seen.push(entry);
  });
  return seen;
}

// Polls until the recorder holds n entries (responses are read asynchronously).
async function recorded(seen, n) {
  for (const deadline = Date.now() + 10_000; seen.length < n; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new Error(`recorded ${seen.length} token responses, want ${n}`);
  }
  return seen;
}

async function signIn(h, page) {
  await page.goto(h.latch.spaURL);
  await waitState(page, 'signed-out');
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.locator('input[name="username"]').fill(DEMO.username);
  await page.locator('input[name="password"]').fill(DEMO.password);
  await page.locator('button[type="submit"]').click();
  await waitState(page, 'signed-in');
  await page.locator('[data-testid="dpop"][data-cnf-jkt]').waitFor();
}

const dpopInfo = (page) => page.getByTestId('dpop').evaluate(({ dataset: d }) => ({ tokenType: d.tokenType, jkt: d.jkt, cnfJkt: d.cnfJkt }));

async function callAPI(page) {
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/messages') && r.method() === 'GET'),
    page.locator('#call-api').click(),
  ]);
  await page.getByTestId('messages').filter({ hasText: 'Hello from the example API' }).waitFor();
  return req.headers();
}

describe('DPoP in the SPA', () => {
  const h = harness();

  h.test('binds the tokens to a non-extractable key in IndexedDB; userinfo and the API accept DPoP', async (t, { page }) => {
    const token = recordToken(h, page);
    const authorize = page.waitForRequest((r) => r.url().startsWith(`${h.latch.issuer}/authorize`));
    await signIn(h, page);

    // The private key cannot leave the browser: not extractable, in any format.
    const key = await loadKey(page);
    assert.deepEqual({ type: key.type, alg: key.algorithm, extractable: key.extractable, jwk: key.exportJWK, pkcs8: key.exportPKCS8 },
      { type: 'private', alg: { name: 'ECDSA', namedCurve: 'P-256' }, extractable: false, jwk: 'InvalidAccessError', pkcs8: 'InvalidAccessError' });
    const jkt = thumbprint(key.publicJwk);

    // The code was requested for that key (RFC 9449 §10) ...
    assert.equal(new URL((await authorize).url()).searchParams.get('dpop_jkt'), jkt);
    // ... and exchanged with a proof by it: token_type DPoP, cnf.jkt = the thumbprint (§6.1).
    await recorded(token, 1);
    assert.equal(token.length, 1);
    const [exchange] = token;
    assert.equal(exchange.grant, 'authorization_code');
    assert.equal(exchange.status, 200);
    assert.equal(exchange.body.token_type, 'DPoP');
    const [header, proof] = decodeJWT(exchange.proof);
    assert.deepEqual(header, { typ: 'dpop+jwt', alg: 'ES256', jwk: { crv: 'P-256', kty: 'EC', x: key.publicJwk.x, y: key.publicJwk.y } });
    assert.equal(proof.htm, 'POST');
    assert.equal(proof.htu, `${h.latch.issuer}/token`);
    assert.equal(proof.ath, undefined, 'no access token is sent to the token endpoint');
    assert.equal(decodeJWT(exchange.body.access_token)[1].cnf.jkt, jkt);

    // The UI shows the binding; the raw tokens stay in the page's memory.
    assert.deepEqual(await dpopInfo(page), { tokenType: 'DPoP', jkt, cnfJkt: jkt });
    assert.match(await page.getByTestId('dpop').innerText(), new RegExp(`token_type: DPoP · DPoP key thumbprint ${jkt}`));

    // userinfo answered (the SPA loads it at sign-in) ...
    await page.getByTestId('userinfo').filter({ hasText: '"email": "demo@example.com"' }).waitFor();
    // ... and the API, with "Authorization: DPoP" and a proof carrying ath.
    const api = await callAPI(page);
    assert.match(api.authorization, /^DPoP ey/);
    const [, apiProof] = decodeJWT(api.dpop);
    assert.equal(apiProof.htu, `${h.latch.apiURL}/api/messages`);
    assert.equal(apiProof.ath, createHash('sha256').update(api.authorization.slice('DPoP '.length)).digest('base64url'));
    assert.equal(await page.getByTestId('error').isHidden(), true);

    // Later loads reuse the stored key.
    await page.reload();
    await waitState(page, 'signed-out');
    assert.equal(thumbprint((await loadKey(page)).publicJwk), jkt);
  });

  h.test('a stolen refresh or access token is refused without the key; the SPA keeps refreshing', async (t, { page }) => {
    const token = recordToken(h, page);
    await signIn(h, page);
    const jkt = thumbprint((await loadKey(page)).publicJwk);
    const stolen = (await recorded(token, 1))[0].body;
    const tokenURL = `${h.latch.issuer}/token`;
    const steal = (headers = {}) => fetch(tokenURL, {
      method: 'POST', headers,
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: stolen.refresh_token }),
    }).then(async (res) => ({ status: res.status, error: (await res.json()).error }));

    // The refresh token, replayed from Node: without a proof, and with a
    // valid proof by another key (RFC 9449 §5).
    assert.deepEqual(await steal(), { status: 400, error: 'invalid_grant' });
    assert.deepEqual(await steal({ DPoP: await thiefProof('POST', tokenURL) }), { status: 400, error: 'invalid_grant' });
    // A proof of the browser's, lifted off the wire, cannot be used again (§11.1).
    const replayed = await steal({ DPoP: token[0].proof });
    assert.deepEqual(replayed, { status: 400, error: 'invalid_dpop_proof' });

    // The access token: as a bearer token, and with a proof by another key.
    const userinfo = `${h.latch.issuer}/userinfo`;
    const api = `${h.latch.apiURL}/api/messages`;
    const ath = createHash('sha256').update(stolen.access_token).digest('base64url');
    for (const url of [userinfo, api]) {
      const bearer = await fetch(url, { headers: { Authorization: `Bearer ${stolen.access_token}` } });
      assert.equal(bearer.status, 401, `${url} with the DPoP-bound token as Bearer`);
      const other = await fetch(url, { headers: { Authorization: `DPoP ${stolen.access_token}`, DPoP: await thiefProof('GET', url, { ath }) } });
      assert.equal(other.status, 401, `${url} with a proof by another key`);
      assert.match(other.headers.get('www-authenticate'), /^DPoP /);
    }

    // The thief burned nothing: the SPA refreshes, twice, still bound to its key.
    for (let i = 1; i <= 2; i++) {
      const before = await page.getByTestId('tokens').getAttribute('data-refresh');
      await page.locator('#refresh').click();
      await page.waitForFunction((b) => document.querySelector('[data-testid="tokens"]').dataset.refresh !== b, before);
      const refresh = (await recorded(token, 1 + i)).at(-1);
      assert.deepEqual([refresh.grant, refresh.status, refresh.body?.token_type], ['refresh_token', 200, 'DPoP']);
      assert.equal(decodeJWT(refresh.body.access_token)[1].cnf.jkt, jkt);
      assert.notEqual(decodeJWT(refresh.proof)[1].jti, decodeJWT(token.at(-2).proof)[1].jti, 'a fresh proof per request');
    }
    assert.deepEqual(token.map((e) => `${e.grant} ${e.status}`), ['authorization_code 200', 'refresh_token 200', 'refresh_token 200']);
    assert.deepEqual(await dpopInfo(page), { tokenType: 'DPoP', jkt, cnfJkt: jkt });
    await callAPI(page);
  });

  h.test('tabs share the key: a second tab uses the first tab\'s tokens with its own proofs', async (t, { context, page }) => {
    const token = recordToken(h, context);
    await signIn(h, page);
    const tab2 = await context.newPage();
    await tab2.goto(h.latch.spaURL);
    await waitState(tab2, 'signed-in');
    await tab2.locator('[data-testid="dpop"][data-cnf-jkt]').waitFor();
    assert.deepEqual(await dpopInfo(tab2), await dpopInfo(page));
    await callAPI(tab2);
    await tab2.locator('#refresh').click();
    await page.getByTestId('log').filter({ hasText: 'got newer tokens from another tab' }).waitFor();
    await callAPI(page);
    await recorded(token, 2);
    assert.deepEqual(token.map((e) => `${e.grant} ${e.status}`), ['authorization_code 200', 'refresh_token 200']);
  });
});

describe('DPoP in the SPA with server nonces (--dpop-nonce)', () => {
  const h = harness({ args: ['--dpop-nonce'] });

  h.test('retries once with the nonce Latch asks for, then keeps the latest', async (t, { page }) => {
    const token = recordToken(h, page);
    const userinfo = [];
    page.on('response', (res) => { if (res.url() === `${h.latch.issuer}/userinfo`) userinfo.push(res.status()); });
    await signIn(h, page);
    await page.getByTestId('userinfo').filter({ hasText: '"email": "demo@example.com"' }).waitFor();

    await recorded(token, 2);
    // RFC 9449 §8: the first proof has no nonce; Latch answers 400
    // use_dpop_nonce with a DPoP-Nonce header, and the retry carries it.
    assert.deepEqual(token.slice(0, 2).map((e) => [e.grant, e.status, e.body?.error ?? e.body?.token_type]),
      [['authorization_code', 400, 'use_dpop_nonce'], ['authorization_code', 200, 'DPoP']]);
    assert.equal(decodeJWT(token[0].proof)[1].nonce, undefined);
    assert.ok(decodeJWT(token[1].proof)[1].nonce, 'the retry carries the nonce');

    // The nonce from the successful response is remembered: the next
    // requests to Latch need no retry.
    const before = await page.getByTestId('tokens').getAttribute('data-refresh');
    await page.locator('#refresh').click();
    await page.waitForFunction((b) => document.querySelector('[data-testid="tokens"]').dataset.refresh !== b, before);
    await recorded(token, 3);
    assert.deepEqual(token.map((e) => `${e.grant} ${e.status}`), ['authorization_code 400', 'authorization_code 200', 'refresh_token 200']);
    assert.ok(decodeJWT(token[2].proof)[1].nonce);
    assert.deepEqual(userinfo, [200]);
    await callAPI(page); // the example API issues no nonces
    assert.equal(await page.getByTestId('error').isHidden(), true);
  });
});
