// Sign in to the example SPA through an upstream OpenID Provider: panva's
// oidc-provider (a foreign implementation, e2e/oidc-upstream.js) added to
// `latch dev` with one `latch idp add` command. A real Latch, a real
// oidc-provider, headless chromium.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';
import { freePort, harness, spawnLogged, waitForHTTP } from './harness.js';

const h = harness();
let upstream = null;
let up = null; // { issuer, client_id, client_secret }

// startUpstream starts oidc-provider and adds it to Latch, once, on first
// use (the harness's before hook has started Latch by then).
let started;
const startUpstream = () => (started ??= (async () => {
  const port = await freePort();
  upstream = spawnLogged(process.execPath, [
    path.join('e2e', 'oidc-upstream.js'), '--port', String(port),
    '--redirect-uri', `${h.latch.issuer}/login/upstream/callback`,
  ], { name: 'oidc-provider' });
  await waitForHTTP(`http://127.0.0.1:${port}/.well-known/openid-configuration`, { child: upstream });
  up = JSON.parse(upstream.output(50).split('\n').find((l) => l.startsWith('{"issuer"')));

  // The operator's one command (the secret on standard input).
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  await new Promise((resolve, reject) => {
    const child = execFile(h.latch.bin, [
      'idp', 'add', 'panva', '--db', db, '--issuer', up.issuer, '--client-id', up.client_id,
      '--client-secret-stdin', '--link', 'jit', '--display-name', 'Panva OIDC',
    ], (err, stdout, stderr) => (err ? reject(new Error(`latch idp add: ${stderr}`)) : resolve(stdout)));
    child.stdin.end(`${up.client_secret}\n`);
  });
})());

after(async () => { await upstream?.stop(); });

const waitState = (page, s) => page.locator(`body[data-state="${s}"]`).waitFor();

h.test('signs in to the SPA through oidc-provider ("Sign in with Panva OIDC")', async (t, { page }) => {
  await startUpstream();
  await page.goto(h.latch.spaURL);
  await waitState(page, 'signed-out');
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.getByRole('link', { name: 'Sign in with Panva OIDC' }).click();

  // oidc-provider's development login form.
  await page.waitForURL(`${up.issuer}/**`);
  await page.locator('input[name="login"]').fill('carol');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();

  await waitState(page, 'signed-in');
  assert.equal(page.url(), `${h.latch.spaURL}/`);
  const profile = await page.getByTestId('profile').innerText();
  assert.match(profile, /carol@upstream\.test/, 'the user was created from the upstream\'s claims');
  await page.getByTestId('name').filter({ hasText: 'Upstream carol' }).waitFor();
});

h.test('a tampered state on the way back from the upstream ends on Latch\'s error page', async (t, { page }) => {
  await startUpstream();
  await page.goto(h.latch.spaURL);
  await waitState(page, 'signed-out');
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  // Rewrite the upstream's redirect back to Latch: another state.
  await page.route(`${up.issuer}/**`, async (route) => {
    // The login form's answer redirects within oidc-provider first (the
    // browser would not let the route see that hop): follow those here.
    let res = await route.fetch({ maxRedirects: 0 });
    let loc = res.headers().location || '';
    for (let hops = 0; loc && new URL(loc, up.issuer).origin === up.issuer && hops < 5; hops++) {
      res = await page.context().request.get(new URL(loc, up.issuer).toString(), { maxRedirects: 0 });
      loc = res.headers().location || '';
    }
    if (!loc.startsWith(`${h.latch.issuer}/login/upstream/callback`)) return route.fulfill({ response: res });
    const u = new URL(loc);
    u.searchParams.set('state', 'forged');
    return route.fulfill({ response: res, headers: { ...res.headers(), location: u.toString() } });
  });
  await page.getByRole('link', { name: 'Sign in with Panva OIDC' }).click();
  await page.waitForURL(`${up.issuer}/**`);
  await page.locator('input[name="login"]').fill('carol');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(`${h.latch.issuer}/login/upstream/callback**`);
  await page.getByText('started in another browser').waitFor();
  await page.getByText('Request ID').waitFor();
});
