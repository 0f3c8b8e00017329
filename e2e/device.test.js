// The device authorization grant (RFC 8628) in a real browser, against
// `latch dev`: a device (this test, over fetch) starts an authorization;
// the user opens verification_uri_complete, signs in, checks the code,
// sees the client and its scopes and allows (or denies); the device's
// polling then gets tokens (or access_denied). The /device page runs
// under the strict CSP with no violation, with framing forbidden.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEMO, harness, repoRoot } from './harness.js';

const h = harness();
const CLIENT_ID = 'e2e-tv';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const cli = async (...args) => {
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  const { stdout } = await promisify(execFile)(h.latch.bin ?? path.join(h.latch.dir, 'latch'), [...args, '--db', db], { cwd: repoRoot });
  return stdout;
};

// register enables the device grant on a public client, once, with the
// CLI (the way an operator does it).
let registered;
const register = () => (registered ??= cli('client', 'create', '--id', CLIENT_ID, '--public', '--name', 'E2E Television',
  '--grant-type', `${DEVICE_GRANT},refresh_token`));

const form = (o) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o) });

// startDevice is the device's first request (RFC 8628 §3.1).
async function startDevice(scope) {
  await register();
  const res = await fetch(`${h.latch.issuer}/device_authorization`, form({ client_id: CLIENT_ID, scope }));
  assert.equal(res.status, 200);
  return res.json();
}

// poll is one token request of the device (RFC 8628 §3.4).
async function poll(deviceCode) {
  const res = await fetch(`${h.latch.issuer}/token`, form({ grant_type: DEVICE_GRANT, client_id: CLIENT_ID, device_code: deviceCode }));
  return { status: res.status, body: await res.json() };
}

// watchCSP collects CSP violations and script errors of page (a 4xx
// answer, such as a refused code's, is no problem).
function watchCSP(page) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text()); });
  return problems;
}

// openAndSignIn opens verification_uri_complete, signs in as the demo
// user and returns the /device response's headers.
async function openAndSignIn(page, da) {
  await page.goto(da.verification_uri_complete);
  await page.fill('#username', DEMO.username);
  await page.fill('#password', DEMO.password);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${h.latch.issuer}/device`) && r.request().method() === 'GET'),
    page.click('button[type=submit]'),
  ]);
  await page.waitForLoadState('load');
  return res.headers();
}

h.test('a device is approved on the /device page and gets tokens', async (t, { page }) => {
  const problems = watchCSP(page);
  const da = await startDevice('openid profile offline_access');
  assert.match(da.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(da.verification_uri, `${h.latch.issuer}/device`);
  assert.deepEqual((await poll(da.device_code)).body.error, 'authorization_pending');

  const headers = await openAndSignIn(page, da);
  assert.match(headers['content-security-policy'], /default-src 'none'/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  // Back on /device with the code prefilled from verification_uri_complete.
  assert.equal(new URL(page.url()).pathname, '/device');
  assert.equal(await page.inputValue('#user_code'), da.user_code);

  await page.click('button[type=submit]');
  await page.waitForLoadState('load');
  assert.equal(await page.locator('.client-name').textContent(), 'E2E Television');
  assert.equal(await page.locator('#user-code').textContent(), da.user_code);
  const scopes = await page.locator('.scope-name').allTextContents();
  assert.deepEqual(scopes, ['openid', 'profile', 'offline_access']);

  await page.click('button[name=decision][value=allow]');
  await page.waitForLoadState('load');
  assert.match(await page.locator('h1').textContent(), /Device connected/);

  const { status, body } = await poll(da.device_code);
  assert.equal(status, 200, JSON.stringify(body));
  assert.ok(body.access_token && body.id_token && body.refresh_token);
  assert.equal((await poll(da.device_code)).body.error, 'invalid_grant', 'the device_code is single-use');
  assert.deepEqual(problems, [], 'no CSP violations or script errors');
});

h.test('a denied device gets access_denied; a wrong code is refused', async (t, { page }) => {
  const problems = watchCSP(page);
  const da = await startDevice('openid');
  await openAndSignIn(page, da);
  // A wrong code first: the one generic refusal, the form again.
  await page.fill('#user_code', 'BBBB-BBBB');
  await page.click('button[type=submit]');
  await page.waitForLoadState('load');
  assert.match(await page.locator('#form-error').textContent(), /not valid or has expired/);
  // Typed in lower case without the dash: the same code.
  await page.fill('#user_code', da.user_code.replace('-', '').toLowerCase());
  await page.click('button[type=submit]');
  await page.waitForLoadState('load');
  await page.click('button[name=decision][value=deny]');
  await page.waitForLoadState('load');
  assert.match(await page.locator('h1').textContent(), /Request denied/);
  assert.equal((await poll(da.device_code)).body.error, 'access_denied');
  assert.deepEqual(problems, []);
});
