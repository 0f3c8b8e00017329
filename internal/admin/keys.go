package admin

import (
	"net/http"
)

// rotateRequest is the body of POST /admin/keys/rotate (optional).
type rotateRequest struct {
	// Alg is the algorithm of the key to rotate; "" is the default
	// signing algorithm.
	Alg string `json:"alg"`
	// Now is the emergency path (manage.Service.RotateKey): the new key
	// signs at once instead of at a scheduled, announced time.
	Now bool `json:"now"`
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.svc.ListKeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, infos)
	return nil
}

// rotateKey schedules a new signing key (published now, signing from a
// stored time every instance follows), or with "now" activates one at
// once; see manage.Service.RotateKey. 201 with the new key; 200 with the
// pending key when one was already scheduled.
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) error {
	var req rotateRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	res, err := s.svc.RotateKey(r.Context(), req.Alg, req.Now)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.AlreadyScheduled {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
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
