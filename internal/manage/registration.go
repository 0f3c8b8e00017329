package manage

import (
	"context"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Bounds of an initial access token (RFC 7591 §3): it stands for an
// operator's permission to register, so it is short-lived and counted.
const (
	DefaultInitialAccessTokenTTL  = 24 * time.Hour
	MaxInitialAccessTokenTTL      = 30 * 24 * time.Hour
	DefaultInitialAccessTokenUses = 1
	MaxInitialAccessTokenUses     = 1000
)

// InitialAccessToken is a token just created: Token is shown once, only
// its hash is stored.
type InitialAccessToken struct {
	Token     string    `json:"initial_access_token"`
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateInitialAccessToken makes a token that authorises uses dynamic
// client registrations (config registration initial-access-token) until
// now+ttl; zero values take the defaults (1 use, 24h). The token is 256
// bits from crypto/rand; the store keeps its SHA-256.
// Audit: admin_initial_access_token_created (uses, expires_at).
func (s *Service) CreateInitialAccessToken(ctx context.Context, uses int, ttl time.Duration) (InitialAccessToken, error) {
	if uses == 0 {
		uses = DefaultInitialAccessTokenUses
	}
	if ttl == 0 {
		ttl = DefaultInitialAccessTokenTTL
	}
	if uses < 1 || uses > MaxInitialAccessTokenUses {
		return InitialAccessToken{}, errorf(Invalid, "uses must be between 1 and %d, got %d", MaxInitialAccessTokenUses, uses)
	}
	if ttl < time.Minute || ttl > MaxInitialAccessTokenTTL {
		return InitialAccessToken{}, errorf(Invalid, "ttl must be between 1m and %v, got %v", MaxInitialAccessTokenTTL, ttl)
	}
	now := s.opts.Now().UTC()
	tok := token.NewOpaque()
	t := store.InitialAccessToken{Hash: token.Hash(tok), CreatedAt: now, ExpiresAt: now.Add(ttl), UsesLeft: uses}
	if err := s.opts.Store.CreateInitialAccessToken(ctx, t); err != nil {
		return InitialAccessToken{}, fmt.Errorf("creating an initial access token: %w", err)
	}
	s.audit(ctx, "admin_initial_access_token_created", "uses", uses, "expires_at", t.ExpiresAt)
	return InitialAccessToken{Token: tok, Uses: uses, ExpiresAt: t.ExpiresAt}, nil
}
