// Browser test of passkeys (issue 15): Chromium's virtual authenticator
// (CDP WebAuthn domain, through playwright-core) stands in for a
// platform authenticator with user verification. A passkey registered on
// Latch's account page signs in to the example SPA; a passkey-only
// account created with `latch user create --passkey-only` registers its
// passkey on the printed link and signs in; a replayed assertion and an
// assertion made for another relying-party ID are refused.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { DEMO, harness, repoRoot } from './harness.js';

const h = harness();

// authenticator adds a virtual CTAP2 platform authenticator with
// resident keys and user verification to page; returns the CDP session
// and its id.
async function authenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function signInWithPassword(page, username, password) {
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('button[type="submit"]').click();
}

async function addPasskey(page, name) {
  await page.locator('#passkey-name').fill(name);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('status').filter({ hasText: 'Your passkey was added.' }).waitFor();
}

async function signOut(page) {
  await page.goto(`${h.latch.issuer}/account`);
  await page.getByRole('link', { name: 'Sign out' }).click();
  await page.locator('button[name="decision"][value="logout"]').click();
}

// captureAssertions records the form bodies posted to /login/passkey.
function captureAssertions(page) {
  const posts = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && req.url().endsWith('/login/passkey')) {
      posts.push(Object.fromEntries(new URLSearchParams(req.postData())));
    }
  });
  return posts;
}

// loginPage fetches the login page without running its script (whose
// conditional UI would answer at once with the virtual authenticator),
// for its sealed interaction and passkey options; the browser context
// keeps the page's CSRF cookie.
async function loginPage(page) {
  const html = await (await page.request.get(`${h.latch.issuer}/account`)).text();
  const unescape = (s) => s.replace(/&#34;/g, '"').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const form = html.match(/<form[^>]*data-passkey-login="([^"]*)"[^>]*>\s*<input type="hidden" name="interaction" value="([^"]*)">/);
  assert.ok(form, 'the login page offers a passkey');
  return { options: JSON.parse(unescape(form[1])), interaction: form[2] };
}

function run(args) {
  return new Promise((resolve, reject) => {
    // The issuer comes from the environment, as for latch dev (a link is an address on it).
    execFile(h.latch.bin, args, { cwd: repoRoot, env: { ...process.env, LATCH_ISSUER: h.latch.issuer } }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

h.test('registers a passkey on the account page and signs in to the SPA with it; a replayed assertion is refused', async (t, { page }) => {
  const { cdp, authenticatorId } = await authenticator(page);
  await page.goto(`${h.latch.issuer}/account`);
  await signInWithPassword(page, DEMO.username, DEMO.password);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  await addPasskey(page, 'Laptop');
  const item = page.locator('li.passkey');
  assert.equal(await item.count(), 1);
  assert.match(await item.innerText(), /Laptop/);
  assert.match(await item.innerText(), /not used yet/);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].rpId, 'localhost');
  assert.equal(credentials[0].isResidentCredential, true);

  await signOut(page);

  // The SPA: Latch's login page offers the passkey in the username
  // field's autofill (conditional UI), which Chromium's virtual
  // authenticator answers at once: the sign-in needs no typing.
  const posts = captureAssertions(page);
  await page.goto(h.latch.spaURL);
  await page.locator('body[data-state="signed-out"]').waitFor();
  await page.locator('#sign-in').click();
  await page.locator('body[data-state="signed-in"]').waitFor();
  assert.match(await page.getByTestId('profile').innerText(), /demo@example\.com/);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].password, undefined);

  // The account page shows when it was last used.
  await page.goto(`${h.latch.issuer}/account`);
  assert.match(await page.locator('li.passkey').innerText(), /last used \d{4}-\d\d-\d\d/);

  // Replay 1: the captured form again (same interaction, same challenge).
  const again = await page.request.post(`${h.latch.issuer}/login/passkey`, { form: posts[0], maxRedirects: 0 });
  assert.equal(again.status(), 400);
  assert.match(await again.text(), /already submitted/);

  // Replay 2: the captured assertion with a fresh login page's
  // interaction (another challenge) is refused too.
  await signOut(page);
  const fresh = await loginPage(page);
  const replay = await page.request.post(`${h.latch.issuer}/login/passkey`, {
    form: { interaction: fresh.interaction, credential: posts[0].credential }, maxRedirects: 0,
  });
  assert.equal(replay.status(), 401);
  assert.match(await replay.text(), /could not be verified/);
});

h.test('an assertion made for another relying-party ID is refused', async (t, { page }) => {
  const { cdp, authenticatorId } = await authenticator(page);
  await page.goto(`${h.latch.issuer}/account`);
  await signInWithPassword(page, DEMO.username, DEMO.password);
  await addPasskey(page, 'Phone');
  await signOut(page);

  // The phishing site: the same key, registered under the RP ID
  // evil.localhost (a copy of the real credential, so its signature
  // verifies with the public key Latch holds: only the RP ID and origin
  // differ).
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const real = credentials.at(-1);
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: real.credentialId });
  await cdp.send('WebAuthn.addCredential', {
    authenticatorId,
    credential: {
      credentialId: real.credentialId, isResidentCredential: true, rpId: 'evil.localhost',
      privateKey: real.privateKey, userHandle: real.userHandle, signCount: real.signCount + 10,
    },
  });

  // Latch's login page hands out a challenge; the evil page asks the
  // authenticator to sign it for its own RP ID.
  const { interaction, options } = await loginPage(page);
  const port = new URL(h.latch.issuer).port;
  await page.goto(`http://evil.localhost:${port}/static/latch.css`);
  const credential = await page.evaluate(async (challenge) => {
    const decode = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const pad = (s) => s + '==='.slice((s.length + 3) % 4);
    const c = await navigator.credentials.get({
      publicKey: { challenge: decode(pad(challenge)), rpId: 'evil.localhost', userVerification: 'required' },
    });
    return JSON.stringify(c.toJSON());
  }, options.challenge);
  assert.match(credential, /"userHandle"/);

  const res = await page.request.post(`${h.latch.issuer}/login/passkey`, { form: { interaction, credential }, maxRedirects: 0 });
  assert.equal(res.status(), 401);
  assert.match(await res.text(), /could not be verified/);
  assert.equal((await page.context().cookies(h.latch.issuer)).some((c) => c.name.includes('session')), false, 'no session');
});

h.test('a passkey-only account created with latch user create --passkey-only signs in to the SPA', async (t, { page }) => {
  await authenticator(page);
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  const out = await run(['user', 'create', '--username', 'pat', '--passkey-only', '--email', 'pat@example.com', '--db', db]);
  const link = out.match(/(http\S+\/account\/reset\?\S+)/)[1];

  await page.goto(link);
  await page.getByRole('heading', { name: 'Create your passkey' }).waitFor();
  await page.locator('#passkey-name').fill('Pat’s laptop');
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.getByRole('status').filter({ hasText: 'Your passkey is set.' }).waitFor();

  // The link is spent.
  await page.goto(link);
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();

  // Sign in to the SPA with the "Sign in with a passkey" button: this
  // browser pretends to have no conditional UI (autofill), so the button
  // is the way in.
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  await page.goto(h.latch.spaURL);
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.locator('body[data-state="signed-in"]').waitFor();
  assert.match(await page.getByTestId('profile').innerText(), /pat@example\.com/);

  const list = JSON.parse(await run(['user', 'passkeys', 'list', 'pat', '--json', '--db', db]));
  assert.equal(list.length, 1);
  assert.equal(list[0].name, 'Pat’s laptop');
  assert.ok(list[0].sign_count > 0);
});
