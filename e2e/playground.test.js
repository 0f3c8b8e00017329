// The flow playground of `latch dev` (/playground), in a real browser: a
// person clicks through every step, signs in on Latch's login form, and
// sees the code, the tokens, a refresh and userinfo.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEMO, harness, repoRoot } from './harness.js';

const h = harness();

const cell = (page, table, name) => page.locator(`#${table} tr[data-name="${name}"] td code`).first().textContent();

// The body of an HTTP response shown in a <pre>: after the blank line.
async function responseJSON(page, id) {
  const text = await page.locator(`#${id}`).textContent();
  return JSON.parse(text.slice(text.indexOf('\n\n') + 2));
}

// The demo user's id, read from the database with the CLI, independently
// of anything the page shows.
async function demoUserID() {
  const bin = h.latch.bin ?? path.join(h.latch.dir, 'latch');
  const { stdout } = await promisify(execFile)(bin,
    ['user', 'show', DEMO.username, '--db', `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`], { cwd: repoRoot });
  return JSON.parse(stdout).id;
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

h.test('the playground completes every step', async (t, { page }) => {
  const { issuer } = h.latch;
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });

  await page.goto(`${issuer}/playground`);

  // Step 1: the verifier and its S256 challenge, made in the browser.
  await page.click('#generate');
  const verifier = await cell(page, 'pkce', 'code_verifier');
  const challenge = await cell(page, 'pkce', 'code_challenge');
  assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(challenge, createHash('sha256').update(verifier).digest('base64url'), 'challenge = BASE64URL(SHA-256(verifier))');

  // Step 2: the authorization request, shown and explained.
  const authURL = new URL(await page.locator('#auth-url').textContent());
  assert.equal(authURL.origin + authURL.pathname, `${issuer}/authorize`);
  assert.equal(authURL.searchParams.get('code_challenge'), challenge);
  assert.equal(authURL.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(authURL.searchParams.get('redirect_uri'), `${issuer}/playground/callback`);
  assert.equal(await page.locator('#auth-params tr').count(), [...authURL.searchParams].length);
  const state = authURL.searchParams.get('state');

  // The redirect, and Latch's login form.
  await page.click('#authorize');
  await page.fill('#username', DEMO.username);
  await page.fill('#password', DEMO.password);
  await Promise.all([page.waitForURL(`${issuer}/playground/callback**`), page.click('button[type=submit]')]);
  await page.locator('#check-state').waitFor();

  // Step 3: code, state and iss came back, state and iss checked.
  assert.equal(await cell(page, 'callback-params', 'state'), state);
  assert.equal(await cell(page, 'callback-params', 'iss'), issuer);
  assert.match(await page.locator('#check-state').getAttribute('class'), /\bok\b/);
  assert.match(await page.locator('#check-iss').getAttribute('class'), /\bok\b/);
  assert.equal(new URL(page.url()).search, '', 'the code is removed from the address bar');

  // Step 4: the token request, with the verifier, and its response.
  await page.click('#exchange');
  await page.locator('#token-response').waitFor();
  const tokenRequest = await page.locator('#token-request').textContent();
  assert.match(tokenRequest, /^POST \/token HTTP\/1\.1/);
  assert.match(tokenRequest, /grant_type=authorization_code/);
  assert.match(tokenRequest, /code_verifier=/);
  const tokens = await responseJSON(page, 'token-response');
  assert.equal(tokens.token_type, 'Bearer');
  assert.ok(tokens.access_token && tokens.id_token && tokens.refresh_token, 'access, ID and refresh token');

  // Step 5: the decoded claims name the demo user.
  const sub = await demoUserID();
  assert.equal(await cell(page, 'id-token-payload', 'sub'), sub);
  assert.equal(await cell(page, 'access-token-payload', 'sub'), sub);
  assert.equal(await cell(page, 'id-token-payload', 'iss'), issuer);
  assert.equal(await cell(page, 'access-token-header', 'typ'), 'at+jwt');
  assert.match(await page.locator('#check-nonce').getAttribute('class'), /\bok\b/);

  // Step 6: refresh; the refresh token rotates.
  await page.click('#refresh');
  await page.locator('#refresh-note').waitFor();
  const refreshed = await responseJSON(page, 'refresh-response');
  assert.ok(refreshed.access_token && refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.match(await page.locator('#refresh-note').getAttribute('class'), /\bok\b/);

  // Step 7: userinfo with the (refreshed) access token.
  await page.click('#userinfo');
  await page.locator('#userinfo-response').waitFor();
  const info = await responseJSON(page, 'userinfo-response');
  assert.equal(info.sub, sub);
  assert.equal(info.preferred_username, DEMO.username);

  // Every step was shown, and the diagram followed along.
  for (let n = 1; n <= 7; n++) assert.equal(await page.locator(`#step${n}`).isVisible(), true, `step ${n} visible`);
  assert.equal(await page.locator('#diagram .flow-step.active').getAttribute('data-step'), '7');
  assert.deepEqual(errors, [], 'no script errors, no CSP violations');
});

h.test('the playground refuses a callback with a tampered state', async (t, { page }) => {
  const { issuer } = h.latch;
  await page.goto(`${issuer}/playground`);
  await page.click('#generate');
  const authURL = await page.locator('#auth-url').textContent();
  await page.click('#authorize');
  await page.fill('#username', DEMO.username);
  await page.fill('#password', DEMO.password);
  // Change the state on the way back, before the page sees it.
  await tamperCallback(page, issuer, `${issuer}/playground/callback?`, (q) => q.set('state', 'tampered'));
  await Promise.all([page.waitForURL(`${issuer}/playground/callback**`), page.click('button[type=submit]')]);
  await page.locator('#check-state').waitFor();
  assert.ok(authURL.includes('state='));
  assert.match(await page.locator('#check-state').getAttribute('class'), /\bbad\b/);
  assert.equal(await page.locator('#exchange').isDisabled(), true, 'no exchange offered');
});

h.test('the playground is served with a strict CSP', async (t, { page }) => {
  const res = await page.goto(`${h.latch.issuer}/playground`);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
});
