package config

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testSecret = "0123456789abcdef0123456789abcdef" // 32 characters

// valid is Default plus the two keys that have no default.
func valid() Config {
	c := Default()
	c.Issuer = "https://id.example.com"
	c.KeyEncryptionSecret = testSecret
	return c
}

func TestDefault(t *testing.T) {
	d := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"addr", d.Addr, ":8080"},
		{"db", d.DB, "sqlite:.latch/latch.db"},
		{"signing-alg", d.SigningAlg, "RS256"},
		{"access-token-ttl", d.AccessTokenTTL, 10 * time.Minute},
		{"id-token-ttl", d.IDTokenTTL, 10 * time.Minute},
		{"code-ttl", d.CodeTTL, 60 * time.Second},
		{"session-ttl", d.SessionTTL, 24 * time.Hour},
		{"public-refresh-idle", d.PublicRefreshIdle, 24 * time.Hour},
		{"public-refresh-absolute", d.PublicRefreshAbsolute, 168 * time.Hour},
		{"confidential-refresh-idle", d.ConfidentialRefreshIdle, 720 * time.Hour},
		{"confidential-refresh-absolute", d.ConfidentialRefreshAbsolute, 2160 * time.Hour},
		{"password-memory-kib", d.PasswordMemoryKiB, uint32(19456)},
		{"password-iterations", d.PasswordIterations, uint32(2)},
		{"log-format", d.LogFormat, "json"},
		{"log-level", d.LogLevel, "info"},
		{"admin-addr", d.AdminAddr, "127.0.0.1:9090"},
		{"hsts-max-age", d.HSTSMaxAge, 365 * 24 * time.Hour},
		{"db-max-conns", d.DBMaxConns, 16},
		{"shutdown-timeout", d.ShutdownTimeout, 15 * time.Second},
		{"issuer", d.Issuer, ""},
		{"key-encryption-secret", d.KeyEncryptionSecret, ""},
		{"dev", d.Dev, false},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("Default() %s = %v, want %v", c.key, c.got, c.want)
		}
	}
	if ps := valid().Validate(); len(ps) != 0 {
		t.Errorf("Default() with issuer and secret has problems: %v", ps)
	}
	// Without issuer and secret, exactly those two are reported.
	var keys []string
	for _, p := range Default().Validate() {
		keys = append(keys, p.Key)
	}
	if want := []string{"issuer", "key-encryption-secret"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("Default().Validate() keys = %q, want %q", keys, want)
	}
}

func TestKeys(t *testing.T) {
	keys := Keys()
	if len(keys) == 0 {
		t.Fatal("Keys() is empty")
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.Key] {
			t.Errorf("key %q listed twice", k.Key)
		}
		seen[k.Key] = true
		if k.Description == "" {
			t.Errorf("key %q has no help tag", k.Key)
		}
		if k.Env != EnvName(k.Key) || !strings.HasPrefix(k.Env, "LATCH_") || strings.Contains(k.Env, "-") {
			t.Errorf("key %q env = %q", k.Key, k.Env)
		}
		if k.Flag != "--"+k.Key {
			t.Errorf("key %q flag = %q", k.Key, k.Flag)
		}
		if k.Key != strings.ToLower(k.Key) || strings.Contains(k.Key, "_") {
			t.Errorf("key %q is not lower-kebab-case", k.Key)
		}
	}
	byKey := map[string]KeyDoc{}
	for _, k := range keys {
		byKey[k.Key] = k
	}
	for key, want := range map[string]KeyDoc{
		"key-encryption-secret":         {Env: "LATCH_KEY_ENCRYPTION_SECRET", Type: "string", Default: "", Secret: true},
		"admin-token":                   {Env: "LATCH_ADMIN_TOKEN", Type: "string", Default: "", Secret: true},
		"code-ttl":                      {Env: "LATCH_CODE_TTL", Type: "duration", Default: "1m"},
		"confidential-refresh-absolute": {Env: "LATCH_CONFIDENTIAL_REFRESH_ABSOLUTE", Type: "duration", Default: "2160h"},
		"password-memory-kib":           {Env: "LATCH_PASSWORD_MEMORY_KIB", Type: "uint", Default: "19456"},
		"trusted-proxies":               {Env: "LATCH_TRUSTED_PROXIES", Type: "list", Default: ""},
		"db-max-conns":                  {Env: "LATCH_DB_MAX_CONNS", Type: "int", Default: "16"},
		"addr":                          {Env: "LATCH_ADDR", Type: "string", Default: ":8080"},
	} {
		got, ok := byKey[key]
		if !ok {
			t.Errorf("Keys() lacks %q", key)
			continue
		}
		if got.Env != want.Env || got.Type != want.Type || got.Default != want.Default || got.Secret != want.Secret {
			t.Errorf("Keys()[%q] = %+v, want env %s type %s default %q secret %v", key, got, want.Env, want.Type, want.Default, want.Secret)
		}
	}
	if seen["dev"] || seen["-"] {
		t.Error(`Keys() lists the yaml:"-" Dev field`)
	}
	// Every tagged field of Config is a key.
	n := 0
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		if tag := ct.Field(i).Tag.Get("yaml"); tag != "" && tag != "-" {
			n++
		}
	}
	if n != len(keys) {
		t.Errorf("Keys() has %d keys, Config has %d tagged fields", len(keys), n)
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{60 * time.Second, "1m"},
		{10 * time.Minute, "10m"},
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + 30*time.Second, "1h0m30s"},
		{1500 * time.Millisecond, "1.5s"},
		{-time.Minute, "-1m"},
	}
	for _, tt := range tests {
		got := formatDuration(tt.d)
		if got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tt.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.d)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string // "" means valid
		msg    string // substring of the message
	}{
		{"valid", func(c *Config) {}, "", ""},
		{"issuer with path", func(c *Config) { c.Issuer = "https://example.com/auth" }, "", ""},
		{"issuer with port", func(c *Config) { c.Issuer = "https://example.com:8443" }, "", ""},
		{"http localhost", func(c *Config) { c.Issuer = "http://localhost:8080" }, "", ""},
		{"http LOCALHOST", func(c *Config) { c.Issuer = "http://LOCALHOST:8080" }, "", ""}, // a DNS name: case-insensitive
		// Loopback is oauth.IsLoopbackHost: not every client resolves
		// subdomains of localhost locally, so they need https.
		{"http sub.localhost", func(c *Config) { c.Issuer = "http://latch.localhost:8080" }, "issuer", "https"},
		{"http localhost trailing dot", func(c *Config) { c.Issuer = "http://localhost.:8080" }, "issuer", "https"},
		{"http ipv4-mapped loopback", func(c *Config) { c.Issuer = "http://[::ffff:127.0.0.1]:8080" }, "issuer", "https"},
		{"http 127.0.0.1", func(c *Config) { c.Issuer = "http://127.0.0.1:8080" }, "", ""},
		{"http 127.1.2.3", func(c *Config) { c.Issuer = "http://127.1.2.3" }, "", ""},
		{"http [::1]", func(c *Config) { c.Issuer = "http://[::1]:8080" }, "", ""},
		{"issuer empty", func(c *Config) { c.Issuer = "" }, "issuer", "required"},
		{"issuer relative", func(c *Config) { c.Issuer = "/auth" }, "issuer", "absolute"},
		{"issuer no scheme", func(c *Config) { c.Issuer = "example.com" }, "issuer", "absolute"},
		{"issuer ftp", func(c *Config) { c.Issuer = "ftp://example.com" }, "issuer", "absolute"},
		{"issuer opaque", func(c *Config) { c.Issuer = "https:example.com" }, "issuer", "no host"},
		{"issuer no host", func(c *Config) { c.Issuer = "https:///path" }, "issuer", "no host"},
		{"issuer port only", func(c *Config) { c.Issuer = "https://:443" }, "issuer", "no host"},
		{"issuer userinfo", func(c *Config) { c.Issuer = "https://u:p@example.com" }, "issuer", "user information"},
		{"issuer query", func(c *Config) { c.Issuer = "https://example.com?x=1" }, "issuer", "query"},
		{"issuer empty query", func(c *Config) { c.Issuer = "https://example.com?" }, "issuer", "query"},
		{"issuer fragment", func(c *Config) { c.Issuer = "https://example.com#x" }, "issuer", "fragment"},
		{"issuer empty fragment", func(c *Config) { c.Issuer = "https://example.com#" }, "issuer", "fragment"},
		{"issuer trailing slash", func(c *Config) { c.Issuer = "https://example.com/" }, "issuer", "write https://example.com"},
		{"issuer path trailing slash", func(c *Config) { c.Issuer = "https://example.com/auth/" }, "issuer", "slash"},
		{"http public host", func(c *Config) { c.Issuer = "http://example.com" }, "issuer", "https"},
		{"http localhost lookalike", func(c *Config) { c.Issuer = "http://localhost.example.com" }, "issuer", "https"},
		{"http private ip", func(c *Config) { c.Issuer = "http://10.0.0.1" }, "issuer", "https"},
		{"http unspecified ip", func(c *Config) { c.Issuer = "http://0.0.0.0:8080" }, "issuer", "https"},
		{"issuer bad url", func(c *Config) { c.Issuer = "https://exa mple.com" }, "issuer", "not a URL"},
		{"secret empty", func(c *Config) { c.KeyEncryptionSecret = "" }, "key-encryption-secret", "required"},
		{"secret short", func(c *Config) { c.KeyEncryptionSecret = testSecret[:31] }, "key-encryption-secret", "31 characters"},
		{"secret 32 multibyte", func(c *Config) { c.KeyEncryptionSecret = strings.Repeat("é", 32) }, "", ""},
		{"alg ES256", func(c *Config) { c.SigningAlg = "ES256" }, "", ""},
		{"alg EdDSA", func(c *Config) { c.SigningAlg = "EdDSA" }, "", ""},
		{"alg none", func(c *Config) { c.SigningAlg = "none" }, "signing-alg", `"none"`},
		{"alg HS256", func(c *Config) { c.SigningAlg = "HS256" }, "signing-alg", "HS256"},
		{"alg lower case", func(c *Config) { c.SigningAlg = "rs256" }, "signing-alg", "rs256"},
		{"code ttl 1s", func(c *Config) { c.CodeTTL = time.Second }, "", ""},
		{"code ttl 61s", func(c *Config) { c.CodeTTL = 61 * time.Second }, "code-ttl", "at most 1m"},
		{"code ttl 0", func(c *Config) { c.CodeTTL = 0 }, "code-ttl", "positive"},
		{"challenge replay window = code ttl", func(c *Config) { c.ChallengeReplayWindow = c.CodeTTL }, "", ""},
		{"challenge replay window below code ttl", func(c *Config) { c.ChallengeReplayWindow = 30 * time.Second }, "challenge-replay-window", "at least code-ttl (1m), got 30s"},
		{"challenge replay window 0", func(c *Config) { c.ChallengeReplayWindow = 0 }, "challenge-replay-window", "positive"},
		{"access ttl negative", func(c *Config) { c.AccessTokenTTL = -time.Second }, "access-token-ttl", "positive"},
		{"access ttl 1h", func(c *Config) { c.AccessTokenTTL = time.Hour }, "", ""},
		// Refused with the limit, never clamped to it.
		{"access ttl 2h", func(c *Config) { c.AccessTokenTTL = 2 * time.Hour }, "access-token-ttl", "must be at most 1h (the longest access token Latch issues), got 2h"},
		{"id ttl 0", func(c *Config) { c.IDTokenTTL = 0 }, "id-token-ttl", "positive"},
		{"session ttl 0", func(c *Config) { c.SessionTTL = 0 }, "session-ttl", "positive"},
		{"hsts 0", func(c *Config) { c.HSTSMaxAge = 0 }, "", ""},
		{"hsts negative", func(c *Config) { c.HSTSMaxAge = -time.Second }, "hsts-max-age", "non-negative"},
		{"hsts fraction", func(c *Config) { c.HSTSMaxAge = 1500 * time.Millisecond }, "hsts-max-age", "whole number of seconds"},
		{"shutdown 0", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown-timeout", "positive"},
		{"public idle 0", func(c *Config) { c.PublicRefreshIdle = 0 }, "public-refresh-idle", "positive"},
		{"confidential absolute 0", func(c *Config) { c.ConfidentialRefreshAbsolute = 0 }, "confidential-refresh-absolute", "positive"},
		{"idle over absolute", func(c *Config) { c.PublicRefreshIdle = 200 * time.Hour }, "public-refresh-idle", "public-refresh-absolute"},
		{"password memory 0", func(c *Config) { c.PasswordMemoryKiB = 0 }, "password-memory-kib", "between"},
		{"password iterations 0", func(c *Config) { c.PasswordIterations = 0 }, "password-iterations", "between"},
		{"log format text", func(c *Config) { c.LogFormat = "text" }, "", ""},
		{"log format xml", func(c *Config) { c.LogFormat = "xml" }, "log-format", "xml"},
		{"brand colour", func(c *Config) { c.BrandColor = "#0A7d4f"; c.BrandColorDark = "#5fd3a0" }, "", ""},
		{"brand colour name", func(c *Config) { c.BrandColor = "red" }, "brand-color", "#rrggbb"},
		{"brand colour short", func(c *Config) { c.BrandColor = "#fff" }, "brand-color", "#rrggbb"},
		{"brand colour css injection", func(c *Config) { c.BrandColorDark = "#123456;}body{background:url(//x)" }, "brand-color-dark", "#rrggbb"},
		{"log level debug", func(c *Config) { c.LogLevel = "debug" }, "", ""},
		{"log level trace", func(c *Config) { c.LogLevel = "trace" }, "log-level", "trace"},
		{"log level empty", func(c *Config) { c.LogLevel = "" }, "log-level", `""`},
		{"proxies ok", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "fd00::/8", "192.0.2.7/32"} }, "", ""},
		{"proxy bare ip", func(c *Config) { c.TrustedProxies = []string{"10.0.0.1"} }, "trusted-proxies", "10.0.0.1/32"},
		{"proxy junk", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"} }, "trusted-proxies", "proxy.local"},
		{"proxy host bits", func(c *Config) { c.TrustedProxies = []string{"10.1.2.3/8"} }, "trusted-proxies", "10.0.0.0/8"},
		{"tls both", func(c *Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }, "", ""},
		{"tls cert only", func(c *Config) { c.TLSCert = "c.pem" }, "tls-key", "required"},
		{"tls key only", func(c *Config) { c.TLSKey = "k.pem" }, "tls-cert", "required"},
		{"db max conns 0", func(c *Config) { c.DBMaxConns = 0 }, "db-max-conns", "at least 1"},
		{"request timeout 0", func(c *Config) { c.RequestTimeout = 0 }, "request-timeout", "positive"},
		{"max concurrent requests 0", func(c *Config) { c.MaxConcurrentRequests = 0 }, "max-concurrent-requests", "at least 1"},
		{"request queue negative", func(c *Config) { c.RequestQueue = -1 }, "request-queue", "negative"},
		{"request queue wait 0", func(c *Config) { c.RequestQueueWait = 0 }, "request-queue-wait", "positive"},
		{"password queue negative", func(c *Config) { c.PasswordQueue = -1 }, "password-queue", "negative"},
		{"db postgres", func(c *Config) { c.DB = "postgres://u:p@db/latch?sslmode=require" }, "", ""},
		{"db postgresql", func(c *Config) { c.DB = "postgresql://db/latch" }, "", ""},
		{"db mysql", func(c *Config) { c.DB = "mysql://db/latch" }, "db", "must start with"},
		{"db bare path", func(c *Config) { c.DB = "latch.db" }, "db", "must start with"},
		{"db sqlite no path", func(c *Config) { c.DB = "sqlite:" }, "db", "path"},
		{"db empty", func(c *Config) { c.DB = "" }, "db", "required"},
		{"addr bad", func(c *Config) { c.Addr = "8080" }, "addr", "host:port"},
		{"addr bad port", func(c *Config) { c.Addr = ":http" }, "addr", "port"},
		{"admin addr empty disables it", func(c *Config) { c.AdminAddr = "" }, "", ""},
		{"admin addr bad", func(c *Config) { c.AdminAddr = "9090" }, "admin-addr", "host:port"},
		{"admin addr public without token", func(c *Config) { c.AdminAddr = ":9090" }, "admin-addr", "admin-token"},
		{"admin addr public ip without token", func(c *Config) { c.AdminAddr = "10.0.0.5:9090" }, "admin-addr", "loopback"},
		{"admin addr public with token", func(c *Config) { c.AdminAddr, c.AdminToken = "0.0.0.0:9090", strings.Repeat("t", 32) }, "", ""},
		{"admin addr localhost", func(c *Config) { c.AdminAddr = "localhost:9090" }, "", ""},
		{"admin addr ipv6 loopback", func(c *Config) { c.AdminAddr = "[::1]:9090" }, "", ""},
		{"admin addr sub.localhost without token", func(c *Config) { c.AdminAddr = "admin.localhost:9090" }, "admin-addr", "loopback"},
		{"admin addr ipv4-mapped without token", func(c *Config) { c.AdminAddr = "[::ffff:127.0.0.1]:9090" }, "admin-addr", "loopback"},
		{"admin token short", func(c *Config) { c.AdminToken = "short-token" }, "admin-token", "at least 24"},
		{"admin same as addr", func(c *Config) { c.AdminAddr = c.Addr }, "admin-addr", "differ"},
		{"lockout max below initial", func(c *Config) { c.LockoutInitial, c.LockoutMax = 10*time.Minute, time.Minute }, "lockout-max", "lockout-initial"},
		{"login max failures zero", func(c *Config) { c.LoginMaxFailures = 0 }, "login-max-failures", "at least 1"},
		{"device max requests zero", func(c *Config) { c.DeviceMaxRequests = 0 }, "device-max-requests", "at least 1"},
		{"key rotation 24h", func(c *Config) { c.KeyRotationInterval = 24 * time.Hour }, "", ""},
		{"key rotation 59m", func(c *Config) { c.KeyRotationInterval = 59 * time.Minute }, "key-rotation-interval", "at least 1h"},
		{"key rotation negative", func(c *Config) { c.KeyRotationInterval = -time.Hour }, "key-rotation-interval", "at least 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			ps := c.Validate()
			if tt.key == "" {
				if len(ps) != 0 {
					t.Errorf("Validate() = %v, want no problems", ps)
				}
				return
			}
			if len(ps) != 1 {
				t.Fatalf("Validate() = %v, want exactly one problem for %s", ps, tt.key)
			}
			if ps[0].Key != tt.key || !strings.Contains(ps[0].Message, tt.msg) {
				t.Errorf("Validate() = %v, want key %s with message containing %q", ps[0], tt.key, tt.msg)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{SigningAlg: "none", TrustedProxies: []string{"x", "y"}, BrandColor: "red", BrandColorDark: "blue", AuthenticationPolicy: "sms",
		RegistrationResources: []string{"mcp.example.com", "https://mcp.example.com/#x"}, WebAuthnRPID: "com"}
	ps := c.Validate()
	got := map[string]int{}
	for _, p := range ps {
		got[p.Key]++
	}
	for _, k := range Keys() {
		switch k.Key {
		case "admin-addr", "admin-token", "tls-cert", "tls-key", "dpop-nonce", "hsts-max-age", "require-pushed-authorization-requests",
			"product-name", "brand-logo", "brand-stylesheet", "templates-dir": // checked when the UI is built at start
			continue // empty is fine (an empty admin-addr disables the admin listener; hsts-max-age 0 clears HSTS)
		case "request-queue", "password-concurrency", "password-queue", "key-rotation-interval":
			continue // 0 is fine: no queue, half the CPUs, no automatic rotation
		case "cimd-allowed-hosts":
			continue // empty is fine unless cimd-policy is allow-list
		}
		if got[k.Key] == 0 {
			t.Errorf("Validate(zero Config) has no problem for %s; got %v", k.Key, ps)
		}
	}
	if got["registration-resources"] != 2 {
		t.Errorf("Validate() reported %d registration-resources problems, want 2 (a relative URI, a fragment)", got["registration-resources"])
	}
	if got["trusted-proxies"] != 2 {
		t.Errorf("Validate() reported %d trusted-proxies problems, want 2", got["trusted-proxies"])
	}
	err := Err(ps)
	if err == nil || !strings.Contains(err.Error(), "signing-alg: ") {
		t.Errorf("Err(problems) = %v, want it to list signing-alg", err)
	}
	if Err(nil) != nil {
		t.Error("Err(nil) != nil")
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	c := valid()
	c.KeyEncryptionSecret = "short-secret-xyz"
	c.DB = "postgres://user:hunter2@db:5432/latch\x7f"
	for _, p := range c.Validate() {
		if strings.Contains(p.Message, "short-secret-xyz") || strings.Contains(p.Message, "hunter2") {
			t.Errorf("problem %v echoes a secret", p)
		}
	}
}

func TestRedacted(t *testing.T) {
	c := valid()
	c.AdminToken = "admin-token-value"
	r := c.Redacted()
	if r.KeyEncryptionSecret != "REDACTED" || r.AdminToken != "REDACTED" {
		t.Errorf("Redacted() secrets = %q, %q; want REDACTED", r.KeyEncryptionSecret, r.AdminToken)
	}
	if c.KeyEncryptionSecret != testSecret || c.AdminToken != "admin-token-value" {
		t.Error("Redacted() modified its receiver")
	}
	// Everything else is untouched.
	r.KeyEncryptionSecret, r.AdminToken = c.KeyEncryptionSecret, c.AdminToken
	if !reflect.DeepEqual(r, c) {
		t.Errorf("Redacted() changed non-secret fields: %+v vs %+v", r, c)
	}
	// An unset secret stays empty, so "not configured" remains visible.
	if got := Default().Redacted().AdminToken; got != "" {
		t.Errorf("Redacted() of empty admin-token = %q, want empty", got)
	}
}

func TestLogValueRedacts(t *testing.T) {
	c := valid()
	c.AdminToken = "admin-token-value"
	c.TrustedProxies = []string{"10.0.0.0/8", "fd00::/8"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, secret := range []string{testSecret, "admin-token-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("logged config contains secret %q: %s", secret, out)
		}
	}
	for _, want := range []string{"config.key-encryption-secret=REDACTED", "config.code-ttl=1m", "config.trusted-proxies=10.0.0.0/8,fd00::/8", "config.issuer=https://id.example.com", "config.dev=false"} {
		if !strings.Contains(out, want) {
			t.Errorf("logged config lacks %q: %s", want, out)
		}
	}
}

// The database URL is logged at start (it says which database); its
// password must not be.
func TestRedactedDatabasePassword(t *testing.T) {
	for _, tc := range []struct{ db, want string }{
		{"postgres://latch:hunter2@db:5432/latch?sslmode=verify-full", "postgres://latch:REDACTED@db:5432/latch?sslmode=verify-full"},
		{"postgres://latch@db/latch?password=hunter2&sslmode=require", "postgres://latch@db/latch?password=REDACTED&sslmode=require"},
		{"postgres://latch@db/latch?sslmode=disable", "postgres://latch@db/latch?sslmode=disable"},
		{"postgres://latch:hunter2@db/%zz", "REDACTED"}, // unparseable
		{"sqlite:.latch/latch.db", "sqlite:.latch/latch.db"},
	} {
		c := valid()
		c.DB = tc.db
		if got := c.Redacted().DB; got != tc.want {
			t.Errorf("Redacted().DB of %q = %q, want %q", tc.db, got, tc.want)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
		if strings.Contains(buf.String(), "hunter2") {
			t.Errorf("logged config leaks the database password: %s", buf.String())
		}
		if c.DB != tc.db {
			t.Errorf("Redacted() modified its receiver's DB")
		}
	}
}
