// Package bff is a backend-for-frontend for Latch (RFC 10017 §6.1, "the
// BFF pattern"): a confidential OAuth client, on the server, that signs
// the user in with the Authorization Code flow, PKCE and a nonce, keeps
// every token server-side, and gives the browser nothing but an HttpOnly
// session cookie. The page's script calls the BFF: the user endpoint for
// who is signed in, and the API proxy, which forwards allow-listed
// prefixes to their upstreams with the access token — refreshed when near
// expiry, once per session across all instances.
//
//	b, err := bff.New(ctx, bff.Config{
//		Issuer: "https://login.example.com", ClientID: "web", ClientSecret: secret,
//		BaseURL: "https://app.example.com", CookieKey: key,
//		Upstreams: []bff.Upstream{{Prefix: "/api/", URL: "https://api.example.com"}},
//		Sessions:  store, // bffsqlite.Open / bffpostgres.Open, shared by the instances
//	})
//	mux.Handle("/", b) // beside the app's own pages
//
// Sessions live in a SessionStore: MemoryStore here; SQLite in
// bff/bffsqlite and PostgreSQL in bff/bffpostgres (subpackages, so
// importing bff links no database driver). The store keeps only the
// SHA-256 of session ids and the tokens sealed under CookieKey.
//
// What it does not do: discovery is read once, at New (restart to pick up
// new endpoints); it keeps no "return to" URL after sign-in (an
// open-redirect trap); it answers no CORS preflight (its routes are
// same-origin by design); it is not a general reverse proxy (one
// upstream per prefix, no WebSockets upgrade policy of its own). It does
// not import Latch's internal packages and needs only the standard
// library, go-jose and go-oidc.
//
// docs/bff.md is the guide, with RFC 10017's requirements mapped to the
// tests that prove them.
package bff
