// Configuration of the demo SPA: the one file to edit when serving
// examples/spa yourself. `latch dev` does not read it: it serves a
// generated config.js with the same keys, pointing at the running issuer.
//
// This one works with any static file server serving this directory at the
// root of http://localhost:3000, e.g. `python3 -m http.server 3000 -d
// examples/spa`, against `latch dev --examples=false` on :8080 (which
// registers demo-spa with both <spa>/callback and <spa>/ as redirect URIs,
// and the origin) and the example API on :3001 (see docs/spa.md). A static
// server has no /callback page, hence redirectUri: the app's root, where
// the app handles the response (index.html answers it).
// For your own Latch, register a public client with this redirectUri, the
// SPA's origin as its allowed origin and <origin>/ as post-logout redirect URI.
window.LATCH_CONFIG = {
  issuer: 'http://localhost:8080', // Latch's issuer; discovery is fetched from it
  clientId: 'demo-spa', // a public client
  scope: 'openid profile email offline_access messages:read',
  apiUrl: 'http://localhost:3001', // the example API (GET /api/messages)
  redirectUri: 'http://localhost:3000/', // default: <origin>/callback
  dpop: true, // bind tokens to a browser key with DPoP (RFC 9449); false sends bearer tokens
};
