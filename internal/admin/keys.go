package admin

import (
	"net/http"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/token"
)

// rotateRequest is the body of POST /admin/keys/rotate (optional).
type rotateRequest struct {
	// Alg is the algorithm of the key to rotate; "" is the default
	// signing algorithm.
	Alg string `json:"alg"`
}

// rotateResult is the new active key and the kid of the one it retired,
// with when that one leaves the JWKS.
type rotateResult struct {
	Key                   token.KeyInfo `json:"key"`
	Retired               string        `json:"retired,omitempty"`
	RetiredPublishedUntil time.Time     `json:"retired_published_until,omitzero"`
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.opts.Keys.List(r.Context())
	if err != nil {
		return err
	}
	if infos == nil {
		infos = []token.KeyInfo{}
	}
	writeJSON(w, http.StatusOK, infos)
	return nil
}

// rotateKey creates a new signing key and makes it the active one. The
// key it replaces stops signing but stays published in the JWKS until
// every token it signed has expired. This instance signs with the new key
// at once; others pick it up within key-refresh-interval.
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) error {
	var req rotateRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	alg := req.Alg
	if alg == "" {
		alg = s.opts.Keys.DefaultAlg()
	}
	if !slices.Contains(token.Algorithms(), alg) {
		return errBadRequest("unknown alg %q (want one of %v)", alg, token.Algorithms())
	}
	ctx := r.Context()
	infos, err := s.opts.Keys.List(ctx)
	if err != nil {
		return err
	}
	var res rotateResult
	for _, i := range infos {
		if i.Alg == alg && i.Status == token.StatusActive {
			res.Retired = i.ID
		}
	}
	if res.Key, err = s.opts.Keys.Rotate(ctx, alg); err != nil {
		return err
	}
	if res.Retired != "" {
		if infos, err := s.opts.Keys.List(ctx); err == nil {
			for _, i := range infos {
				if i.ID == res.Retired {
					res.RetiredPublishedUntil = i.PublishedUntil
				}
			}
		}
	}
	s.auditLog(ctx, "admin_key_rotated", "kid", res.Key.ID, "alg", alg, "retired", res.Retired)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// pruneKeys deletes retired keys that are no longer published.
func (s *Server) pruneKeys(w http.ResponseWriter, r *http.Request) error {
	n, err := s.opts.Keys.Prune(r.Context())
	if err != nil {
		return err
	}
	if n > 0 {
		s.auditLog(r.Context(), "admin_keys_pruned", "count", n)
	}
	writeJSON(w, http.StatusOK, map[string]int{"pruned": n})
	return nil
}
