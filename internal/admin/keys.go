package admin

import (
	"net/http"
)

// rotateRequest is the body of POST /admin/keys/rotate (optional).
type rotateRequest struct {
	// Alg is the algorithm of the key to rotate; "" is the default
	// signing algorithm.
	Alg string `json:"alg"`
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.svc.ListKeys(r.Context())
	if err != nil {
		return err
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
	res, err := s.svc.RotateKey(r.Context(), req.Alg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// pruneKeys deletes retired keys that are no longer published.
func (s *Server) pruneKeys(w http.ResponseWriter, r *http.Request) error {
	n, err := s.svc.PruneKeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"pruned": n})
	return nil
}
