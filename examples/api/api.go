// Package api is Latch's example resource server: a small JSON API whose
// one endpoint, GET /api/messages, needs an access token with the scope
// messages:read. It shows the two things every API behind Latch needs:
//
//   - token verification with the verify package: signature under the
//     issuer's published keys, typ at+jwt, iss, aud, expiry (RFC 9068 §4),
//     then the scope; failures answered with RFC 6750 §3 challenges;
//   - CORS for the one browser origin that calls it directly (the example
//     SPA), including the preflight a request with an Authorization header
//     triggers (Fetch standard, "CORS protocol").
//
// CORS is not access control here: the bearer token is. CORS only decides
// which web origins may read the responses in a browser; a request from
// elsewhere still needs a valid token.
//
// cmd/api runs it on http://localhost:3001 next to `latch dev` (which does
// not link it: it is built on verify, which the latch binary must not
// import); scripts/demo starts both.
package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/latchauth/latch/verify"
)

// ScopeMessagesRead is the scope GET /api/messages requires.
const ScopeMessagesRead = "messages:read"

// StepUp is what GET /api/vault requires beyond the scope (RFC 9470): a
// sign-in with a second factor (Latch's acr mfa, or a passkey's phr)
// within the last 15 minutes. A token that does not meet it gets 401
// error="insufficient_user_authentication" with acr_values and max_age,
// and the SPA signs in again asking for them.
var StepUp = verify.Requirement{ACR: []string{"urn:latch:acr:mfa", "urn:latch:acr:phr"}, MaxAge: 15 * time.Minute}

// Message is one item of the example data.
type Message struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

// MessagesResponse is the body of GET /api/messages: who called (from the
// verified token) and the data.
type MessagesResponse struct {
	Sub      string    `json:"sub"`       // the user (or, for client_credentials, the client)
	ClientID string    `json:"client_id"` // the application that called on the user's behalf
	Scopes   []string  `json:"scopes"`
	Messages []Message `json:"messages"`
}

// Handler returns the example API. v verifies access tokens (its Audience
// is this API's identifier). allowedOrigin is the one web origin
// (scheme://host[:port]) whose scripts may read the responses; empty
// disables CORS, for an API only called server to server (e.g. by a BFF).
func Handler(v *verify.Verifier, allowedOrigin string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/messages", v.Middleware(ScopeMessagesRead)(http.HandlerFunc(messages)))
	mux.Handle("GET /api/vault", v.Middleware(ScopeMessagesRead)(v.RequireAuthentication(StepUp)(http.HandlerFunc(vault))))
	return cors(allowedOrigin, mux)
}

// messages answers GET /api/messages. The middleware has verified the
// token and its scope before this runs, so the claims are always there.
func messages(w http.ResponseWriter, r *http.Request) {
	c, ok := verify.FromContext(r.Context())
	if !ok {
		http.Error(w, "no verified claims", http.StatusInternalServerError) // unreachable behind the middleware
		return
	}
	body := MessagesResponse{
		Sub:      c.Subject,
		ClientID: c.ClientID,
		Scopes:   slices.Clone(c.Scopes),
		Messages: []Message{
			{1, "Hello from the example API. Your access token was verified: signature, typ, iss, aud, exp."},
			{2, "This message needed the scope " + ScopeMessagesRead + "."},
			{3, "The API never saw your password, and Latch never saw this message."},
		},
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

// vault answers GET /api/vault, behind the step-up requirement.
func vault(w http.ResponseWriter, r *http.Request) {
	c, _ := verify.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sub": c.Subject, "acr": c.ACR, "auth_time": c.AuthTime.Unix(),
		"messages": []Message{{1, "The vault opened: you signed in with a second factor, recently."}},
	})
}

// cors lets scripts of origin read the API's responses. A preflight
// (OPTIONS with Access-Control-Request-Method) from that origin gets the
// methods and the request headers a token needs (Authorization, and DPoP
// for sender-constrained tokens, RFC 9449); from any other origin it gets
// 403 and no CORS headers, so the browser never sends the real request.
// No credentials mode: the API reads bearer tokens, never cookies.
func cors(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := origin != "" && r.Header.Get("Origin") == origin
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			// Let the SPA read why a call failed (RFC 6750 §3 challenge).
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h.Set("Access-Control-Allow-Methods", "GET")
			h.Set("Access-Control-Allow-Headers", "Authorization, DPoP")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
