package server

import (
	"net/http"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// handleToken is the token endpoint (RFC 6749 §3.2): parse →
// authenticate → DPoP → grant (internal/grant) → write. It holds no grant
// logic.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	s.setDPoPNonce(w)
	auth, form, err := s.clientForm(w, r)
	if err != nil {
		return err
	}
	treq, err := oauth.ParseTokenRequest(auth, form)
	if err != nil {
		return err
	}
	ctx := r.Context()
	client, err := s.authenticateClient(ctx, r, treq.Client)
	if err != nil {
		return err
	}
	// RFC 9449 §5: the proof is checked before any grant is touched, so a
	// bad or replayed proof cannot burn a code or a refresh token.
	proof, err := s.dpopProof(ctx, r, s.url(pathToken), "")
	if err != nil {
		return err
	}
	resp, err := s.grants.Token(ctx, client, treq, proof)
	if err != nil {
		return err
	}
	s.allowOrigin(w, r, client.Client())
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// allowOrigin adds CORS for a response that now knows its client: only
// that client's registered origins may read it.
func (s *Server) allowOrigin(w http.ResponseWriter, r *http.Request, c store.Client) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	if contains(c.AllowedOrigins, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	} else {
		w.Header().Del("Access-Control-Allow-Origin")
	}
}
