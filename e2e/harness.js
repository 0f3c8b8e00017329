// Harness of Latch's browser tests. It builds `latch dev` and the example
// API from this checkout, starts them on free ports with a throw-away
// SQLite database (`latch dev` serves the example SPA; the API is its own
// process, as in scripts/demo), drives Debian's chromium through
// playwright-core, and tears everything down.
//
// Use it from a *.test.js file:
//
//   import { harness } from './harness.js';
//   const h = harness();                       // registers before/after hooks
//   h.test('signs in', async (t, { page }) => { await page.goto(h.latch.spaURL); ... });
//
// Each h.test gets a fresh browser context (no cookies, no storage) and a
// page in it. Without chromium at /usr/bin/chromium (or $CHROMIUM_PATH),
// or without the npm dependencies, every test is skipped with a one-line
// reason, except under CI (env CI set), where that is a failure: CI must
// run them. $LATCH_BIN runs a prebuilt latch instead of building one.

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const artifactsDir = path.join(repoRoot, 'e2e', 'artifacts');
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const DEMO = { username: 'demo', password: 'demo-password' }; // see cmd/latch/dev.go

const SKIP_REASON = 'chromium not installed: apt-get install chromium';
const NO_DEPS_REASON = 'npm dependencies not installed: cd e2e && npm ci';

/** A free TCP port on 127.0.0.1 (closed again, so free unless raced). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** go build pkg (relative to the repository root) into dir, with build tags if any; returns the binary's path. */
export async function goBuild(pkg, dir, tags = []) {
  const out = path.join(dir, path.basename(pkg));
  const tagArgs = tags.length ? ['-tags', tags.join(',')] : [];
  try {
    await promisify(execFile)('go', ['build', ...tagArgs, '-o', out, pkg], { cwd: repoRoot, maxBuffer: 16 << 20 });
  } catch (err) {
    throw new Error(`go build ${pkg} failed:\n${err.stderr || err.message}`);
  }
  return out;
}

/**
 * Starts a process and keeps the tail of its output for diagnostics.
 * stop() sends SIGTERM, waits for the exit (SIGKILL after 15 s).
 */
export function spawnLogged(bin, args, { env = {}, name = path.basename(bin) } = {}) {
  const proc = spawn(bin, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const keep = (chunk) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 400));
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    name,
    exited,
    output: (n = 60) => lines.slice(-n).join('\n'),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const res = await exited;
      clearTimeout(timer);
      return res;
    },
  };
}

/** Polls url until it answers 200 (or the status `want`), the process exits, or the deadline passes. */
export async function waitForHTTP(url, { child, timeout = 60_000, want = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last = '';
  let exited = false;
  child?.exited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before ${url} answered:\n${child.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === want) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeout} ms (${last})${child ? ':\n' + child.output() : ''}`);
}

/**
 * Builds and starts `latch dev` with the example SPA, and the example API
 * as its own process, all on free localhost ports, with a fresh database
 * in a temporary directory.
 * Returns { issuer, spaURL, apiURL, dir, bin, output(), stop() }; the
 * database is sqlite:DIR/data/latch.db (for `latch client create` etc.).
 * tags: Go build tags for the latch binary (e.g. ['latch_e2e']).
 */
export async function startLatch({ args = [], env = {}, tags = [] } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latch-e2e-'));
  // $LATCH_BIN: a prebuilt latch binary, instead of building this checkout
  // (not for tests that need build tags, e.g. latch_e2e's test-only hooks).
  const [bin, apiBin] = await Promise.all([
    (!tags.length && process.env.LATCH_BIN) || goBuild('./cmd/latch', dir, tags),
    goBuild('./examples/api/cmd/api', dir),
  ]);
  const [port, spaPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const issuer = `http://localhost:${port}`;
  const spaURL = `http://localhost:${spaPort}`;
  const apiURL = `http://localhost:${apiPort}`;
  const child = spawnLogged(bin, [
    'dev',
    '--db', `sqlite:${path.join(dir, 'data', 'latch.db')}`,
    '--addr', `localhost:${port}`, '--issuer', issuer,
    '--admin-addr=', // no admin listener: nothing here uses it, and its default port may be taken
    '--spa-addr', `localhost:${spaPort}`, '--api-url', apiURL,
    '--bff-addr', 'localhost:0', // the example BFF (tests start their own): any free port, never a fixed one
    ...args,
  ], { env, name: 'latch dev' });
  let api = null;
  const latch = {
    issuer, spaURL, apiURL, dir, bin, bin, // bin: the latch binary (for CLI calls against dir's database)
    output: (n) => child.output(n) + (api ? '\n[example API]\n' + api.output(10) : ''),
    async stop() {
      await api?.stop();
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForHTTP(`${issuer}/.well-known/openid-configuration`, { child });
    await waitForHTTP(`${spaURL}/config.js`, { child }); // the SPA starts once Latch listens
    api = spawnLogged(apiBin, [
      '--issuer', issuer, '--audience', apiURL, '--addr', `localhost:${apiPort}`, '--origin', spaURL,
    ], { name: 'example API' });
    await waitForHTTP(`${apiURL}/api/messages`, { child: api, want: 401 }); // no token: 401
  } catch (err) {
    await latch.stop();
    throw err;
  }
  return latch;
}

/** Launches Debian's chromium, headless. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
}

/**
 * Registers before/after hooks that start Latch and chromium once for the
 * test file, and returns { latch, browser, test }. Options: startLatch's.
 */
export function harness(opts = {}) {
  const h = { latch: null, browser: null, skipReason: null };
  before(async () => {
    const deps = await import('playwright-core').then(() => true, () => false);
    for (const [missing, reason] of [[!deps, NO_DEPS_REASON], [!existsSync(chromiumPath), SKIP_REASON]]) {
      if (!missing) continue;
      if (process.env.CI) throw new Error(`${reason} (CI must run the browser tests)`);
      h.skipReason = reason;
      return;
    }
    h.latch = await startLatch(opts);
    h.browser = await launchBrowser();
  });
  after(async () => {
    await h.browser?.close();
    await h.latch?.stop();
  });

  // test(name, fn): fn(t, { context, page }) with a fresh context. On
  // failure, a screenshot goes to e2e/artifacts/ and Latch's last log
  // lines into the test's diagnostics.
  h.test = (name, fn, { timeout = 120_000 } = {}) => test(name, { timeout }, async (t) => {
    if (h.skipReason) return t.skip(h.skipReason);
    const context = await h.browser.newContext();
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    try {
      await fn(t, { context, page });
    } catch (err) {
      await mkdir(artifactsDir, { recursive: true });
      const shot = path.join(artifactsDir, name.replace(/[^a-z0-9]+/gi, '-') + '.png');
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      t.diagnostic(`screenshot: ${shot}`);
      for (const p of context.pages()) {
        const log = await p.getByTestId('log').innerText({ timeout: 1000 }).catch(() => '');
        t.diagnostic(`page ${p.url()}${log ? ': log: ' + log.split('\n').slice(0, 8).join(' | ') : ''}`);
      }
      t.diagnostic(`latch dev output: ${h.latch.output(15).split('\n').join(' | ')}`);
      throw err;
    } finally {
      await context.close();
    }
  });
  return h;
}
