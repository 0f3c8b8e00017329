// panva's oidc-provider as a foreign upstream OpenID Provider for
// federation tests (adapted from bench/oidc-provider/server.js): one
// confidential client "latch" whose redirect URI is the Latch's
// /login/upstream/callback, PKCE required, RFC 9207 iss in every
// authorization response (oidc-provider's default), the development
// login form (any username; the password is not checked) and no consent
// screen for "latch".
//
//   node oidc-upstream.js --port 3200 --redirect-uri http://localhost:8080/login/upstream/callback
//
// It prints one line of JSON with the issuer and credentials once
// listening. Every account is <username>, email <username>@upstream.test,
// verified.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '3200' },
    'redirect-uri': { type: 'string' },
  },
});

const issuer = `http://127.0.0.1:${Number(args.port)}`;
const CLIENT_ID = 'latch';
const CLIENT_SECRET = randomBytes(32).toString('base64url');

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [args['redirect-uri']],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'upstream-es256' }] },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'email'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  // The ID token carries the claims (Latch reads no userinfo).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  loadExistingGrant: async (ctx) => {
    const { client, session, params } = ctx.oidc;
    const existing = session.grantIdFor(client.clientId);
    if (existing) {
      const g = await ctx.oidc.provider.Grant.find(existing);
      if (g) return g;
    }
    if (!session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(params.scope ?? 'openid');
    grant.addOIDCClaims(['preferred_username', 'name', 'email', 'email_verified']);
    await grant.save();
    return grant;
  },
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return { sub: id, name: `Upstream ${id}`, preferred_username: id, email: `${id}@upstream.test`, email_verified: true, amr: ['pwd'] };
    },
  }),
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.listen(Number(args.port), '127.0.0.1', () => {
  console.log(JSON.stringify({ issuer, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
