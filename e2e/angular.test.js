// The Angular examples (examples/angular) in a real browser, against
// `latch dev` and the example API:
//
//   - bff: the Angular app served by the backend-for-frontend (cmd/bff
//     --static, CSRF by Angular's XSRF-TOKEN/X-XSRF-TOKEN double submit):
//     sign in, the API through the proxy (refreshed by the BFF), a reload,
//     two tabs, sign out, cross-site requests refused — and no access or
//     refresh token ever visible to the page (RFC 10017 §6.1);
//   - spa: the browser-only app with angular-oauth2-oidc (code + PKCE
//     against Latch directly, a public client): sign in, the API with the
//     bearer token, a refresh with the rotating refresh token, two tabs,
//     sign out.
//
// examples/angular/build.sh builds both apps first (npm ci when needed, ng
// build when their sources changed): the first run takes a minute or two.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { promisify } from 'node:util';
import { DEMO, freePort, goBuild, harness, repoRoot, spawnLogged, waitForHTTP } from './harness.js';

// --log-level info: Latch logs its audit events, which count the refreshes.
const h = harness({ args: ['--log-level', 'info'] });
const BFF_CLIENT = 'e2e-angular-bff';
const SPA_CLIENT = 'e2e-angular-spa';
const SCOPES = 'openid,profile,email,offline_access,messages:read';
const distDir = path.join(repoRoot, 'examples', 'angular', 'dist');
const env = { dir: null, procs: [], servers: [], bffURL: null, spaURL: null, spaAPIURL: null, attackerURL: null };

const cli = async (...args) => {
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  const { stdout } = await promisify(execFile)(h.latch.bin, [...args, '--db', db], { cwd: repoRoot });
  return stdout;
};

// listen starts a node http server on localhost:port.
async function listen(port, handler) {
  const srv = http.createServer(handler);
  await new Promise((resolve) => srv.listen(port, '127.0.0.1', resolve));
  env.servers.push(srv);
}

// setup builds the apps and starts the helpers, once, on first use (the
// harness's before hook has started Latch by then).
let started;
const setup = () => (started ??= startAll());
async function startAll() {
  await promisify(execFile)(path.join(repoRoot, 'examples', 'angular', 'build.sh'), [],
    { cwd: repoRoot, maxBuffer: 64 << 20, timeout: 15 * 60_000 }).catch((err) => {
    throw new Error(`examples/angular/build.sh failed:\n${err.stdout}\n${err.stderr}`);
  });
  env.dir = await mkdtemp(path.join(os.tmpdir(), 'latch-e2e-angular-'));
  const [bffBin, apiBin, bffPort, spaPort, apiPort, attackerPort] = await Promise.all([
    goBuild('./examples/bff/cmd/bff', env.dir), goBuild('./examples/api/cmd/api', env.dir),
    freePort(), freePort(), freePort(), freePort()]);
  env.bffURL = `http://localhost:${bffPort}`;
  env.spaURL = `http://localhost:${spaPort}`;
  env.spaAPIURL = `http://localhost:${apiPort}`;
  // Another origin of the same site (localhost, another port): the
  // SameSite=Strict session cookie rides along on its requests to the BFF,
  // so only the BFF's Origin and XSRF checks stand in the way.
  env.attackerURL = `http://localhost:${attackerPort}`;

  // The BFF: a confidential client whose access tokens live 10 s, less
  // than the BFF's refresh margin (30 s): every proxied call refreshes.
  const client = JSON.parse(await cli('client', 'create', '--id', BFF_CLIENT, '--confidential', '--name', 'E2E Angular BFF',
    '--redirect-uri', `${env.bffURL}/callback`, '--post-logout-redirect-uri', `${env.bffURL}/`,
    '--scope', SCOPES, '--audience', h.latch.apiURL, '--access-token-ttl', '10s'));
  const bff = spawnLogged(bffBin, [
    '--issuer', h.latch.issuer, '--client-id', BFF_CLIENT, '--base-url', env.bffURL,
    '--addr', `localhost:${bffPort}`, '--api', h.latch.apiURL,
    '--static', path.join(distDir, 'bff', 'browser'), '--xsrf-cookie',
  ], { env: { BFF_CLIENT_SECRET: client.client_secret }, name: 'bff' });
  env.procs.push(bff);
  env.bff = bff;

  // The browser-only app: a public client registered like the plain SPA's,
  // and an example API that lets its origin in (CORS).
  // --revoke-refresh-on-logout: signing out at Latch ends the refresh
  // tokens of every tab (RFC 10017 §6.3.2.3: refresh tokens tied to the
  // user's session at the authorization server).
  await cli('client', 'create', '--id', SPA_CLIENT, '--public', '--first-party', '--revoke-refresh-on-logout', '--name', 'E2E Angular SPA',
    '--redirect-uri', `${env.spaURL}/`, '--allowed-origin', env.spaURL, '--post-logout-redirect-uri', `${env.spaURL}/`,
    '--scope', SCOPES, '--audience', env.spaAPIURL);
  const api = spawnLogged(apiBin, ['--issuer', h.latch.issuer, '--audience', env.spaAPIURL,
    '--addr', `localhost:${apiPort}`, '--origin', env.spaURL], { name: 'api (angular spa)' });
  env.procs.push(api);

  // The SPA's built files, as any static host would serve them, with its
  // config.json pointing at this test's Latch and API, under a strict CSP.
  const csp = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    `connect-src 'self' ${h.latch.issuer} ${env.spaAPIURL}`, "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].join('; ');
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
  await listen(spaPort, async (req, res) => {
    const u = new URL(req.url, env.spaURL);
    const headers = { 'Content-Security-Policy': csp, 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-cache' };
    if (u.pathname === '/config.json') {
      return res.writeHead(200, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify({
        issuer: h.latch.issuer, clientId: SPA_CLIENT, scope: SCOPES.replaceAll(',', ' '), apiUrl: env.spaAPIURL,
      }));
    }
    const name = u.pathname === '/' ? 'index.html' : u.pathname.slice(1);
    const body = /^[\w.-]+$/.test(name) ? await readFile(path.join(distDir, 'spa', 'browser', name)).catch(() => null) : null;
    if (!body) return res.writeHead(404).end('not found');
    res.writeHead(200, { ...headers, 'Content-Type': types[path.extname(name)] ?? 'application/octet-stream' }).end(body);
  });
  await listen(attackerPort, (req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>another origin</title>'));

  await waitForHTTP(`${env.bffURL}/`, { child: bff });
  await waitForHTTP(`${env.spaAPIURL}/api/messages`, { child: api, want: 401 });
}

after(async () => {
  for (const srv of env.servers) await new Promise((resolve) => srv.close(resolve));
  for (const p of env.procs) await p.stop();
  if (env.dir) await rm(env.dir, { recursive: true, force: true });
});

// ngTest is h.test with the helper processes' logs in a failure's diagnostics.
function ngTest(name, fn) {
  h.test(name, async (t, ctx) => {
    await setup();
    try {
      await fn(t, ctx);
    } catch (err) {
      for (const p of env.procs) t.diagnostic(`${p.name} output: ${p.output(20).split('\n').join(' | ')}`);
      throw err;
    }
  }, { timeout: 180_000 });
}

// watchErrors collects script errors and CSP violations of a page; failed
// resource loads with an expected status (401 signed out, 403 refused) are
// the app's normal answers.
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[13]/.test(msg.text())) errors.push(msg.text());
  });
  return errors;
}

// signInAtLatch fills Latch's login form and allows the consent page when
// one comes (confidential clients are not first-party).
async function signInAtLatch(page) {
  await page.fill('#username', DEMO.username);
  await page.fill('#password', DEMO.password);
  await page.click('button[type=submit]');
  await page.waitForLoadState('load');
  const allow = page.locator('button[name=decision][value=allow]');
  if (await allow.count()) await allow.click();
}

// refreshes counts Latch's audit events of refresh-token grants for client.
function refreshes(client) {
  return h.latch.output(400).split('\n')
    .filter((l) => l.includes('token_issued') && l.includes('grant_type=refresh_token') && l.includes(`client_id=${client}`)).length;
}

// callAPI clicks #call-api in page and returns the app's next answer
// (the app counts them in data-calls).
async function callAPI(page) {
  await page.bringToFront();
  const calls = () => page.evaluate(() => Number(document.querySelector('#api-result')?.dataset.calls ?? 0));
  const n = await calls();
  await page.click('#call-api');
  await page.waitForFunction((n) => Number(document.querySelector('#api-result')?.dataset.calls ?? 0) > n, n);
  const text = await page.locator('#api-result').textContent();
  return { status: Number(text.split('\n')[0].slice(5)), body: JSON.parse(text.slice(text.indexOf('\n') + 1)) };
}

// bffCookies: the browser's cookies for the BFF. Cookies do not separate
// ports, so Latch's own (latch_*, on localhost:<its port>) show up for
// every localhost origin here; in production the BFF and Latch are
// different hosts.
const bffCookies = async (context) => (await context.cookies(env.bffURL)).filter((c) => !c.name.startsWith('latch_'));

const jwtHeader = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());

// recordBFFResponses keeps every response the page gets from the BFF's
// origin (headers and body) for assertNoTokens.
function recordBFFResponses(page) {
  const seen = [];
  page.on('response', async (res) => {
    if (!res.url().startsWith(env.bffURL)) return;
    const body = await res.text().catch(() => ''); // redirects have none
    seen.push({ url: res.url(), headers: await res.allHeaders(), body });
  });
  return seen;
}

// assertNoTokens: nothing the browser received from the BFF, nor anything
// the page can read, holds an access or a refresh token. The one JWT the
// page may see is the ID token, as id_token_hint in the logout URL
// (RP-Initiated Logout 1.0 §2), never typed at+jwt (RFC 9068 §2.1).
async function assertNoTokens(context, page, seen) {
  assert.ok(seen.length > 5, `responses recorded: ${seen.length}`);
  for (const { url, headers, body } of seen) {
    const where = `${url}`;
    assert.doesNotMatch(body, /"(access_token|refresh_token|id_token)"\s*:/, `${where}: a token field in the body`);
    for (const jwt of `${JSON.stringify(headers)} ${body}`.match(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g) ?? []) {
      assert.notEqual(jwtHeader(jwt).typ?.toLowerCase(), 'at+jwt', `${where}: an access token`);
      assert.match(body, /"logout_url"/, `${where}: a JWT outside the logout URL`);
    }
    assert.equal(headers.authorization, undefined, where);
  }
  for (const c of await bffCookies(context)) {
    assert.ok(['bff_session', 'XSRF-TOKEN'].includes(c.name) || c.name.startsWith('bff_login_'), `cookie ${c.name}`);
    assert.doesNotMatch(c.value, /^eyJ/, `cookie ${c.name} holds a JWT`);
  }
  const visible = await page.evaluate(() => ({ cookie: document.cookie, local: { ...localStorage }, session: { ...sessionStorage } }));
  assert.deepEqual(visible.local, {});
  assert.deepEqual(visible.session, {});
  const readable = visible.cookie.split('; ').filter((c) => c && !c.startsWith('latch_'));
  assert.ok(readable.every((c) => /^XSRF-TOKEN=[\w-]{43}$/.test(c)), `the page can read the XSRF token, nothing else: ${readable}`);
}

async function bffSignIn(page) {
  await page.goto(env.bffURL);
  await page.locator('#signed-out').waitFor();
  await page.click('#login');
  assert.ok(page.url().startsWith(`${h.latch.issuer}/`), 'sent to Latch');
  await signInAtLatch(page);
  await page.waitForURL(`${env.bffURL}/`);
  await page.locator('#signed-in').waitFor();
}

ngTest('Angular BFF: signs in, calls the API through the BFF, refreshes, signs out; no token in the browser', async (t, { context, page }) => {
  const errors = watchErrors(page);
  const seen = recordBFFResponses(page);
  await bffSignIn(page);
  const user = JSON.parse(await cli('user', 'show', DEMO.username));
  assert.equal(await page.locator('#sub').textContent(), user.id);

  // Cookies: the session HttpOnly and SameSite=Strict (RFC 10017 §6.1.3.2);
  // XSRF-TOKEN readable by Angular, which echoes it on POSTs.
  const cookies = Object.fromEntries((await bffCookies(context)).map((c) => [c.name, c]));
  assert.deepEqual(Object.keys(cookies).sort(), ['XSRF-TOKEN', 'bff_session']);
  assert.equal(cookies.bff_session.httpOnly, true);
  assert.equal(cookies.bff_session.sameSite, 'Strict');
  assert.equal(cookies['XSRF-TOKEN'].httpOnly, false);
  assert.equal(cookies['XSRF-TOKEN'].sameSite, 'Strict');

  // The API through the proxy. The access token lives 10 s, under the
  // BFF's refresh margin, so each call refreshes first; the second call
  // works only if the first call's rotated refresh token was stored (a
  // spent one presented again would revoke the grant, RFC 9700 §4.14.2).
  const before = refreshes(BFF_CLIENT);
  for (let i = 1; i <= 2; i++) {
    const { status, body } = await callAPI(page);
    assert.equal(status, 200);
    assert.equal(body.sub, user.id);
    assert.equal(body.client_id, BFF_CLIENT);
    assert.ok(body.messages.length > 0);
    assert.ok(refreshes(BFF_CLIENT) >= before + i, `refresh ${i} at Latch (${refreshes(BFF_CLIENT) - before} seen)`);
  }

  // A reload keeps the session: it is the BFF's, not the page's.
  await page.reload();
  await page.locator('#signed-in').waitFor();
  assert.equal((await callAPI(page)).status, 200);

  await assertNoTokens(context, page, seen);

  // Sign out: POST /logout (Angular adds X-XSRF-TOKEN), then Latch's
  // end-session endpoint, then back here signed out.
  const logout = page.waitForRequest((r) => r.url() === `${env.bffURL}/logout`);
  await page.click('#logout');
  assert.ok((await logout).headers()['x-xsrf-token'], 'HttpClient sent X-XSRF-TOKEN');
  await page.waitForURL(`${env.bffURL}/`);
  await page.locator('#signed-out').waitFor();
  assert.equal(await page.evaluate(() => fetch('/me').then((r) => r.status)), 401);
  assert.deepEqual((await bffCookies(context)).map((c) => c.name), [], 'session and XSRF cookies cleared');
  await assertNoTokens(context, page, seen);
  // Latch's session is over too: signing in asks for the password again.
  await page.click('#login');
  await page.locator('#password').waitFor();
  assert.deepEqual(errors, [], 'no script errors, no CSP violations');
});

ngTest('Angular BFF: two tabs share the session, calls from both at once, sign-out in one ends the other', async (t, { context, page }) => {
  await bffSignIn(page);
  const tab2 = await context.newPage();
  await tab2.goto(env.bffURL);
  await tab2.locator('#signed-in').waitFor(); // no trip to Latch
  // Both tabs at once: each call refreshes (10 s tokens), one at a time
  // per session; neither may trip Latch's refresh-token reuse detection.
  const [a, b] = await Promise.all([callAPI(page), callAPI(tab2)]);
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.deepEqual([(await callAPI(page)).status, (await callAPI(tab2)).status], [200, 200], 'the grant survived');

  await page.click('#logout');
  await page.waitForURL(`${env.bffURL}/`);
  await page.locator('#signed-out').waitFor();
  await tab2.click('#call-api'); // 401 login_required: the app shows the signed-out view
  await tab2.locator('#signed-out').waitFor();
});

ngTest('Angular BFF: cross-site requests and requests without the XSRF header are refused', async (t, { context, page }) => {
  await bffSignIn(page);
  const other = await context.newPage();
  await other.goto(env.attackerURL);
  const status = async (p, urlPath, fn) => {
    const res = p.waitForResponse((r) => r.url() === `${env.bffURL}${urlPath}`);
    await p.evaluate(fn, env.bffURL).catch(() => {}); // a cross-origin fetch cannot read the 403: it rejects
    return (await res).status();
  };
  // From another origin of the same site: the Strict cookie is sent, and
  // the Origin check refuses (RFC 10017 §6.1.3.3).
  assert.equal(await status(other, '/api/messages', (bff) => fetch(`${bff}/api/messages`, { credentials: 'include', mode: 'no-cors' })), 403);
  assert.equal(await status(other, '/logout', (bff) => fetch(`${bff}/logout`, { method: 'POST', credentials: 'include', mode: 'no-cors' })), 403);
  // A form posted from there: a top-level navigation, still refused.
  const nav = other.waitForResponse((r) => r.url() === `${env.bffURL}/logout`);
  await other.evaluate((bff) => {
    const f = Object.assign(document.createElement('form'), { method: 'POST', action: `${bff}/logout` });
    document.body.append(f);
    f.submit();
  }, env.bffURL);
  assert.equal((await nav).status(), 403);
  assert.match(env.bff.output(50), /cross-origin request refused/);

  // From the app's own origin but without Angular's X-XSRF-TOKEN (or with
  // a wrong one), a state-changing request is refused too.
  const own = (init) => page.evaluate(async (init) => {
    const res = await fetch('/logout', init);
    return [res.status, (await res.json()).error];
  }, init);
  assert.deepEqual(await own({ method: 'POST' }), [403, 'csrf_token_mismatch']);
  assert.deepEqual(await own({ method: 'POST', headers: { 'X-XSRF-TOKEN': 'A'.repeat(43) } }), [403, 'csrf_token_mismatch']);
  assert.deepEqual(await page.evaluate(() => fetch('/api/messages', { method: 'POST' }).then((r) => r.status)), 403);

  // None of it ended the session.
  assert.equal(await page.evaluate(() => fetch('/me').then((r) => r.status)), 200);
  assert.equal((await callAPI(page)).status, 200);
});

ngTest('Angular SPA (angular-oauth2-oidc): code + PKCE, the API with the token, refresh, two tabs, sign out', async (t, { context, page }) => {
  const errors = watchErrors(page);
  const tokenRequests = [];
  page.on('request', (r) => { if (r.url() === `${h.latch.issuer}/token`) tokenRequests.push(new URLSearchParams(r.postData() ?? '').get('grant_type')); });
  await page.goto(env.spaURL);
  await page.locator('#signed-out').waitFor();
  const authorize = page.waitForRequest((r) => r.url().startsWith(`${h.latch.issuer}/authorize?`));
  await page.click('#login');
  const q = new URL((await authorize).url()).searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('code_challenge_method'), 'S256'); // RFC 7636 §4.3
  assert.ok(q.get('state') && q.get('nonce'));
  await signInAtLatch(page);
  await page.locator('#signed-in').waitFor();
  assert.equal(page.url(), `${env.spaURL}/`, 'code and state gone from the address bar');
  const user = JSON.parse(await cli('user', 'show', DEMO.username));
  assert.equal(await page.locator('#sub').textContent(), user.id);
  assert.deepEqual(tokenRequests, ['authorization_code']);

  // Tokens in memory only: nothing in localStorage, no token in
  // sessionStorage (RFC 10017 §8.5; src/storage.ts).
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.doesNotMatch(stored, /eyJ|access_token|refresh_token/);

  let res = await callAPI(page);
  assert.equal(res.status, 200);
  assert.equal(res.body.sub, user.id);
  assert.equal(res.body.client_id, SPA_CLIENT);

  // Refresh with the refresh token (no iframe): Latch rotates it.
  const expires = await page.locator('#expires').textContent();
  await page.waitForTimeout(1100); // the new token's expiry is a later second
  const refreshed = page.waitForResponse((r) => r.url() === `${h.latch.issuer}/token` && r.request().postData()?.includes('grant_type=refresh_token'));
  await page.click('#refresh');
  assert.equal((await refreshed).status(), 200);
  await page.waitForFunction((old) => document.querySelector('#expires')?.textContent !== old, expires);
  assert.equal((await callAPI(page)).status, 200);
  assert.equal(await page.locator('#error').count(), 0);

  // A second tab: its own memory, so it signs in — through Latch's session,
  // without the password form — and gets its own grant; both work.
  const tab2 = await context.newPage();
  await tab2.goto(env.spaURL);
  await tab2.locator('#signed-out').waitFor();
  await tab2.click('#login');
  await tab2.locator('#signed-in').waitFor();
  assert.equal((await callAPI(tab2)).status, 200);
  assert.equal((await callAPI(page)).status, 200);

  // Sign out in the first tab: tokens revoked (RFC 7009), Latch's session
  // ended (RP-initiated logout), back here signed out.
  const revoked = page.waitForResponse((r) => r.url() === `${h.latch.issuer}/revoke` && r.request().method() === 'POST');
  await page.click('#logout');
  assert.equal((await revoked).status(), 200);
  await page.waitForURL(`${env.spaURL}/`);
  await page.locator('#signed-out').waitFor();
  // The other tab's refresh token died with Latch's session.
  await tab2.bringToFront();
  const refused = tab2.waitForResponse((r) => r.url() === `${h.latch.issuer}/token`);
  await tab2.click('#refresh');
  assert.equal((await refused).status(), 400);
  await tab2.locator('#error').filter({ hasText: 'invalid_grant' }).waitFor();
  // And it needs the password to sign in again.
  await tab2.reload();
  await tab2.locator('#signed-out').waitFor();
  await tab2.click('#login');
  await tab2.locator('#password').waitFor();
  assert.deepEqual(errors, [], 'no script errors, no CSP violations');
});

// Mix-up defence (RFC 9207): angular-oauth2-oidc does not check the iss of
// the authorization response, so the example does, before the library
// spends the code (src/app.ts).
ngTest('Angular SPA: an authorization response from another issuer is refused before any token request', async (t, { page }) => {
  const tokenRequests = [];
  page.on('request', (r) => { if (r.url().endsWith('/token')) tokenRequests.push(r.url()); });
  const q = new URLSearchParams({ code: 'A'.repeat(43), state: 'B'.repeat(43), iss: 'https://attacker.example' });
  await page.goto(`${env.spaURL}/?${q}`);
  await page.locator('#error').filter({ hasText: 'comes from https://attacker.example' }).waitFor();
  assert.equal(await page.locator('#signed-in').count(), 0);
  await page.waitForTimeout(500);
  assert.deepEqual(tokenRequests, []);
});

// CSRF against the redirect URI (RFC 10017 §6.3.2.2; login CSRF): a
// callback URL made elsewhere — its state was not issued in this tab —
// is refused by angular-oauth2-oidc's state/nonce check before the code
// is spent.
ngTest('Angular SPA: a callback whose state this tab did not issue is refused before any token request', async (t, { page }) => {
  const tokenRequests = [];
  page.on('request', (r) => { if (r.url().endsWith('/token')) tokenRequests.push(r.url()); });
  const q = new URLSearchParams({ code: 'A'.repeat(43), state: 'B'.repeat(43), iss: h.latch.issuer });
  await page.goto(`${env.spaURL}/?${q}`);
  await page.locator('#error').filter({ hasText: 'invalid_nonce_in_state' }).waitFor();
  assert.equal(await page.locator('#signed-in').count(), 0);
  await page.waitForTimeout(500);
  assert.deepEqual(tokenRequests, []);
});
