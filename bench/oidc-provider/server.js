// panva's oidc-provider set up for `latch-bench --target` workloads W1–W4,
// as close as it allows to what `latch-bench --spawn` seeds into Latch:
//
//   - a confidential client (client_secret_basic) for client_credentials
//     (W1) that may also introspect (W4);
//   - a public, first-party client for the Authorization Code flow with
//     PKCE S256 (W2) that gets rotating refresh tokens (W3) — first-party
//     meaning no consent screen, as Latch's FirstParty clients;
//   - one user, who signs in through oidc-provider's development login form
//     (devInteractions; it accepts any password, which is fine here: W2 signs
//     in once per worker and then reuses the SSO session);
//   - the same signing algorithm for ID tokens as Latch (--alg);
//   - an in-memory adapter: a Map with expiry, unbounded (the package's
//     default memory adapter is an LRU of 1000 entries, which would evict
//     live sessions and tokens under load).
//
// Access tokens stay oidc-provider's default opaque format (Latch issues
// JWTs): each provider is measured in its normal configuration.
//
//   node server.js --port 3100 [--alg ES256|RS256|EdDSA]
//
// It prints one line of JSON with the issuer and credentials once listening.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '3100' },
    host: { type: 'string', default: '127.0.0.1' },
    alg: { type: 'string', default: 'ES256' },
  },
});

const port = Number(args.port);
const issuer = `http://${args.host}:${port}`;

const CLIENT_ID = 'bench-service';
const CLIENT_SECRET = randomBytes(32).toString('base64url');
const PUBLIC_CLIENT_ID = 'bench-spa';
const REDIRECT_URI = 'https://app.bench.test/callback';
const USERNAME = 'bench';
const PASSWORD = randomBytes(16).toString('base64url');
const AUDIENCE = 'https://api.bench.test';

// signingKey returns a private JWK for alg.
function signingKey(alg) {
  let pair;
  switch (alg) {
    case 'ES256': pair = generateKeyPairSync('ec', { namedCurve: 'P-256' }); break;
    case 'RS256': pair = generateKeyPairSync('rsa', { modulusLength: 2048 }); break;
    case 'EdDSA': pair = generateKeyPairSync('ed25519'); break;
    default: throw new Error(`unsupported --alg ${alg}`);
  }
  return { ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `bench-${alg}` };
}

// MapAdapter is an in-memory adapter (oidc-provider's adapter interface)
// over one Map shared by every model, with expiry.
const storage = new Map();
const now = () => Math.floor(Date.now() / 1000);
function expired(entry) { return entry.exp !== undefined && entry.exp <= now(); }
function get(key) {
  const e = storage.get(key);
  if (!e) return undefined;
  if (expired(e)) { storage.delete(key); return undefined; }
  return e.value;
}
setInterval(() => {
  for (const [k, e] of storage) if (expired(e)) storage.delete(k);
}, 10_000).unref();

class MapAdapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const exp = typeof expiresIn === 'number' ? now() + expiresIn : undefined;
    storage.set(this.key(id), { value: payload, exp });
    if (this.name === 'Session') storage.set(`sessionUid:${payload.uid}`, { value: id, exp });
    if (payload.grantId) {
      const gk = `grant:${payload.grantId}`;
      const members = get(gk) ?? [];
      members.push(this.key(id));
      storage.set(gk, { value: members, exp });
    }
    if (payload.userCode) storage.set(`userCode:${payload.userCode}`, { value: id, exp });
  }

  async find(id) { return get(this.key(id)); }

  async findByUid(uid) {
    const id = get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const v = get(this.key(id));
    if (v) v.consumed = now();
  }

  async destroy(id) { storage.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const gk = `grant:${grantId}`;
    for (const k of get(gk) ?? []) storage.delete(k);
    storage.delete(gk);
  }
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read',
      id_token_signed_response_alg: args.alg,
    },
    {
      client_id: PUBLIC_CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      id_token_signed_response_alg: args.alg,
    },
  ],
  jwks: { keys: [signingKey(args.alg)] },
  enabledJWA: { idTokenSigningAlgValues: [args.alg] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
  },
  // Latch gives public clients registered for refresh_token a refresh
  // token on every code exchange, and rotates it on every use.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  // First-party: the public client never sees a consent screen (Latch's
  // FirstParty). The grant covers whatever the request asked for.
  loadExistingGrant: async (ctx) => {
    const { client, session, params } = ctx.oidc;
    const existing = session.grantIdFor(client.clientId);
    if (existing) {
      const g = await ctx.oidc.provider.Grant.find(existing);
      if (g) return g;
    }
    if (client.clientId !== PUBLIC_CLIENT_ID || !session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(params.scope ?? 'openid');
    await grant.save();
    return grant;
  },
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return { sub: id, name: 'Bench User', preferred_username: id, email: `${id}@bench.test`, email_verified: true };
    },
  }),
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 600,
    Grant: 7 * 24 * 3600,
    Interaction: 600,
    RefreshToken: 7 * 24 * 3600,
    Session: 24 * 3600,
  },
  // No resource indicators: client_credentials tokens are opaque.
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.keepAliveTimeout = 120_000;
server.listen(port, args.host, () => {
  console.log(JSON.stringify({
    issuer,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    public_client_id: PUBLIC_CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    username: USERNAME,
    password: PASSWORD,
    audience: AUDIENCE,
  }));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
