package manage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/token"
)

// errNoKeys: the road built the Service without Keys.
var errNoKeys = errors.New("manage: no key manager")

// Rotation is the outcome of RotateKey.
type Rotation struct {
	Key                   token.KeyInfo `json:"key"`               // the new active key
	Retired               string        `json:"retired,omitempty"` // kid of the key it replaced, if any
	RetiredPublishedUntil time.Time     `json:"retired_published_until,omitzero"`
}

// ListKeys lists the signing keys, newest first; never nil.
func (s *Service) ListKeys(ctx context.Context) ([]token.KeyInfo, error) {
	if s.opts.Keys == nil {
		return nil, errNoKeys
	}
	infos, err := s.opts.Keys.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	if infos == nil {
		infos = []token.KeyInfo{}
	}
	return infos, nil
}

// RotateKey creates a new signing key for alg ("" for the default
// signing algorithm) and makes it the active one. The key it replaces
// stops signing but stays published in the JWKS until every token it
// signed has expired. Keys must be loaded (so a wrong key-encryption
// secret fails before a key sealed with it is written).
// Audit: admin_key_rotated (kid, alg, retired).
func (s *Service) RotateKey(ctx context.Context, alg string) (Rotation, error) {
	if s.opts.Keys == nil {
		return Rotation{}, errNoKeys
	}
	alg = cmp.Or(alg, s.opts.Keys.DefaultAlg())
	if !slices.Contains(token.Algorithms(), alg) {
		return Rotation{}, errorf(Invalid, "unknown alg %q (want one of %v)", alg, token.Algorithms())
	}
	infos, err := s.ListKeys(ctx)
	if err != nil {
		return Rotation{}, err
	}
	var res Rotation
	for _, i := range infos {
		if i.Alg == alg && i.Status == token.StatusActive {
			res.Retired = i.ID
		}
	}
	if res.Key, err = s.opts.Keys.Rotate(ctx, alg); err != nil {
		return Rotation{}, fmt.Errorf("rotating keys: %w", err)
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
	s.audit(ctx, "admin_key_rotated", "kid", res.Key.ID, "alg", alg, "retired", res.Retired)
	return res, nil
}

// PruneKeys deletes retired keys that are no longer published and says
// how many. Audit: admin_keys_pruned (count), when any was.
func (s *Service) PruneKeys(ctx context.Context) (int, error) {
	if s.opts.Keys == nil {
		return 0, errNoKeys
	}
	n, err := s.opts.Keys.Prune(ctx)
	if err != nil {
		return 0, fmt.Errorf("pruning keys: %w", err)
	}
	if n > 0 {
		s.audit(ctx, "admin_keys_pruned", "count", n)
	}
	return n, nil
}
