package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// Purposes of the keys derived from the key-encryption secret (HKDF
// info, internal/seal). Each is derived here, once, and nowhere else; the
// server receives the derived sealers and keys, never the secret. The CLI
// builds its key manager with NewKeys, so it rotates the keys the server
// then loads.
const (
	purposeKeys        = "signing-keys"     // private signing keys at rest
	purposeInteraction = "interaction"      // login/consent/logout state in forms, device cookie
	purposeRefresh     = "refresh-chain"    // refresh-token successors (grace window)
	purposeDPoPNonce   = "dpop-nonce"       // server DPoP nonces (RFC 9449 §8), same on every instance
	purposeFactors     = "factor-secrets"   // second-factor secrets (TOTP keys) at rest
	purposeRecovery    = "recovery-codes"   // HMAC key of recovery code hashes
	purposeUpstreams   = "upstream-secrets" // client secrets at upstream OpenID Providers, at rest
)

// UpstreamSealer seals and opens upstream client secrets at rest: the
// server opens them for the token request, the admin service (CLI and
// admin API) seals them.
func UpstreamSealer(cfg config.Config) (*seal.Sealer, error) {
	return seal.New([]byte(cfg.KeyEncryptionSecret), purposeUpstreams)
}

// RetiredKeyTTL is how long a retired signing key stays in the JWKS: the
// longest lifetime of anything it signed, plus leeway.
func RetiredKeyTTL(cfg config.Config) time.Duration {
	return max(cfg.AccessTokenTTL, cfg.IDTokenTTL, grant.MaxAccessTokenTTL) + 5*time.Minute
}

// NewKeys builds the key manager for cfg over st.
func NewKeys(cfg config.Config, st store.Store, now func() time.Time, log *slog.Logger) (*token.Keys, error) {
	sealer, err := seal.New([]byte(cfg.KeyEncryptionSecret), purposeKeys)
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
		RetiredTTL: RetiredKeyTTL(cfg), RefreshInterval: cfg.KeyRefreshInterval,
		RotationInterval: cfg.KeyRotationInterval, Logger: log,
	})
}

// Assemble builds a Server from configuration over an open store: the
// sealers, refresh chain and DPoP nonce key derived from the
// key-encryption secret, the signing keys (created on first start), the
// password hasher and the UI; the server gets the settings it reads
// (server.Options), never the whole Config or the secret. Each mutate
// function, if any, may adjust the Options (e.g. set Metrics) just
// before server.New.
func Assemble(ctx context.Context, cfg config.Config, st store.Store, log, audit *slog.Logger, now func() time.Time, extra map[string]http.Handler, mutate ...func(*server.Options)) (*server.Server, error) {
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
	inter, err := seal.New(secret, purposeInteraction)
	if err != nil {
		return nil, fmt.Errorf("key-encryption-secret: %w", err)
	}
	chainKey, err := seal.DeriveKey(secret, purposeRefresh, 32)
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
	hasher, err := password.NewLimitedHasher(password.Params{Memory: cfg.PasswordMemoryKiB, Iterations: cfg.PasswordIterations, Parallelism: 1}, passwordLimits(cfg))
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
	factors, err := seal.New(secret, purposeFactors)
	if err != nil {
		return nil, err
	}
	recoveryKey, err := seal.DeriveKey(secret, purposeRecovery, 32)
	if err != nil {
		return nil, err
	}
	upstreams, err := UpstreamSealer(cfg)
	if err != nil {
		return nil, err
	}
	var nonceKey []byte
	if cfg.DPoPNonce {
		if nonceKey, err = seal.DeriveKey(secret, purposeDPoPNonce, 32); err != nil {
			return nil, fmt.Errorf("dpop-nonce: %w", err)
		}
	}
	// Passkeys: the relying-party ID is the issuer's host or the
	// configured parent domain; a mismatch stops start-up.
	rp, err := passkey.New(cfg.Issuer, cfg.WebAuthnRPID, pages.Product())
	if errors.Is(err, passkey.ErrUnavailable) {
		if log != nil {
			log.InfoContext(ctx, "passkeys are off: the issuer's host is an IP address or a single-label name, or it is not https", "issuer", cfg.Issuer)
		}
		rp = nil
	} else if err != nil {
		return nil, fmt.Errorf("webauthn-rp-id: %w", err)
	}
	opts := server.Options{
		Issuer: cfg.Issuer, Dev: cfg.Dev, RequirePAR: cfg.RequirePAR,
		Lifetimes: grant.Lifetimes{
			AccessToken: cfg.AccessTokenTTL, IDToken: cfg.IDTokenTTL,
			PublicRefreshIdle: cfg.PublicRefreshIdle, PublicRefreshAbsolute: cfg.PublicRefreshAbsolute,
			ConfidentialRefreshIdle: cfg.ConfidentialRefreshIdle, ConfidentialRefreshAbsolute: cfg.ConfidentialRefreshAbsolute,
		},
		CodeTTL: cfg.CodeTTL, SessionTTL: cfg.SessionTTL, HSTSMaxAge: cfg.HSTSMaxAge, ChallengeReplayWindow: cfg.ChallengeReplayWindow,
		TrustedProxies: cfg.TrustedProxies, Throttle: throttleLimits(cfg), DPoPNonceKey: nonceKey,
		Overload: server.Overload{
			RequestTimeout: cfg.RequestTimeout, MaxConcurrent: cfg.MaxConcurrentRequests,
			Queue: cfg.RequestQueue, QueueWait: cfg.RequestQueueWait,
		},
		ClientDocuments: clientDocuments(cfg, now),
		Registration: server.Registration{
			Mode: cfg.Registration, GrantTypes: cfg.RegistrationGrantTypes,
			MaxPerIP: cfg.RegistrationMaxPerIP, Window: throttleLimits(cfg).Window,
			Resources: cfg.RegistrationResources,
		},
		Store: st, Keys: keys, UI: pages, Passwords: hasher,
		Interaction: inter, Factors: factors, RecoveryKey: recoveryKey, Upstreams: upstreams, AuthPolicy: cfg.AuthenticationPolicy, Passkeys: rp,
		Refresh: chain, Logger: log, Audit: audit, Now: now, Extra: extra,
		Backchannel: server.Backchannel{Timeout: cfg.BackchannelLogoutTimeout, MaxAge: cfg.BackchannelLogoutMaxAge},
	}
	for _, m := range mutate {
		m(&opts)
	}
	return server.New(opts)
}

// clientDocuments is the client ID metadata document fetcher of cfg's
// cimd-policy, nil when off. It never sets cimd.Options.InsecureTest:
// that is for tests alone, and no configuration key reaches it.
func clientDocuments(cfg config.Config, now func() time.Time) *cimd.Fetcher {
	p := cimd.Policy{Mode: cimd.Mode(cfg.CIMDPolicy), Hosts: cfg.CIMDAllowedHosts}
	if !p.Enabled() {
		return nil
	}
	return cimd.New(cimd.Options{Policy: p, Now: now})
}

// throttleLimits are the brute-force thresholds of cfg; zero values (a
// Config not built from config.Default) fall back to the defaults.
func throttleLimits(cfg config.Config) server.ThrottleLimits {
	def := config.Default()
	pick := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	pickD := func(v, d time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return d
	}
	return server.ThrottleLimits{
		Window:            pickD(cfg.ThrottleWindow, def.ThrottleWindow),
		LockoutInitial:    pickD(cfg.LockoutInitial, def.LockoutInitial),
		LockoutMax:        pickD(cfg.LockoutMax, def.LockoutMax),
		LoginMaxFailures:  pick(cfg.LoginMaxFailures, def.LoginMaxFailures),
		IPMaxFailures:     pick(cfg.IPMaxFailures, def.IPMaxFailures),
		ClientMaxFailures: pick(cfg.ClientMaxFailures, def.ClientMaxFailures),
		DeviceMaxRequests: pick(cfg.DeviceMaxRequests, def.DeviceMaxRequests),
	}
}

// passwordLimits are the hashing limits for cfg: password-concurrency
// (0: half the CPUs, at least 1, so sign-ins leave CPU for token
// requests) and password-queue.
func passwordLimits(cfg config.Config) password.Limits {
	n := cfg.PasswordConcurrency
	if n < 1 {
		n = max(runtime.GOMAXPROCS(0)/2, 1)
	}
	// Once a burst of sign-ins is over, its argon2id blocks (the memory
	// cost, per hash) go back to the operating system.
	return password.Limits{Concurrency: n, Queue: max(cfg.PasswordQueue, 0), OnIdle: debug.FreeOSMemory}
}
