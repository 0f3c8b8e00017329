// The official MCP TypeScript client (@modelcontextprotocol/sdk) against
// the example MCP server (examples/mcp, the Go SDK behind verify) and
// `latch dev`. The client starts with nothing but the MCP server's URL:
// its first request gets 401 with resource_metadata (RFC 9728), it reads
// the protected resource metadata, then Latch's RFC 8414 metadata,
// identifies itself — (a) by a client ID metadata document this test
// serves over https with its own CA, (b) by dynamic registration
// (RFC 7591) — and runs code + PKCE with resource (RFC 8707). Chromium
// signs the demo user in and consents at the URL the SDK's provider was
// asked to open; the code goes to finishAuth. The client calls the tools,
// then its access token is made worthless and the SDK refreshes on the
// 401 and calls again.
//
// Latch fetches the document from 127.0.0.1 only because this test's
// binary is built with -tags latch_e2e (cmd/latch/e2ehooks_on.go: trust
// LATCH_E2E_CIMD_CA, allow LATCH_E2E_CIMD_ALLOW); the ordinary binary
// has no such switch.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { promisify } from 'node:util';

import { DEMO, freePort, goBuild, harness, spawnLogged, waitForHTTP } from './harness.js';

const SCOPE = 'mcp:tools';
const certDir = await mkdtemp(path.join(os.tmpdir(), 'latch-e2e-mcp-'));
const certFile = path.join(certDir, 'cert.pem');
const keyFile = path.join(certDir, 'key.pem');
// A self-signed certificate for 127.0.0.1: the document server's, and the
// one CA latch trusts for client metadata documents.
await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
const [mcpPort, docPort, callbackPort] = await Promise.all([freePort(), freePort(), freePort()]);
const mcpURL = `http://localhost:${mcpPort}/mcp`;
const docURL = `https://127.0.0.1:${docPort}/mcp-client.json`;
const redirectURL = `http://127.0.0.1:${callbackPort}/callback`;

const h = harness({
  tags: ['latch_e2e'],
  args: ['--registration', 'open', '--registration-resources', mcpURL],
  env: { LATCH_E2E_CIMD_CA: certFile, LATCH_E2E_CIMD_ALLOW: '127.0.0.1/32' },
});

let mcpServer = null;
let docServer = null;
let documentFetches = 0;
let started = null;
// Starts the MCP server and the document server once, after latch (the
// harness's before hook) is up.
function startServers() {
  started ??= startServersOnce();
  return started;
}
async function startServersOnce() {
  const bin = await goBuild('./examples/mcp/cmd/mcp', certDir);
  mcpServer = spawnLogged(bin, ['--issuer', h.latch.issuer, '--resource', mcpURL, '--addr', `localhost:${mcpPort}`], { name: 'example MCP server' });
  await waitForHTTP(mcpURL, { child: mcpServer, want: 401 });
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  docServer = https.createServer({ cert, key }, (req, res) => {
    if (req.url !== '/mcp-client.json') {
      res.writeHead(404).end();
      return;
    }
    documentFetches++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({
      client_id: docURL, client_name: 'Latch e2e MCP client', redirect_uris: [redirectURL],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'none', scope: SCOPE,
    }));
  });
  await new Promise((resolve) => docServer.listen(docPort, '127.0.0.1', resolve));
}
after(async () => {
  await mcpServer?.stop();
  await new Promise((resolve) => (docServer ? docServer.close(resolve) : resolve()));
  await rm(certDir, { recursive: true, force: true });
});

// An OAuthClientProvider (the SDK's interface) kept in memory.
class MemoryProvider {
  constructor(clientMetadataUrl) {
    this.clientMetadataUrl = clientMetadataUrl; // undefined: dynamic registration
    this.client = undefined;
    this.saved = []; // every token response, in order
    this.authorizationURL = null;
  }
  get redirectUrl() { return redirectURL; }
  get clientMetadata() {
    return {
      client_name: 'Latch e2e MCP client', redirect_uris: [redirectURL], grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved.at(-1); }
  saveTokens(tokens) { this.saved.push(tokens); }
  redirectToAuthorization(url) { this.authorizationURL = url; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
}

// A fetch that records what the SDK sent and got: the grant types posted
// to Latch's token endpoint and the MCP server's challenges.
function recordingFetch() {
  const rec = { grants: [], challenges: [] };
  rec.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url === `${h.latch.issuer}/token`) rec.grants.push(new URLSearchParams(String(init?.body ?? '')).get('grant_type'));
    const res = await fetch(input, init);
    if (url === mcpURL && res.status === 401) rec.challenges.push(res.headers.get('www-authenticate'));
    return res;
  };
  return rec;
}

// The user's part: open the authorization URL, sign in as the demo user,
// allow, and return the code from the redirect to the client.
async function signInAndConsent(page, authorizationURL) {
  let callback = null;
  await page.route(`${redirectURL}**`, (route) => {
    callback = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
  });
  await page.goto(authorizationURL.href);
  await page.locator('input[name="username"]').fill(DEMO.username);
  await page.locator('input[name="password"]').fill(DEMO.password);
  await page.locator('button[type="submit"]').click();
  // A self-registered client is third-party: the consent page, always.
  await page.locator('button[name=decision][value=allow]').click();
  await page.waitForURL(`${redirectURL}**`);
  assert.ok(callback, 'the browser was not sent back to the client');
  assert.equal(callback.searchParams.get('iss'), h.latch.issuer, 'RFC 9207 iss in the authorization response');
  return callback.searchParams.get('code');
}

// Connects a fresh client with provider (sign-in included) and returns it.
async function connect(page, provider, rec) {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const { UnauthorizedError } = await import('@modelcontextprotocol/sdk/client/auth.js');
  const first = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider, fetch: rec.fetch });
  await assert.rejects(new Client({ name: 'latch-e2e', version: '1.0.0' }).connect(first), UnauthorizedError);
  assert.ok(provider.authorizationURL, 'the SDK asked for no authorization');
  await first.finishAuth(await signInAndConsent(page, provider.authorizationURL));
  const client = new Client({ name: 'latch-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider, fetch: rec.fetch }));
  return client;
}

async function whoami(client) {
  const res = await client.callTool({ name: 'whoami', arguments: {} });
  assert.ok(!res.isError, `whoami failed: ${JSON.stringify(res)}`);
  return res.structuredContent;
}

// The whole journey for one way of registering.
async function journey(page, provider, wantClientID) {
  await startServers();
  const rec = recordingFetch();
  const client = await connect(page, provider, rec);
  try {
    // Discovery began with the server's challenge (RFC 9728 §5.1).
    assert.match(rec.challenges[0] ?? '', /resource_metadata="http:\/\/localhost:\d+\/\.well-known\/oauth-protected-resource\/mcp"/);
    assert.match(rec.challenges[0], /scope="mcp:tools"/);
    const q = provider.authorizationURL.searchParams;
    assert.equal(q.get('resource'), mcpURL, 'RFC 8707 resource');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.ok(q.get('scope').split(' ').includes(SCOPE), `scope ${q.get('scope')}`);
    const clientID = wantClientID ?? provider.client.client_id;
    assert.equal(q.get('client_id'), clientID);

    const who = await whoami(client);
    assert.ok(who.sub, 'whoami has no sub');
    assert.equal(who.client_id, clientID);
    assert.deepEqual(who.aud, [mcpURL]);
    assert.ok(who.scopes.includes(SCOPE));
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hello from node' } });
    assert.deepEqual(echo.structuredContent, { text: 'hello from node' });
    assert.deepEqual(rec.grants, ['authorization_code']);

    // The access token stops working (as when it expires): the server's
    // 401 makes the SDK redeem its refresh token, and the call succeeds.
    const before = provider.tokens();
    assert.ok(before.refresh_token, 'no refresh token was issued');
    provider.saved.push({ ...before, access_token: 'expired-access-token' });
    assert.equal((await whoami(client)).client_id, clientID);
    assert.deepEqual(rec.grants, ['authorization_code', 'refresh_token']);
    const after = provider.tokens();
    assert.notEqual(after.access_token, before.access_token);
    assert.notEqual(after.refresh_token, before.refresh_token, 'a public client\'s refresh token rotates');
  } finally {
    await client.close();
  }
}

h.test('MCP client signs in through a client ID metadata document (https, test CA) and refreshes', async (t, { page }) => {
  await journey(page, new MemoryProvider(docURL), docURL);
  assert.ok(documentFetches >= 1, 'latch never fetched the client metadata document');
});

h.test('MCP client registers dynamically (RFC 7591) and refreshes', async (t, { page }) => {
  const provider = new MemoryProvider(undefined);
  await journey(page, provider, undefined);
  assert.ok(provider.client?.client_id && !provider.client.client_id.startsWith('https://'), 'no registered client_id');
});
