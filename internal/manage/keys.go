package manage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/token"
)

// errNoKeys: the road built the Service without Keys.
var errNoKeys = errors.New("manage: no key manager")

// Rotation is the outcome of RotateKey.
type Rotation struct {
	// Key is the new key: scheduled (status next) to activate at
	// Key.ActivateAt, or with Now active at once. When a next key was
	// already scheduled, Key is that one and AlreadyScheduled is set.
	Key              token.KeyInfo `json:"key"`
	AlreadyScheduled bool          `json:"already_scheduled,omitempty"`
	Now              bool          `json:"now,omitempty"`
	// Retired is the key it replaces (stops signing at Key.ActivateAt),
	// if any; it stays published until RetiredPublishedUntil.
	Retired               string    `json:"retired,omitempty"`
	RetiredPublishedUntil time.Time `json:"retired_published_until,omitzero"`
	// Warning says, for an immediate rotation, what it may break.
	Warning string `json:"warning,omitempty"`
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

// RotateKey rotates the signing key of alg ("" for the default signing
// algorithm). By default the rotation is scheduled: the new key is
// published in the JWKS now and every instance starts signing with it at
// the same stored time, PublicationLead from now (token.Keys.Rotate); if
// a next key is already scheduled, nothing new is made and that one is
// returned. With now, the emergency path, the new key signs at once in
// this instance (token.Keys.RotateNow) and Warning says what that may
// break. Either way the key it replaces stays published until every
// token it signed has expired. Keys must be loaded (so a wrong
// key-encryption secret fails before a key sealed with it is written).
// Audit: admin_key_rotated (kid, alg, retired, activate_at, now).
func (s *Service) RotateKey(ctx context.Context, alg string, now bool) (Rotation, error) {
	if s.opts.Keys == nil {
		return Rotation{}, errNoKeys
	}
	alg = cmp.Or(alg, s.opts.Keys.DefaultAlg())
	if !slices.Contains(token.Algorithms(), alg) {
		return Rotation{}, errorf(Invalid, "unknown alg %q (want one of %v)", alg, token.Algorithms())
	}
	res := Rotation{Now: now}
	var err error
	if now {
		res.Key, err = s.opts.Keys.RotateNow(ctx, alg)
	} else {
		res.Key, err = s.opts.Keys.Rotate(ctx, alg)
		if errors.Is(err, token.ErrRotationPending) {
			res.AlreadyScheduled, err = true, nil
		}
	}
	if err != nil {
		return Rotation{}, fmt.Errorf("rotating keys: %w", err)
	}
	// The key it replaces: the one of alg whose retirement is the new
	// key's activation.
	infos, err := s.ListKeys(ctx)
	if err != nil {
		return Rotation{}, err
	}
	for _, i := range infos {
		if i.Alg == alg && i.ID != res.Key.ID && i.RetiredAt.Equal(res.Key.ActivateAt) {
			res.Retired, res.RetiredPublishedUntil = i.ID, i.PublishedUntil
		}
	}
	if now {
		lead := s.opts.Keys.PublicationLead()
		res.Warning = fmt.Sprintf("the new key signs at once in this instance, before anyone has seen it: "+
			"other instances publish it only after their next key reload (up to %s; a token with its kid makes them reload at once), "+
			"and relying parties that cached the JWKS (for up to %s) reject its tokens until they fetch it again; "+
			"a scheduled rotation (without --now) announces the key %s ahead and breaks nothing",
			registration.FormatDuration(s.opts.Keys.RefreshInterval()), registration.FormatDuration(s.opts.Keys.JWKSMaxAgeLimit()), registration.FormatDuration(lead))
	}
	if !res.AlreadyScheduled {
		s.audit(ctx, "admin_key_rotated", "kid", res.Key.ID, "alg", alg, "retired", res.Retired,
			"activate_at", res.Key.ActivateAt, "now", now)
	}
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
