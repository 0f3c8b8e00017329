// Package bff is Latch's example backend-for-frontend: a small Go server
// that signs the user in with the Authorization Code flow as a
// confidential client with PKCE (RFC 6749 §4.1, RFC 7636), keeps the
// tokens on the server, and gives the browser nothing but an HttpOnly
// session cookie. The page's JavaScript calls the BFF, which calls the
// API with the access token (draft-ietf-oauth-browser-based-apps, "BFF").
//
// Routes:
//
//	GET  /          a tiny page: who is signed in, a button calling the API
//	GET  /login     starts a sign-in: state, PKCE verifier and nonce go into a
//	                sealed, short-lived login cookie; redirect to /authorize
//	GET  /callback  checks state (against the cookie) and iss (RFC 9207),
//	                exchanges the code with the verifier, verifies the ID
//	                token and nonce, creates the server-side session
//	GET  /me        the signed-in user's profile as JSON (never a token)
//	*    /api/...   proxied to Config.APIURL with the access token added,
//	                refreshed first when it is about to expire
//	POST /logout    ends the session, revokes the refresh token and sends
//	                the browser to Latch's end_session_endpoint
//
// What it does not do: sessions live in this process's memory (use a
// shared store — Redis, a database — behind a load balancer; the login
// cookie already works on any instance that has the same CookieKey); no
// "return to the page I was on" after sign-in (an open-redirect trap: a
// real app would accept only local paths); no DPoP.
//
// cmd/bff runs it; `latch dev` registers the confidential client
// demo-web for it at http://localhost:3002.
package bff
