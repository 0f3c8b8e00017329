// Browser tests of the example SPA (examples/spa) against `latch dev`: a
// real Latch, the real example API, headless chromium.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { artifactsDir, DEMO, freePort, harness, repoRoot } from './harness.js';

const h = harness();

const state = (page) => page.locator('body').getAttribute('data-state');
const waitState = (page, s) => page.locator(`body[data-state="${s}"]`).waitFor();

// The SPA shows its tokens only as SHA-256 fingerprints (data-access,
// data-refresh); the tokens themselves never leave its memory.
async function fingerprints(page) {
  const el = page.getByTestId('tokens');
  await page.locator('[data-testid="tokens"][data-access]').waitFor();
  return { access: await el.getAttribute('data-access'), refresh: await el.getAttribute('data-refresh') };
}

// Waits until the fingerprints differ from before.
async function newFingerprints(page, before) {
  await page.waitForFunction((b) => {
    const d = document.querySelector('[data-testid="tokens"]').dataset;
    return d.access && d.access !== b.access && d.refresh !== b.refresh;
  }, before);
  return fingerprints(page);
}

// Fills Latch's login form (the page the SPA redirected to).
async function login(page) {
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.locator('input[name="username"]').fill(DEMO.username);
  await page.locator('input[name="password"]').fill(DEMO.password);
  await page.locator('button[type="submit"]').click();
}

async function signIn(page) {
  await page.goto(h.latch.spaURL);
  await waitState(page, 'signed-out');
  await page.locator('#sign-in').click();
  await login(page);
  await waitState(page, 'signed-in');
}

// Records the token endpoint requests of a page, with their grant type.
function recordTokenRequests(page) {
  const seen = [];
  page.on('request', (req) => {
    if (req.url() === `${h.latch.issuer}/token` && req.method() === 'POST') {
      seen.push(new URLSearchParams(req.postData() || '').get('grant_type'));
    }
  });
  page.on('response', (res) => {
    if (res.url() === `${h.latch.issuer}/token` && res.request().method() === 'POST' && res.status() !== 200) {
      seen.push(`failed ${res.status()}`);
    }
  });
  return seen;
}

h.test('signs in through Latch and shows the profile from the ID token and userinfo', async (t, { page }) => {
  const tokenRequests = recordTokenRequests(page);
  await signIn(page);

  assert.equal(page.url(), `${h.latch.spaURL}/`, 'the code and state must be gone from the address bar');
  await assert.doesNotReject(page.getByTestId('name').filter({ hasText: 'Demo User' }).waitFor());
  assert.match(await page.getByTestId('profile').innerText(), /demo@example\.com/);
  await page.getByTestId('userinfo').filter({ hasText: '"email": "demo@example.com"' }).waitFor();
  assert.deepEqual(tokenRequests, ['authorization_code']);

  // Nothing is left in storage: the pending sign-in is deleted, tokens are in memory only.
  const storage = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }));
  assert.deepEqual(storage, { session: 0, local: 0 });
  assert.equal(await page.getByTestId('error').isHidden(), true);

  // The API, with the access token.
  await page.locator('#call-api').click();
  await page.getByTestId('messages').filter({ hasText: 'Hello from the example API' }).waitFor();
  assert.match(await page.getByTestId('log').innerText(), /the API answered 3 messages for sub /);

  await mkdir(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, 'spa-signed-in.png'), fullPage: true });
});

h.test('refresh rotates the access and refresh tokens, and the new access token works', async (t, { page }) => {
  const tokenRequests = recordTokenRequests(page);
  await signIn(page);
  const before = await fingerprints(page);
  await page.locator('#refresh').click();
  const after = await newFingerprints(page, before);
  assert.notEqual(after.access, before.access);
  assert.notEqual(after.refresh, before.refresh);
  assert.deepEqual(tokenRequests, ['authorization_code', 'refresh_token']);

  await page.locator('#call-api').click();
  await page.getByTestId('messages').filter({ hasText: 'Hello from the example API' }).waitFor();
  // A second rotation works too: the first did not burn the grant.
  await page.locator('#refresh').click();
  await newFingerprints(page, after);
  assert.deepEqual(tokenRequests, ['authorization_code', 'refresh_token', 'refresh_token']);
});

h.test('two tabs refreshing at once both stay signed in (Web Locks + BroadcastChannel)', async (t, { context, page }) => {
  const requests = [];
  const authorizes = [];
  context.on('request', (req) => {
    if (req.url() === `${h.latch.issuer}/token`) requests.push(new URLSearchParams(req.postData() || '').get('grant_type'));
    if (req.url().startsWith(`${h.latch.issuer}/authorize`)) authorizes.push(req.url());
  });
  context.on('response', (res) => {
    if (res.url() === `${h.latch.issuer}/token` && res.status() !== 200) requests.push(`failed ${res.status()}`);
  });
  await signIn(page);
  const first = await fingerprints(page);

  // A second tab gets the tokens from the first over the BroadcastChannel,
  // without a redirect to Latch.
  const tab2 = await context.newPage();
  await tab2.goto(h.latch.spaURL);
  await waitState(tab2, 'signed-in');
  assert.deepEqual(await fingerprints(tab2), first);
  assert.equal(authorizes.length, 1, 'the second tab must not sign in again');

  // Make both tabs ask for the refresh lock while it is held, so they
  // really contend for it, then let go.
  await page.evaluate(() => {
    navigator.locks.request('latch-refresh', () => new Promise((release) => { window.__releaseTestLock = release; }));
  });
  await page.waitForFunction(() => window.__releaseTestLock);
  await Promise.all([page.locator('#refresh').click(), tab2.locator('#refresh').click()]);
  await page.waitForFunction(async () => (await navigator.locks.query()).pending.length === 2);
  await page.evaluate(() => window.__releaseTestLock());

  const [a, b] = await Promise.all([newFingerprints(page, first), newFingerprints(tab2, first)]);
  assert.deepEqual(a, b, 'both tabs must hold the same, newest tokens');
  // Whichever tab got the lock second found the tokens changed and did not refresh.
  const skipped = (p) => p.getByTestId('log').filter({ hasText: 'another tab refreshed while this one waited for the lock' }).waitFor();
  await Promise.any([skipped(page), skipped(tab2)]);
  assert.deepEqual(requests, ['authorization_code', 'refresh_token'], 'exactly one tab refreshes; the other uses its tokens');

  // Both stay signed in: the API works from each, and the grant lives on.
  for (const p of [page, tab2]) {
    await p.locator('#call-api').click();
    await p.getByTestId('messages').filter({ hasText: 'Hello from the example API' }).waitFor();
    assert.equal(await state(p), 'signed-in');
  }
  await tab2.locator('#refresh').click();
  const c = await newFingerprints(page, a); // tab 2 refreshed; the first tab got the result
  assert.deepEqual(await fingerprints(tab2), c);
  assert.deepEqual(requests, ['authorization_code', 'refresh_token', 'refresh_token']);
});

h.test('sign-out ends the Latch session: a silent sign-in then gets login_required', async (t, { context, page }) => {
  await signIn(page);
  // Control: a reload loses the in-memory tokens, and while Latch's session
  // lives a silent sign-in gets new ones without the login page.
  await page.reload();
  await waitState(page, 'signed-out');
  await page.locator('#silent').click();
  await waitState(page, 'signed-in');

  const tab2 = await context.newPage();
  await tab2.goto(h.latch.spaURL);
  await waitState(tab2, 'signed-in');

  await page.locator('#sign-out').click();
  await page.waitForURL(`${h.latch.spaURL}/`);
  await page.getByTestId('log').filter({ hasText: 'signed out at Latch' }).waitFor();
  assert.equal(await state(page), 'signed-out');
  assert.equal(await page.getByTestId('error').isHidden(), true);
  await waitState(tab2, 'signed-out'); // told over the BroadcastChannel

  // No session at Latch: the silent sign-in comes back with login_required,
  // which is "not signed in", shown quietly, not as an error.
  await page.locator('#silent').click();
  await page.getByTestId('log').filter({ hasText: 'silent sign-in: not signed in at Latch (login_required)' }).waitFor();
  assert.equal(await state(page), 'signed-out');
  assert.equal(await page.getByTestId('error').isHidden(), true, 'a silent sign-in without a session is not an error');
});

h.test('an error response for this tab\'s sign-in shows Latch\'s error, not a state mismatch', async (t, { page }) => {
  const tokenRequests = recordTokenRequests(page);
  // A request for the implicit flow, with this tab's pending state: Latch
  // refuses it with unsupported_response_type, in the fragment (the mode
  // that flow would have used), and the SPA must show exactly that.
  const pending = await pendingSignIn(page);
  const url = new URL(`${h.latch.issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'token', client_id: 'demo-spa', redirect_uri: `${h.latch.spaURL}/callback`, scope: 'openid', state: pending.state,
  });
  await page.goto(url.href);
  const error = page.getByTestId('error');
  await error.filter({ hasText: 'Latch answered unsupported_response_type' }).waitFor();
  assert.doesNotMatch(await error.innerText(), /state does not match/);
  assert.equal(await state(page), 'signed-out');
  assert.equal(new URL(page.url()).hash, '', 'the response must be gone from the address bar');
  assert.deepEqual(tokenRequests, []);
});

// A plain static file server: exactly the files of examples/spa, no
// /callback fallback, the repository's own config.js with this test's
// ports. The SPA must sign in with nothing from `latch dev`, as the public
// client config.js describes (registered here with the CLI).
h.test('the SPA works from a plain static file server with its own config.js', async (t, { page }) => {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  await promisify(execFile)(h.latch.bin ?? path.join(h.latch.dir, 'latch'), ['client', 'create', '--id', 'static-spa', '--public',
    '--first-party', '--redirect-uri', `${origin}/`, '--allowed-origin', origin, '--post-logout-redirect-uri', `${origin}/`,
    '--scope', 'openid,profile,email,offline_access,messages:read', '--audience', h.latch.apiURL, '--db', db], { cwd: repoRoot });

  const dir = path.join(repoRoot, 'examples', 'spa');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const served = [];
  const srv = http.createServer(async (req, res) => {
    const u = new URL(req.url, origin);
    served.push(u.pathname);
    const name = u.pathname === '/' ? 'index.html' : u.pathname.slice(1);
    if (!/^[a-z]+\.(html|js|css)$/.test(name)) return res.writeHead(404).end('not found');
    let body = await readFile(path.join(dir, name), 'utf8').catch(() => null);
    if (body === null) return res.writeHead(404).end('not found');
    if (name === 'config.js') {
      const orig = body;
      body = body.replace("'http://localhost:8080'", `'${h.latch.issuer}'`).replace("'http://localhost:3001'", `'${h.latch.apiURL}'`)
        .replace("'http://localhost:3000/'", `'${origin}/'`).replace("clientId: 'demo-spa'", "clientId: 'static-spa'");
      assert.equal(body.split('\n').length, orig.split('\n').length);
    }
    res.writeHead(200, { 'Content-Type': types[path.extname(name)] }).end(body);
  });
  await new Promise((resolve) => srv.listen(port, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => srv.close(resolve)));

  await page.goto(`${origin}/`);
  await waitState(page, 'signed-out');
  await page.locator('#sign-in').click();
  await login(page);
  await waitState(page, 'signed-in');
  assert.equal(page.url(), `${origin}/`);
  await page.getByTestId('userinfo').filter({ hasText: '"email": "demo@example.com"' }).waitFor();
  assert.ok(!served.includes('/callback'), `the static server was asked for /callback: ${served}`);
  assert.equal(await page.getByTestId('error').isHidden(), true);
});

// A real, unused authorization code, obtained the way an attacker would:
// through Latch's login in a browser without JavaScript, so the SPA's
// callback page never runs and never spends the code.
async function unusedCode({ challenge, state, nonce }) {
  const ctx = await h.browser.newContext({ javaScriptEnabled: false });
  try {
    const p = await ctx.newPage();
    const url = new URL(`${h.latch.issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: 'demo-spa', redirect_uri: `${h.latch.spaURL}/callback`, scope: 'openid profile',
      state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
    });
    await p.goto(url.href);
    await login(p);
    await p.waitForURL((u) => u.origin === h.latch.spaURL && u.pathname === '/callback');
    return new URL(p.url());
  } finally {
    await ctx.close();
  }
}

// Starts a sign-in in the SPA (to Latch's login page and back, unfinished)
// and returns what the SPA keeps for it in sessionStorage.
async function pendingSignIn(page) {
  await page.goto(h.latch.spaURL);
  await waitState(page, 'signed-out');
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.goto(h.latch.spaURL);
  await waitState(page, 'signed-out');
  const pending = await page.evaluate(() => JSON.parse(sessionStorage.getItem('latch.pending')));
  return { ...pending, challenge: createHash('sha256').update(pending.verifier).digest('base64url') };
}

h.test('a tampered state or iss on the callback is rejected without a token request', async (t, { page }) => {
  const tokenRequests = recordTokenRequests(page);

  // CSRF (RFC 6749 §10.12): the attacker's own code, for the attacker's
  // own sign-in, fed to the victim's browser while it has a sign-in pending.
  await pendingSignIn(page);
  const attackers = await unusedCode({ challenge: 'A'.repeat(43), state: 'attacker-state', nonce: 'attacker-nonce' });
  await page.goto(attackers.href);
  await page.getByTestId('error').filter({ hasText: /state does not match/ }).waitFor();
  assert.equal(await state(page), 'signed-out');
  assert.equal(page.url(), `${h.latch.spaURL}/`, 'the code must be gone from the address bar');

  // Mix-up (RFC 9207): a response for this very sign-in, but naming another issuer.
  let pending = await pendingSignIn(page);
  const mixedUp = await unusedCode(pending);
  mixedUp.searchParams.set('iss', 'http://evil.example');
  await page.goto(mixedUp.href);
  await page.getByTestId('error').filter({ hasText: /names issuer http:\/\/evil\.example/ }).waitFor();
  assert.equal(await state(page), 'signed-out');

  assert.deepEqual(tokenRequests, [], 'a rejected callback must not reach the token endpoint');

  // Control: the same kind of response, untouched, signs in.
  pending = await pendingSignIn(page);
  await page.goto((await unusedCode(pending)).href);
  await waitState(page, 'signed-in');
  assert.deepEqual(tokenRequests, ['authorization_code']);
});
