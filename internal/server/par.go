package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Pushed authorization requests (RFC 9126).
const (
	// requestURIPrefix starts every request_uri Latch issues (RFC 9126
	// §2.2); the rest is 256 random bits, stored only as a hash.
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	// parTTL is the life of a request_uri: long enough for the redirect
	// to /authorize, short enough that a leaked one is soon useless
	// (RFC 9126 §2.2 suggests 5 to 600 seconds; Latch takes 60).
	parTTL = 60 * time.Second
)

// clientAuthParams are the client authentication parameters of a pushed
// request (RFC 6749 §2.3.1, RFC 7523 §2.2): they authenticate the push
// and are not part of the authorization request it stores.
var clientAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// handlePAR is the pushed authorization request endpoint (RFC 9126 §2):
// parse → authenticate the client (grant.Authenticate, every method,
// public clients by client_id) → validate the authorization request as
// /authorize would (resolveAuthorize, the same code path) → store it
// under a single-use request_uri for parTTL → 201 with request_uri and
// expires_in. Errors are JSON (RFC 9126 §2.3), never redirects.
//
// A DPoP header, when present, is checked after client authentication
// and binds the pushed request (RFC 9449 §10.1, see parDPoPBinding).
func (s *Server) handlePAR(w http.ResponseWriter, r *http.Request) error {
	// RFC 9449 §8, §8.2: with dpop-nonce on, every /par response carries
	// a fresh nonce, as at /token (the proof checker demands it).
	s.setDPoPNonce(w)
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	s.narrowCORS(w, r, form)
	auth, _, err := authorizationHeader(r)
	if err != nil {
		return err
	}
	cred, err := oauth.ParseClientCredentials(auth, form)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ac, err := s.authenticateClient(ctx, r, cred)
	if err != nil {
		return err
	}
	c := ac.Client()
	// RFC 9126 §2.1: request_uri must not be pushed (no nesting).
	if len(form["request_uri"]) > 0 {
		return oauth.Errorf(oauth.InvalidRequest, "request_uri must not be sent to the PAR endpoint: push the authorization request's parameters themselves")
	}
	q := url.Values{}
	for k, v := range form {
		q[k] = v
	}
	for _, k := range clientAuthParams {
		delete(q, k)
	}
	// RFC 9126 §2.1: the client_id of the request is the authenticated
	// client's (filled in when it authenticated by HTTP Basic or by an
	// assertion alone).
	switch ids := q["client_id"]; {
	case len(ids) == 0 || ids[0] == "":
		q.Set("client_id", c.ID)
	case len(ids) > 1 || ids[0] != c.ID:
		return oauth.Errorf(oauth.InvalidRequest, "client_id must be the authenticated client's")
	}
	if err := s.parDPoPBinding(ctx, r, q); err != nil {
		return err
	}
	ar, err := s.resolveAuthorize(r, q)
	if err != nil {
		return pushedError(err)
	}
	now := s.now()
	ref := token.NewOpaque()
	p := store.PushedRequest{
		Hash: token.Hash(ref), ClientID: c.ID, Params: ar.req.Query().Encode(),
		CreatedAt: now, ExpiresAt: now.Add(parTTL),
	}
	if err := s.store.CreatePushedRequest(ctx, p); err != nil {
		return err
	}
	s.allowOrigin(w, r, c)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{
		"request_uri": requestURIPrefix + ref,
		"expires_in":  int(parTTL / time.Second),
	})
	return nil
}

// parDPoPBinding is the DPoP step of the PAR endpoint (RFC 9449 §10.1)
// and must never be skipped when a DPoP header is present: the proof is
// checked exactly as at /token (dpopProof: §4.3 with htm POST, htu the
// PAR endpoint URL, no ath, the server nonce when nonces are on, jti
// recorded against replay in the shared store). Then
//
//   - without dpop_jkt in the pushed parameters, the proof's key
//     thumbprint becomes the request's dpop_jkt (§10.1: the DPoP header
//     is the alternative to dpop_jkt), so the code it yields is redeemed
//     only with a proof by that key at /token (§10, checkCodeRedemption);
//   - with dpop_jkt, every value must equal the proof's thumbprint (§10.1:
//     when both are sent, the server MUST reject the request if dpop_jkt
//     and the proof's key do not match). The RFC names no error code;
//     invalid_dpop_proof tells the client which of the two to fix. A
//     repeated dpop_jkt is then refused by resolveAuthorize as any
//     repeated parameter is.
//
// It runs before resolveAuthorize, so the bound dpop_jkt goes through
// /authorize's own validation and into the stored parameters. It does
// nothing without a DPoP header: such pushes behave as before.
func (s *Server) parDPoPBinding(ctx context.Context, r *http.Request, q url.Values) error {
	proof, err := s.dpopProof(ctx, r, s.url(pathPAR), "")
	if err != nil || proof == nil {
		return err
	}
	jkts := q["dpop_jkt"]
	if len(jkts) == 0 {
		q.Set("dpop_jkt", proof.JKT)
		return nil
	}
	for _, v := range jkts {
		if v != proof.JKT {
			return oauth.Errorf(oauth.InvalidDPoPProof, "dpop_jkt does not match the DPoP proof's key (RFC 9449 section 10.1): send the thumbprint of the key that signs the proof, or leave dpop_jkt out")
		}
	}
	return nil
}

// pushedError is the JSON answer to a pushed request /authorize would
// refuse: the same error, never a page or a redirect (RFC 9126 §2.3).
func pushedError(err error) error {
	var pe *authorizePageError
	var re *redirectError
	switch {
	case errors.As(err, &re):
		return re.err
	case errors.As(err, &pe):
		return pe.err
	}
	return err
}

// redeemPushed is the request_uri step of the authorization endpoint
// (RFC 9126 §4): q carries request_uri and client_id; the pushed request
// is consumed (single use: of concurrent redemptions one wins, the store
// says how) and its parameters returned in place of q's — every other
// parameter of q is ignored. It must match client_id. Every failure is a
// page error: the redirect URI is in the pushed request, so there is no
// validated one to send an error to.
func (s *Server) redeemPushed(ctx context.Context, q url.Values) (url.Values, error) {
	fail := func(code oauth.Code, desc, plain, fix string) error {
		return &authorizePageError{
			err: oauth.Errorf(code, "%s", desc), clientID: clip(q.Get("client_id")), uiLocales: clip(q.Get("ui_locales")),
			plain: plain, fix: fix,
		}
	}
	uris, ids := q["request_uri"], q["client_id"]
	if len(uris) != 1 || len(ids) != 1 || ids[0] == "" {
		return nil, fail(oauth.InvalidRequest, "request_uri and client_id are required once each (RFC 9126 section 4)",
			msgInvalidAuthorizeRequest, "Send exactly the client_id and request_uri the PAR endpoint returned.")
	}
	ref, ok := strings.CutPrefix(uris[0], requestURIPrefix)
	if !ok || ref == "" {
		return nil, fail(oauth.InvalidRequestURI, "request_uri must be one issued by this server's PAR endpoint",
			msgInvalidAuthorizeRequest, "Push the request to the PAR endpoint first and send the request_uri it returns.")
	}
	p, err := s.store.ConsumePushedRequest(ctx, token.Hash(ref), s.now())
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired):
		return nil, fail(oauth.InvalidRequestURI, "the request_uri is unknown, expired or used: each one is valid once, for 60 seconds",
			msgExpiredPushedRequest, "Push the authorization request again and redirect the user at once; never reuse a request_uri.")
	case err != nil:
		return nil, err
	case p.ClientID != ids[0]:
		return nil, fail(oauth.InvalidRequestURI, "the request_uri was pushed by another client",
			msgInvalidAuthorizeRequest, "Send the client_id of the client that pushed the request.")
	}
	pushed, err := url.ParseQuery(p.Params)
	if err != nil {
		return nil, err
	}
	return pushed, nil
}

// msgExpiredPushedRequest is the production message of an unknown,
// expired or used request_uri (translated in internal/ui/locales).
const msgExpiredPushedRequest = "This sign-in link has expired or was already used. Go back to the application and start again."

// errPARRequired refuses an authorization request that was not pushed
// from a client that must push (RFC 9126 §6) or on a server that
// requires it (§5). The client and redirect URI are validated, so it is
// redirected.
var errPARRequired = oauth.Errorf(oauth.InvalidRequest, "this client must push its authorization requests to the PAR endpoint (RFC 9126) and send only client_id and request_uri here")
