// Package server is Latch's HTTP front: every public endpoint, and nothing
// but HTTP. A request is parsed once at the edge (form.go and
// internal/oauth's parsers), handled by the endpoint's file, and its error
// written by errors.go, the one writer.
//
// Where things are:
//
//	routes.go       every route on one screen: browser routes (HTML, guarded
//	                against cross-origin form posts) and API routes (JSON, CORS)
//	errors.go       the one error writer: RFC 6749 §5.2 JSON, RFC 6750 §3
//	                challenges, the HTML error page, validated redirects,
//	                recovered panics, 405 and render failures
//	form.go         reading forms, queries and the Authorization header at the edge
//	middleware.go   panic recovery, body cap, headers, CORS, access log
//	authorize.go    /authorize (RFC 6749 §4.1.1, OIDC Core §3.1.2)
//	login.go        the sign-in and consent forms, and the lockout page
//	mfa.go          the second sign-in step (TOTP, recovery codes) and the acr
//	                check every authorization passes (step-up or
//	                unmet_authentication_requirements)
//	account.go      /account: sign-in methods, TOTP enrolment, password,
//	                sessions, apps; reset.go: an administrator's reset link
//	federation.go   sign-in through upstream OpenID Providers: /login/upstream,
//	                its callback (PKCE, state, RFC 9207 iss, go-oidc), linking
//	token.go        /token: parse → authenticate → DPoP → grant → write
//	par.go          /par (RFC 9126, DPoP binding RFC 9449 §10.1) and the request_uri step of /authorize
//	device_authorization.go  /device_authorization (RFC 8628 §3.1)
//	device_verify.go         /device, the verification page (RFC 8628 §3.3)
//	revoke.go       /revoke (RFC 7009) and /introspect (RFC 7662)
//	userinfo.go     /userinfo (OIDC Core §5.3), bearer and DPoP (RFC 9449 §7)
//	logout.go       RP-initiated logout
//	discovery.go    discovery documents (appended and RFC 8414 §3 inserted paths) and the JWKS
//	backchannel.go  Back-Channel Logout: the outbox's delivery worker (outbound POSTs)
//	dpop.go         DPoP proofs and server nonces (RFC 9449)
//	throttle.go     brute-force budgets and lockouts (policy; no HTML)
//	interaction.go, session.go, cookies.go, device.go   browser state
//	                (device.go: the known-device cookie, not RFC 8628)
//	clientip.go, requestid.go, metrics.go, audit.go, health.go   operations
//
// What it does not hold: client authentication and the grants (internal/
// grant: the server hands them an authenticated client and writes what
// they return), wiring and key derivation (internal/app, the composition
// root: the server gets derived sealers and keys and a small Options,
// never the key-encryption secret or the whole configuration), store
// instrumentation (internal/store/storemetrics), and the protocol
// vocabulary (internal/oauth). layout_test.go and TestServerHoldsNoGrantLogic
// keep it so.
package server
