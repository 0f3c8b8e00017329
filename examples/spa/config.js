// Configuration of the demo SPA. `latch dev` serves its own version of this
// file, pointing at the running issuer and API; this one matches the
// defaults of `latch dev` for serving examples/spa with any static server on
// http://localhost:3000 (redirect URI http://localhost:3000/callback).
window.LATCH_CONFIG = {
  issuer: 'http://localhost:8080',
  clientId: 'demo-spa',
  scope: 'openid profile email offline_access messages:read',
  apiUrl: 'http://localhost:3001',
  dpop: true, // bind tokens to a browser key with DPoP (RFC 9449); false sends bearer tokens
};
