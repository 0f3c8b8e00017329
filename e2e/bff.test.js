// The backend-for-frontend example (examples/bff) in a real browser,
// against `latch dev` and its example API: sign in through the BFF, call
// the API through its proxy, sign out; and a tampered state is refused.
//
// The BFF runs as its own process (the cmd/bff binary), as a confidential
// client registered for this test with `latch client create` against the
// dev server's database, so its secret and redirect URI are known here.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { promisify } from 'node:util';
import { DEMO, freePort, goBuild, harness, repoRoot, spawnLogged, waitForHTTP } from './harness.js';

const h = harness();
const bff = { url: null, proc: null, dir: null };
const CLIENT_ID = 'e2e-bff';

const cli = async (...args) => {
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  const { stdout } = await promisify(execFile)(h.latch.bin ?? path.join(h.latch.dir, 'latch'), [...args, '--db', db], { cwd: repoRoot });
  return stdout;
};

// startBFF registers the client and starts the BFF, once, on first use
// (the harness's before hook has started Latch by then).
let started;
function startBFF() {
  started ??= (async () => {
    bff.dir = await mkdtemp(path.join(os.tmpdir(), 'latch-e2e-bff-'));
    const [bin, port] = await Promise.all([goBuild('./examples/bff/cmd/bff', bff.dir), freePort()]);
    bff.url = `http://localhost:${port}`;
    const client = JSON.parse(await cli('client', 'create', '--id', CLIENT_ID, '--confidential', '--name', 'E2E BFF',
      '--redirect-uri', `${bff.url}/callback`, '--post-logout-redirect-uri', `${bff.url}/`,
      '--scope', 'openid,profile,email,offline_access,messages:read', '--audience', h.latch.apiURL));
    assert.ok(client.client_secret, 'client create printed a secret');
    bff.proc = spawnLogged(bin, [
      '--issuer', h.latch.issuer, '--client-id', CLIENT_ID, '--base-url', bff.url,
      '--addr', `localhost:${port}`, '--api', h.latch.apiURL,
    ], { env: { BFF_CLIENT_SECRET: client.client_secret }, name: 'bff' });
    await waitForHTTP(`${bff.url}/`, { child: bff.proc });
  })();
  return started;
}

after(async () => {
  await bff.proc?.stop();
  if (bff.dir) await rm(bff.dir, { recursive: true, force: true });
});

// bffTest is h.test with the BFF started, and its log in the diagnostics
// of a failure.
function bffTest(name, fn) {
  h.test(name, async (t, ctx) => {
    await startBFF();
    try {
      await fn(t, ctx);
    } catch (err) {
      t.diagnostic(`bff output:\n${bff.proc?.output(40)}`);
      throw err;
    }
  });
}

// signInAtLatch fills Latch's login form and allows the consent page
// (demo-web-like confidential clients are not first-party).
async function signInAtLatch(page) {
  await page.fill('#username', DEMO.username);
  await page.fill('#password', DEMO.password);
  await page.click('button[type=submit]'); // waits for the navigation it starts
  await page.waitForLoadState('load');
  // Consent is asked once per user and client; a later sign-in skips it.
  const allow = page.locator('button[name=decision][value=allow]');
  if (await allow.count()) await allow.click();
}

// tamperCallback changes the parameters of the next redirect from Latch
// to callbackPrefix. Playwright does not route the targets of redirects,
// so the change is made where the redirect is made: in the Location of
// Latch's answer to the login (or consent) form.
async function tamperCallback(page, issuer, callbackPrefix, mutate) {
  await page.route((url) => url.href.startsWith(`${issuer}/`), async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const res = await route.fetch({ maxRedirects: 0 });
    const headers = res.headers();
    if (!headers.location?.startsWith(callbackPrefix)) return route.fulfill({ response: res });
    const u = new URL(headers.location);
    mutate(u.searchParams);
    return route.fulfill({ response: res, headers: { ...headers, location: u.href } });
  });
}

bffTest('the BFF signs in, proxies the API and signs out', async (t, { context, page }) => {
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error' && !/401/.test(msg.text())) errors.push(msg.text()); });

  await page.goto(bff.url);
  await page.locator('#signed-out').waitFor();
  await page.click('#login');
  assert.ok(page.url().startsWith(`${h.latch.issuer}/`), 'sent to Latch');
  await signInAtLatch(page);
  await page.waitForURL(`${bff.url}/`);
  await page.locator('#signed-in').waitFor();

  const user = JSON.parse(await cli('user', 'show', DEMO.username));
  assert.equal(await page.locator('#sub').textContent(), user.id);
  assert.equal(await page.locator('#name').textContent(), user.name ?? 'Demo User');

  // The browser holds one cookie for the BFF, HttpOnly, and no token:
  // nothing a script on the page (or an XSS payload) could read.
  assert.equal(await page.evaluate(() => document.cookie), '');
  const cookies = (await context.cookies()).filter((c) => c.name.startsWith('bff_')); // any path
  assert.deepEqual(cookies.map((c) => c.name), ['bff_session'], 'only the session cookie; the login cookie is gone');
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, 'Strict'); // RFC 10017 §6.1.3.2
  assert.equal(await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage)), '{}{}');

  // The proxied API call: the example API verified the access token the
  // BFF added (aud, scope messages:read) and names the user.
  await page.click('#call-api');
  await page.locator('#api-result').waitFor();
  const result = await page.locator('#api-result').textContent();
  assert.match(result, /^HTTP 200\n/);
  const body = JSON.parse(result.slice(result.indexOf('\n') + 1));
  assert.equal(body.sub, user.id);
  assert.equal(body.client_id, CLIENT_ID);
  assert.ok(body.messages.length > 0);

  // Sign out: BFF session ended, then Latch's, then back here signed out.
  await page.click('#logout');
  await page.waitForURL(`${bff.url}/`);
  await page.locator('#signed-out').waitFor();
  const me = await page.evaluate(() => fetch('/me').then((r) => r.status));
  assert.equal(me, 401);
  // Latch's session is over too: signing in asks for the password again.
  await page.click('#login');
  await page.locator('#password').waitFor();
  assert.deepEqual(errors, [], 'no script errors, no CSP violations');
});

bffTest('the BFF refuses a callback with a tampered state', async (t, { page }) => {
  await page.goto(`${bff.url}/login`);
  // Change the state on the way back, before the BFF sees it.
  await tamperCallback(page, h.latch.issuer, `${bff.url}/callback?`, (q) => {
    const s = q.get('state');
    q.set('state', (s[0] === 'A' ? 'B' : 'A') + s.slice(1));
  });
  const responses = [];
  page.on('response', (r) => { if (r.url().startsWith(`${bff.url}/callback`)) responses.push(r.status()); });
  await signInAtLatch(page);
  await page.locator('#error-title').waitFor();
  assert.deepEqual(responses.slice(-1), [400]);
  assert.match(await page.locator('#error-message').textContent(), /not started in this browser|does not match/);
  const me = await page.evaluate(() => fetch('/me').then((r) => r.status));
  assert.equal(me, 401, 'not signed in');
});
