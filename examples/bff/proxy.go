package bff

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"time"

	"golang.org/x/oauth2"
)

type accessTokenKey struct{}

// newProxy forwards /api/... to the API with the session's access token.
// The browser's cookies never leave the BFF, and the API cannot set any.
func (b *BFF) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(b.api) // APIURL + the request's path
			pr.Out.Host = b.api.Host
			pr.Out.Header.Del("Cookie")
			tok, _ := pr.In.Context().Value(accessTokenKey{}).(string)
			pr.Out.Header.Set("Authorization", "Bearer "+tok) // RFC 6750 §2.1
		},
		Transport: b.client.Transport,
		ModifyResponse: func(res *http.Response) error {
			res.Header.Del("Set-Cookie")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b.log.WarnContext(r.Context(), "proxying to the API", "error", err)
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "api_unavailable"})
		},
	}
}

// handleProxy serves /api/...: with a session, it forwards the request to
// the API with a fresh access token; without one, 401.
func (b *BFF) handleProxy(w http.ResponseWriter, r *http.Request) {
	s, id := b.session(r)
	if s == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "login_required"})
		return
	}
	tok, err := b.accessToken(r.Context(), s)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant", errors.Is(err, errNoSession):
		// The grant is over (expired, revoked, or reuse detected): so is
		// the session.
		b.sessions.delete(id)
		b.setSessionCookie(w, "", 0)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "login_required"})
		return
	case err != nil:
		b.log.WarnContext(r.Context(), "refreshing the access token", "error", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "token_refresh_failed"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxProxyBody)
	b.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accessTokenKey{}, tok)))
}

// accessToken returns the session's access token, refreshing it first
// when it expires within refreshMargin. The session's lock is held
// throughout, so concurrent requests of one session wait for one refresh
// and then share its result, instead of each spending the (rotating)
// refresh token.
func (b *BFF) accessToken(ctx context.Context, s *session) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accessExpiry.IsZero() || b.now().Add(refreshMargin).Before(s.accessExpiry) {
		return s.token.AccessToken, nil
	}
	if s.token.RefreshToken == "" {
		return "", errNoSession // no offline_access: sign in again
	}
	// Not the request's context: if the browser gave up mid-refresh, Latch
	// may already have rotated the refresh token, and dropping its answer
	// would leave the session with a spent one.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	// An empty access token makes the token source refresh at once.
	tok, err := b.oauth.TokenSource(b.httpContext(rctx), &oauth2.Token{RefreshToken: s.token.RefreshToken}).Token()
	if err != nil {
		return "", err
	}
	if raw, ok := tok.Extra("id_token").(string); ok && raw != "" {
		// OIDC Core §12.2: a refreshed ID token is verified like the first
		// (no nonce this time), names the same user, and becomes the logout hint.
		idt, err := b.verifier.Verify(b.httpContext(rctx), raw)
		if err != nil {
			return "", err
		}
		if sub, _ := s.profile["sub"].(string); idt.Subject != sub {
			return "", errors.New("bff: refreshed ID token is for another subject")
		}
		s.idToken = raw
	}
	s.token, s.accessExpiry = tok, b.expiry(tok)
	return tok.AccessToken, nil
}
