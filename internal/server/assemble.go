package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// Purposes of the keys derived from the key-encryption secret. The CLI
// uses SealPurposeKeys too, so it can rotate keys the server then loads.
const (
	SealPurposeKeys        = "signing-keys"
	sealPurposeInteraction = "interaction"
	purposeRefreshChain    = "refresh-chain"
)

// RetiredKeyTTL is how long a retired signing key stays in the JWKS: the
// longest lifetime of anything it signed, plus leeway.
func RetiredKeyTTL(cfg config.Config) time.Duration {
	return max(cfg.AccessTokenTTL, cfg.IDTokenTTL, grant.MaxAccessTokenTTL) + 5*time.Minute
}

// NewKeys builds the key manager for cfg over st.
func NewKeys(cfg config.Config, st store.Store, now func() time.Time, log *slog.Logger) (*token.Keys, error) {
	sealer, err := seal.New([]byte(cfg.KeyEncryptionSecret), SealPurposeKeys)
	if err != nil {
		return nil, fmt.Errorf("key-encryption-secret: %w", err)
	}
	algs := []string{cfg.SigningAlg}
	for _, a := range token.Algorithms() {
		if a != cfg.SigningAlg {
			algs = append(algs, a)
		}
	}
	return token.NewKeys(token.KeysConfig{
		Store: st, Sealer: sealer, Algs: algs, Now: now,
		RetiredTTL: RetiredKeyTTL(cfg), RefreshInterval: cfg.KeyRefreshInterval, Logger: log,
	})
}

// Assemble builds a Server from configuration over an open store: the
// sealers and refresh chain derived from the key-encryption secret, the
// signing keys (created on first start), the password hasher and the UI.
// Each mutate function, if any, may adjust the Options (e.g. set Metrics)
// just before New.
func Assemble(ctx context.Context, cfg config.Config, st store.Store, log, audit *slog.Logger, now func() time.Time, extra map[string]http.Handler, mutate ...func(*Options)) (*Server, error) {
	if now == nil {
		now = time.Now
	}
	// Branding files and templates are read and checked once, here: a
	// bad one fails start-up with the file named, before anything is
	// written (keys), not a sign-in.
	pages, err := ui.NewBranded(ui.Branding{
		Product: cfg.ProductName, Logo: cfg.BrandLogo, Stylesheet: cfg.BrandStylesheet,
		Color: cfg.BrandColor, ColorDark: cfg.BrandColorDark, TemplatesDir: cfg.TemplatesDir,
	})
	if err != nil {
		return nil, fmt.Errorf("hosted pages: %w", err)
	}
	secret := []byte(cfg.KeyEncryptionSecret)
	inter, err := seal.New(secret, sealPurposeInteraction)
	if err != nil {
		return nil, fmt.Errorf("key-encryption-secret: %w", err)
	}
	chainKey, err := seal.DeriveKey(secret, purposeRefreshChain, 32)
	if err != nil {
		return nil, err
	}
	chain, err := token.NewChain(chainKey)
	if err != nil {
		return nil, err
	}
	keys, err := NewKeys(cfg, st, now, log)
	if err != nil {
		return nil, err
	}
	if err := keys.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if u, err := url.Parse(cfg.Issuer); err == nil && strings.Trim(u.Path, "/") != "" {
		pages = pages.WithBasePath(strings.TrimSuffix(u.Path, "/"))
	}
	if cfg.PasswordMemoryKiB == 0 || cfg.PasswordIterations == 0 {
		return nil, errors.New("password hashing parameters must be positive")
	}
	hasher, err := password.NewHasher(password.Params{Memory: cfg.PasswordMemoryKiB, Iterations: cfg.PasswordIterations, Parallelism: 1})
	if err != nil {
		return nil, err
	}
	// An unknown username must cost what the dearest stored hash costs
	// (see password.Hasher), also when the parameters were lowered.
	users, err := st.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the stored password parameters: %w", err)
	}
	for _, u := range users {
		hasher.Observe(u.PasswordHash)
	}
	opts := Options{
		Config: cfg, Store: st, Keys: keys, UI: pages, Passwords: hasher,
		Interaction: inter, Refresh: chain, Logger: log, Audit: audit, Now: now, Extra: extra,
	}
	for _, m := range mutate {
		m(&opts)
	}
	return New(opts)
}
