// Browser test of second factors (issue 15): a user turns on an
// authenticator app on Latch's account page (the QR code and the key as
// text), signs out, then signs in to the example SPA with the password and
// a TOTP code, and opens the example API's vault, which needs a second
// factor (RFC 9470 step-up). Codes are computed here with a small RFC 6238
// implementation on node:crypto.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { DEMO, harness, repoRoot } from './harness.js';

const h = harness();

// base32 (RFC 4648 §6, no padding) → bytes.
function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps) of step, by RFC 4226 §5.3.
function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(bin).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30_000);

// enrol turns on an authenticator app on the account page open in page
// (signed in); returns its key and the step its confirmation spent.
async function enrol(page) {
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const key = base32(await page.locator('#totp-secret').innerText());
  const step = stepNow();
  await page.locator('input[name="code"]').fill(totp(key, step));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  return { key, step };
}

h.test('turns on TOTP on the account page, then signs in to the SPA with password and code', async (t, { page }) => {
  // The account page asks to sign in first, then shows the account.
  await page.goto(`${h.latch.issuer}/account`);
  await page.locator('input[name="username"]').fill(DEMO.username);
  await page.locator('input[name="password"]').fill(DEMO.password);
  await page.locator('button[type="submit"]').click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();

  // Enrolment: a QR code (an inline PNG: the strict CSP allows img-src data:) and the key.
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const qr = page.locator('img.qr');
  assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/);
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code must render under the CSP');
  const key = base32(await page.locator('#totp-secret').innerText());
  const enrolStep = stepNow();
  await page.locator('input[name="code"]').fill(totp(key, enrolStep));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  assert.equal(await page.locator('ul.codes li').count(), 10);

  // Sign out of Latch.
  await page.goto(`${h.latch.issuer}/account`);
  await page.getByRole('link', { name: 'Sign out' }).click();
  await page.locator('button[name="decision"][value="logout"]').click();
  await page.goto(`${h.latch.issuer}/account`);
  await page.locator('input[name="password"]').waitFor(); // signed out: the login page again

  // Sign in to the SPA: the password, then the authenticator's code.
  await page.goto(h.latch.spaURL);
  await page.locator('body[data-state="signed-out"]').waitFor();
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.locator('input[name="username"]').fill(DEMO.username);
  await page.locator('input[name="password"]').fill(DEMO.password);
  await page.locator('button[type="submit"]').click();
  const code = page.locator('input[name="code"]');
  await code.waitFor();
  // The enrolment spent its step; a reused code is refused.
  await code.fill(totp(key, enrolStep));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').filter({ hasText: 'not right, or was used already' }).waitFor();
  // The next step's code (one step of drift is accepted) signs in.
  await page.locator('input[name="code"]').fill(totp(key, Math.max(stepNow(), enrolStep) + 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('body[data-state="signed-in"]').waitFor();
  const claims = await page.evaluate(() => document.getElementById('profile').innerText);
  assert.match(claims, /demo@example\.com/);

  // The vault needs a second factor (RFC 9470): this sign-in has one.
  await page.locator('#call-vault').click();
  await page.getByTestId('vault').filter({ hasText: 'The vault opened' }).waitFor();
  assert.equal(await page.getByTestId('error').isHidden(), true);
});

// RFC 9470 in the browser: signed in to the SPA with the password only,
// the user adds an authenticator app in another tab; the vault answers
// the SPA's token with insufficient_user_authentication, the SPA asks
// Latch again with the challenge's acr_values, Latch asks for the code
// only (no password), and the SPA retries the vault with the new token.
h.test('the SPA steps up when the API asks for a second factor', async (t, { context, page }) => {
  const db = `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`;
  await new Promise((resolve, reject) => {
    const p = execFile(h.latch.bin, ['user', 'create', '--username', 'carol', '--password-stdin', '--email', 'carol@example.com', '--db', db],
      { cwd: repoRoot }, (err) => (err ? reject(err) : resolve()));
    p.stdin.end('carol-password\n');
  });
  await page.goto(h.latch.spaURL);
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.locator('input[name="username"]').fill('carol');
  await page.locator('input[name="password"]').fill('carol-password');
  await page.locator('button[type="submit"]').click();
  await page.locator('body[data-state="signed-in"]').waitFor();

  const account = await context.newPage();
  await account.goto(`${h.latch.issuer}/account`);
  const { key, step } = await enrol(account);
  await account.close();

  const challenges = [];
  page.on('response', (res) => {
    if (res.url().endsWith('/api/vault') && res.status() === 401) challenges.push(res.headers()['www-authenticate']);
  });
  await page.locator('#call-vault').click();
  const code = page.locator('input[name="code"]');
  await code.waitFor(); // Latch asks for the second factor only
  assert.match(challenges[0] || '', /error="insufficient_user_authentication".*acr_values="urn:latch:acr:mfa/);
  assert.match(page.url(), /acr_values=urn%3Alatch%3Aacr%3Amfa/);
  assert.equal(await page.locator('input[name="password"]').count(), 0);
  await code.fill(totp(key, Math.max(stepNow(), step) + 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('vault').filter({ hasText: 'The vault opened' }).waitFor();
  assert.equal(challenges.length, 1, 'the vault answered the stepped-up token');
});
