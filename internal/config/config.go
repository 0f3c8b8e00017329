package config

import (
	"flag"
	"reflect"
	"time"
)

// Config is everything `latch serve` and `latch dev` can be told. Each
// field has a YAML key (the yaml tag), an environment variable (LATCH_ +
// the key upper-cased with '-' as '_', e.g. LATCH_KEY_ENCRYPTION_SECRET)
// and a flag (--key).
//
// The struct is the one list of keys: Load, Keys, Fields and Redacted all
// walk it by reflection. The help tag is the one-line description used for
// flag usage and the generated reference; secret:"true" marks values that
// are never logged. Supported field types: string, bool, int, uint32,
// time.Duration and []string.
type Config struct {
	// Addr is the public listener, host:port.
	Addr string `yaml:"addr" help:"public listener, host:port"`
	// Issuer is the public base URL; every URL Latch emits derives from it.
	Issuer string `yaml:"issuer" help:"public base URL (https, or http on a loopback host); every URL Latch emits derives from it"`
	// DB is sqlite:PATH or a postgres:// URL.
	DB string `yaml:"db" help:"database: sqlite:PATH or a postgres:// URL"`
	// KeyEncryptionSecret encrypts private keys and login state at rest:
	// at least 32 characters. Secret: never logged.
	KeyEncryptionSecret string `yaml:"key-encryption-secret" secret:"true" help:"encrypts private keys and login state at rest; at least 32 characters"`
	// SigningAlg is the default JWT algorithm: RS256, ES256 or EdDSA.
	SigningAlg string `yaml:"signing-alg" help:"default JWT signing algorithm: RS256, ES256 or EdDSA"`

	AccessTokenTTL time.Duration `yaml:"access-token-ttl" help:"access token lifetime, at most 1h"` // default 10m, at most 1h
	IDTokenTTL     time.Duration `yaml:"id-token-ttl" help:"ID token lifetime"`                     // default 10m
	CodeTTL        time.Duration `yaml:"code-ttl" help:"authorization code lifetime, at most 60s"`  // default 60s, at most 60s
	SessionTTL     time.Duration `yaml:"session-ttl" help:"browser sign-in session lifetime"`       // default 24h
	// ChallengeReplayWindow is how long each client's code_challenge and
	// nonce values are remembered (hashed) to detect one sent again
	// (RFC 9700 §2.1.1: they must be transaction-specific).
	ChallengeReplayWindow time.Duration `yaml:"challenge-replay-window" help:"how long each client's code_challenge and nonce values are remembered (hashed) to detect reuse; at least code-ttl"` // 24h

	// Refresh token defaults, used when a client sets none.
	PublicRefreshIdle           time.Duration `yaml:"public-refresh-idle" help:"refresh token idle timeout for public clients"`                      // 24h
	PublicRefreshAbsolute       time.Duration `yaml:"public-refresh-absolute" help:"refresh token absolute lifetime for public clients"`             // 168h
	ConfidentialRefreshIdle     time.Duration `yaml:"confidential-refresh-idle" help:"refresh token idle timeout for confidential clients"`          // 720h
	ConfidentialRefreshAbsolute time.Duration `yaml:"confidential-refresh-absolute" help:"refresh token absolute lifetime for confidential clients"` // 2160h

	// Password hashing (argon2id) cost.
	PasswordMemoryKiB  uint32 `yaml:"password-memory-kib" help:"argon2id memory cost in KiB"` // 19456
	PasswordIterations uint32 `yaml:"password-iterations" help:"argon2id iterations"`         // 2

	// Logging.
	LogFormat string `yaml:"log-format" help:"log format: json or text"`             // json (default) or text
	LogLevel  string `yaml:"log-level" help:"log level: debug, info, warn or error"` // debug, info (default), warn, error

	// Admin listener (metrics, health, admin API); default 127.0.0.1:9090.
	AdminAddr  string `yaml:"admin-addr" help:"admin listener (metrics, health, admin API), host:port; empty disables it; a non-loopback address requires admin-token"`
	AdminToken string `yaml:"admin-token" secret:"true" help:"bearer token for the admin API, at least 24 characters; without it the admin API is disabled"`

	// TLS: serve HTTPS directly when both are set.
	TLSCert string `yaml:"tls-cert" help:"TLS certificate file (PEM); serve HTTPS directly when set with tls-key"`
	TLSKey  string `yaml:"tls-key" help:"TLS private key file (PEM); set together with tls-cert"`
	// TrustedProxies are CIDRs whose X-Forwarded-For/Proto are believed.
	TrustedProxies []string `yaml:"trusted-proxies" help:"CIDRs whose X-Forwarded-For/Proto headers are believed (repeatable or comma-separated)"`
	// HSTSMaxAge is the Strict-Transport-Security max-age sent when the
	// issuer is https (RFC 6797); 0 sends max-age=0, which makes browsers
	// forget the policy.
	HSTSMaxAge time.Duration `yaml:"hsts-max-age" help:"Strict-Transport-Security max-age sent when the issuer is https (whole seconds); 0 tells browsers to forget the policy"` // 8760h

	// Brute-force protection (internal/server/throttle.go): every attempt
	// is reserved in the store (shared by every instance) before its
	// credential is checked, within budgets per ThrottleWindow; the attempt
	// that spends a budget starts a lockout of LockoutInitial, doubled by
	// each further one within a day, up to LockoutMax.
	LoginMaxFailures  int           `yaml:"login-max-failures" help:"sign-in attempts per (username, client IP) within throttle-window; per username from any IP: 20 times as many"`          // 5
	IPMaxFailures     int           `yaml:"ip-max-failures" help:"failed sign-ins (or client authentications, or admin token attempts) from one client IP within throttle-window"`            // 20
	ClientMaxFailures int           `yaml:"client-max-failures" help:"client authentications per (client_id, client IP) within throttle-window; per client_id from any IP: 20 times as many"` // 10
	ThrottleWindow    time.Duration `yaml:"throttle-window" help:"window in which authentication attempts are counted"`                                                                       // 15m
	LockoutInitial    time.Duration `yaml:"lockout-initial" help:"first lockout once a budget is spent; each further one within a day doubles it"`                                            // 1m
	LockoutMax        time.Duration `yaml:"lockout-max" help:"longest lockout"`                                                                                                               // 15m

	// DeviceMaxRequests budgets /device_authorization (RFC 8628 §3.1):
	// every request that starts a device authorization counts, not only
	// failures, since each stores a pending device code.
	DeviceMaxRequests int `yaml:"device-max-requests" help:"device authorization requests (each stores a pending device code) from one client IP within throttle-window"` // 20

	// AuthenticationPolicy is how every user must sign in, unless a
	// client's own policy is stricter (docs/authentication.md).
	AuthenticationPolicy string `yaml:"authentication-policy" help:"how users must sign in: password (a user with a second factor still gives it), second_factor (password and TOTP) or passkey (a passkey sign-in, acr phr)"` // password

	// WebAuthnRPID is the passkeys' relying-party ID (WebAuthn §5.1.3).
	WebAuthnRPID string `yaml:"webauthn-rp-id" help:"relying-party ID of passkeys: the issuer's host (default) or a parent domain of it, e.g. example.com for https://id.example.com; passkeys registered under one RP ID work only under it. Passkeys are off when the issuer's host is an IP address or a single-label name, or it is not https (except localhost)"`

	// DPoPNonce makes DPoP proofs carry a server-issued nonce (RFC 9449 §8).
	DPoPNonce bool `yaml:"dpop-nonce" help:"require DPoP proofs to carry a nonce issued by Latch (RFC 9449 §8)"`

	// RequirePAR makes the authorization endpoint accept only pushed
	// authorization requests, from every client (RFC 9126 §5, §6).
	RequirePAR bool `yaml:"require-pushed-authorization-requests" help:"accept authorization requests only through the PAR endpoint /par, from every client (RFC 9126); per client: latch client update ID --require-par"`
	// Open client ecosystems (docs/mcp.md): client ID metadata documents
	// (draft-ietf-oauth-client-id-metadata-document) and dynamic client
	// registration (RFC 7591, RFC 7592). Both are off by default (latch dev
	// allows every metadata document host).
	CIMDPolicy             string   `yaml:"cimd-policy" help:"client ID metadata documents (https URLs as client_id): off, allow-all (any public https host) or allow-list (only cimd-allowed-hosts)"` // off
	CIMDAllowedHosts       []string `yaml:"cimd-allowed-hosts" help:"hosts whose client ID metadata documents are accepted with cimd-policy allow-list, exact names without port (repeatable or comma-separated)"`
	Registration           string   `yaml:"registration" help:"dynamic client registration at /register (RFC 7591): off, initial-access-token (latch client token creates the tokens) or open"` // off
	RegistrationGrantTypes []string `yaml:"registration-grant-types" help:"grant types dynamically registered clients may have: authorization_code, refresh_token, client_credentials"`         // authorization_code, refresh_token
	RegistrationMaxPerIP   int      `yaml:"registration-max-per-ip" help:"dynamic client registrations accepted from one client IP within throttle-window"`                                     // 10
	RegistrationResources  []string `yaml:"registration-resources" help:"resource indicators (RFC 8707) that self-registered clients (client ID metadata documents, dynamic registration) may ask tokens for, e.g. your MCP servers' URLs (repeatable or comma-separated)"`

	// DB pool (PostgreSQL).
	DBMaxConns int `yaml:"db-max-conns" help:"maximum open database connections (PostgreSQL)"` // default 16

	// Faults and overload (internal/server/overload.go): every request has
	// a deadline that reaches the database; at most MaxConcurrentRequests
	// run at once, RequestQueue more wait up to RequestQueueWait, and the
	// rest are refused at once with 503 + Retry-After. Password hashing has
	// its own, smaller limit so sign-ins cannot take every CPU.
	RequestTimeout        time.Duration `yaml:"request-timeout" help:"deadline of every public request, database calls included; past it the request fails with 503"`                       // 10s
	MaxConcurrentRequests int           `yaml:"max-concurrent-requests" help:"public requests handled at once, for API endpoints and browser pages apart"`                                  // 64
	RequestQueue          int           `yaml:"request-queue" help:"requests that may wait for one of max-concurrent-requests; more are refused at once with 503 and Retry-After"`          // 128
	RequestQueueWait      time.Duration `yaml:"request-queue-wait" help:"longest wait in the request queue before a 503 with Retry-After"`                                                  // 1s
	PasswordConcurrency   int           `yaml:"password-concurrency" help:"argon2id hashes computed at once; 0 means half the CPUs (at least 1), so sign-ins leave CPU for token requests"` // 0
	PasswordQueue         int           `yaml:"password-queue" help:"sign-ins that may wait for a hashing slot; more are refused with 503 and Retry-After"`                                 // 32

	// Several instances on one database: how soon a key rotation made
	// elsewhere is picked up, and how often expired records are swept.
	KeyRefreshInterval time.Duration `yaml:"key-refresh-interval" help:"how often signing keys are reloaded from the database, bounding how long a rotation takes to reach every instance"` // 30s
	// KeyRotationInterval, when set, rotates the signing keys by
	// themselves: each new key is announced in the JWKS well before it
	// signs (see docs/keys.md). 0 turns automatic rotation off.
	KeyRotationInterval time.Duration `yaml:"key-rotation-interval" help:"rotate each signing key this long after it became active (at least 1h; each new key is published in the JWKS minutes before it signs); 0 means off"` // 0
	SweepInterval       time.Duration `yaml:"sweep-interval" help:"how often expired codes, sessions and tokens are deleted, in bounded batches"`                                                                              // 1m

	// Back-channel logout delivery (OpenID Connect Back-Channel Logout
	// 1.0): every instance runs a worker over the shared outbox.
	BackchannelLogoutTimeout time.Duration `yaml:"backchannel-logout-timeout" help:"how long one back-channel logout POST to a client may take"`                                                 // 5s
	BackchannelLogoutMaxAge  time.Duration `yaml:"backchannel-logout-max-age" help:"how long after a session ended a back-channel logout is retried (exponential backoff) before it is dropped"` // 24h

	// ShutdownTimeout bounds graceful shutdown on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout" help:"how long graceful shutdown may take on SIGTERM"` // 15s

	// Branding of the hosted pages (login, consent, logout, error). Files
	// are read once at start and served by Latch from its own origin, so
	// the Content-Security-Policy stays strict; colours go into a
	// generated stylesheet, never an inline style.
	ProductName     string `yaml:"product-name" help:"product name shown on the hosted pages"`
	BrandLogo       string `yaml:"brand-logo" help:"logo file for the hosted pages (.svg, .png, .jpg, .webp or .gif, at most 512 KiB), served by Latch"`
	BrandColor      string `yaml:"brand-color" help:"accent colour of the hosted pages (buttons, focus ring), #rrggbb"`
	BrandColorDark  string `yaml:"brand-color-dark" help:"accent colour in dark mode, #rrggbb (default: brand-color)"`
	BrandStylesheet string `yaml:"brand-stylesheet" help:"extra CSS file (at most 256 KiB) loaded after the built-in stylesheet, served by Latch"`
	TemplatesDir    string `yaml:"templates-dir" help:"directory of replacement page templates (layout.html, login.html, ...); each is checked at start"`

	// Dev enables dev-only features (the playground); set by `latch dev`.
	Dev bool `yaml:"-"`
}

// Default returns the defaults for `latch serve`. Issuer and
// KeyEncryptionSecret have no default: a deployment must choose them.
func Default() Config {
	return Config{
		Addr:                        ":8080",
		DB:                          "sqlite:.latch/latch.db",
		SigningAlg:                  "RS256",
		AuthenticationPolicy:        "password",
		AccessTokenTTL:              10 * time.Minute,
		IDTokenTTL:                  10 * time.Minute,
		CodeTTL:                     60 * time.Second,
		SessionTTL:                  24 * time.Hour,
		ChallengeReplayWindow:       24 * time.Hour,
		PublicRefreshIdle:           24 * time.Hour,
		PublicRefreshAbsolute:       7 * 24 * time.Hour,
		ConfidentialRefreshIdle:     30 * 24 * time.Hour,
		ConfidentialRefreshAbsolute: 90 * 24 * time.Hour,
		PasswordMemoryKiB:           19 * 1024,
		PasswordIterations:          2,
		LoginMaxFailures:            5,
		IPMaxFailures:               20,
		ClientMaxFailures:           10,
		DeviceMaxRequests:           20,
		ThrottleWindow:              15 * time.Minute,
		LockoutInitial:              time.Minute,
		LockoutMax:                  15 * time.Minute,
		LogFormat:                   "json",
		LogLevel:                    "info",
		AdminAddr:                   "127.0.0.1:9090",
		HSTSMaxAge:                  365 * 24 * time.Hour,
		DBMaxConns:                  16,
		RequestTimeout:              10 * time.Second,
		MaxConcurrentRequests:       64,
		RequestQueue:                128,
		RequestQueueWait:            time.Second,
		PasswordQueue:               32,
		KeyRefreshInterval:          30 * time.Second,
		SweepInterval:               time.Minute,
		BackchannelLogoutTimeout:    5 * time.Second,
		BackchannelLogoutMaxAge:     24 * time.Hour,
		ShutdownTimeout:             15 * time.Second,
		ProductName:                 "Latch",
		CIMDPolicy:                  "off",
		Registration:                "off",
		RegistrationGrantTypes:      []string{"authorization_code", "refresh_token"},
		RegistrationMaxPerIP:        10,
	}
}

// Load builds the configuration for args (the subcommand's arguments,
// without the subcommand name): defaults, then the YAML file named by
// --config (or LATCH_CONFIG), then LATCH_* variables read with getenv,
// then flags. Unknown YAML keys and unknown flags are errors.
// It returns the remaining positional arguments. It does not Validate.
//
// Load registers one flag per key on fs (plus --config); a nil fs gets a
// fresh ContinueOnError set named "latch". Only flags actually present in
// args override the file and the environment; the flag defaults shown in
// usage are base's values. A nil getenv reads no environment. An empty
// variable counts as unset. Errors name the key, variable or flag.
func Load(base Config, fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	return load(base, fs, args, getenv)
}

// Problem is one validation failure, tied to its key.
type Problem struct {
	Key     string
	Message string
	// Source is where a problem of reading was found: "config file PATH"
	// (Message then starts with "line N:") or the environment variable.
	// Empty for Validate's problems.
	Source string
}

// Check reads the YAML file at path ("" for none) and the LATCH_*
// environment over base, as Load does without flags, and returns every
// problem at once: each unknown or misspelt key (with the nearest known
// key suggested), each key set twice, each bad value, then Validate's
// problems with what could be read. The error is for a file that cannot
// be read or is not a YAML mapping.
func Check(base Config, path string, getenv func(string) string) (Config, []Problem, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	keys := fields()
	byKey := make(map[string]field, len(keys))
	for _, f := range keys {
		byKey[f.key] = f
	}
	cfg := base
	cv := reflect.ValueOf(&cfg).Elem()
	problems, err := readFile(cv, byKey, path)
	if err != nil {
		return Config{}, nil, err
	}
	problems = append(problems, readEnv(cv, keys, getenv)...)
	return cfg, append(problems, cfg.Validate()...), nil
}

// Validate returns every problem with c (empty when valid), e.g. an issuer
// that is not an absolute http(s) URL without query or fragment, or plain
// http for a non-loopback host; a short secret; an unknown algorithm; a
// code TTL over 60 s; a bad CIDR; TLS cert without key.
func (c Config) Validate() []Problem {
	return validate(c)
}

// Redacted returns c with every secret field replaced by "REDACTED" (when
// set), for logging the effective configuration.
func (c Config) Redacted() Config {
	return redacted(c)
}
