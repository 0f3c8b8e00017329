// Package config holds Latch's configuration: the Config struct, its
// defaults, loading from a YAML file, LATCH_* environment variables and
// command-line flags (in that order of precedence, flags winning), and
// Validate. There is no global state: Load returns a value.
package config

import (
	"flag"
	"time"
)

// Config is everything `latch serve` and `latch dev` can be told. Each
// field has a YAML key (the yaml tag), an environment variable (LATCH_ +
// the key upper-cased with '-' as '_', e.g. LATCH_KEY_ENCRYPTION_SECRET)
// and a flag (--key).
type Config struct {
	// Addr is the public listener, host:port.
	Addr string `yaml:"addr"`
	// Issuer is the public base URL; every URL Latch emits derives from it.
	Issuer string `yaml:"issuer"`
	// DB is sqlite:PATH or a postgres:// URL.
	DB string `yaml:"db"`
	// KeyEncryptionSecret encrypts private keys and login state at rest:
	// at least 32 characters. Secret: never logged.
	KeyEncryptionSecret string `yaml:"key-encryption-secret" secret:"true"`
	// SigningAlg is the default JWT algorithm: RS256, ES256 or EdDSA.
	SigningAlg string `yaml:"signing-alg"`

	AccessTokenTTL time.Duration `yaml:"access-token-ttl"` // default 10m
	IDTokenTTL     time.Duration `yaml:"id-token-ttl"`     // default 10m
	CodeTTL        time.Duration `yaml:"code-ttl"`         // default 60s, at most 60s
	SessionTTL     time.Duration `yaml:"session-ttl"`      // default 24h

	// Refresh token defaults, used when a client sets none.
	PublicRefreshIdle           time.Duration `yaml:"public-refresh-idle"`           // 24h
	PublicRefreshAbsolute       time.Duration `yaml:"public-refresh-absolute"`       // 168h
	ConfidentialRefreshIdle     time.Duration `yaml:"confidential-refresh-idle"`     // 720h
	ConfidentialRefreshAbsolute time.Duration `yaml:"confidential-refresh-absolute"` // 2160h

	// Password hashing (argon2id) cost.
	PasswordMemoryKiB  uint32 `yaml:"password-memory-kib"` // 19456
	PasswordIterations uint32 `yaml:"password-iterations"` // 2

	// Logging.
	LogFormat string `yaml:"log-format"` // json (default) or text
	LogLevel  string `yaml:"log-level"`  // debug, info (default), warn, error

	// Admin listener (metrics, health, admin API); default 127.0.0.1:9090.
	AdminAddr  string `yaml:"admin-addr"`
	AdminToken string `yaml:"admin-token" secret:"true"`

	// TLS: serve HTTPS directly when both are set.
	TLSCert string `yaml:"tls-cert"`
	TLSKey  string `yaml:"tls-key"`
	// TrustedProxies are CIDRs whose X-Forwarded-For/Proto are believed.
	TrustedProxies []string `yaml:"trusted-proxies"`

	// DB pool (PostgreSQL).
	DBMaxConns int `yaml:"db-max-conns"` // default 16

	// ShutdownTimeout bounds graceful shutdown on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"` // 15s

	// Dev enables dev-only features (the playground); set by `latch dev`.
	Dev bool `yaml:"-"`
}

// Default returns the defaults for `latch serve`.
func Default() Config {
	panic("unimplemented")
}

// Load builds the configuration for args (the subcommand's arguments,
// without the subcommand name): defaults, then the YAML file named by
// --config (or LATCH_CONFIG), then LATCH_* variables read with getenv,
// then flags. Unknown YAML keys and unknown flags are errors.
// It returns the remaining positional arguments. It does not Validate.
func Load(base Config, fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	panic("unimplemented")
}

// Problem is one validation failure, tied to its key.
type Problem struct {
	Key     string
	Message string
}

// Validate returns every problem with c (empty when valid), e.g. an issuer
// that is not an absolute http(s) URL without query or fragment, or plain
// http for a non-loopback host; a short secret; an unknown algorithm; a
// code TTL over 60 s; a bad CIDR; TLS cert without key.
func (c Config) Validate() []Problem {
	panic("unimplemented")
}

// Redacted returns c with every secret field replaced by "REDACTED" (when
// set), for logging the effective configuration.
func (c Config) Redacted() Config {
	panic("unimplemented")
}
