// Browser test of the example SPA's "why was I signed out" (docs/tokens.md,
// "Why a refresh token stopped working"): when Latch refuses the refresh
// token, the signed-out card names the reason code from the stable
// " (reason: CODE)" suffix of error_description.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEMO, harness } from './harness.js';

const h = harness();

h.test('after an admin sets the password with --logout, a refresh signs out and says why', async (t, { page }) => {
  await page.goto(h.latch.spaURL);
  await page.locator('body[data-state="signed-out"]').waitFor();
  assert.equal(await page.getByTestId('signed-out-reason').isHidden(), true, 'no reason before any sign-out');
  await page.locator('#sign-in').click();
  await page.waitForURL(`${h.latch.issuer}/**`);
  await page.locator('input[name="username"]').fill(DEMO.username);
  await page.locator('input[name="password"]').fill(DEMO.password);
  await page.locator('button[type="submit"]').click();
  await page.locator('body[data-state="signed-in"]').waitFor();

  // The administrator's road: the CLI against the database, as an operator would.
  const latch = h.latch.bin ?? path.join(h.latch.dir, 'latch');
  const child = promisify(execFile)(latch, ['user', 'set-password', DEMO.username, '--password-stdin', '--logout',
    '--db', `sqlite:${path.join(h.latch.dir, 'data', 'latch.db')}`]);
  child.child.stdin.end('a brand new password for demo\n');
  await child;

  await page.locator('#refresh').click();
  await page.locator('body[data-state="signed-out"]').waitFor();
  const notice = page.getByTestId('signed-out-reason');
  await notice.waitFor();
  assert.equal(await notice.getAttribute('data-reason'), 'password_changed');
  assert.match(await notice.innerText(), /password was changed/);
  await page.getByTestId('log').filter({ hasText: '(reason: password_changed)' }).waitFor();
});
