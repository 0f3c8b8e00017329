package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/registration"
)

// MinSecretLen is the shortest accepted key-encryption-secret, in
// characters.
const MinSecretLen = 32

// MinAdminTokenLen is the shortest accepted admin-token, in characters:
// the token is the admin API's only credential.
const MinAdminTokenLen = 24

// MaxCodeTTL bounds code-ttl: RFC 6749 §4.1.2 recommends an authorization
// code lifetime of at most 10 minutes; Latch allows at most 60 s.
const MaxCodeTTL = 60 * time.Second

// MaxAccessTokenTTL bounds access-token-ttl (registration.MaxAccessTokenTTL
// is the definition: the same bound holds for every client).
const MaxAccessTokenTTL = registration.MaxAccessTokenTTL

// String is "key: message", or "source: message" for a problem found
// while reading a source ("config file latch.yaml: line 3: unknown key…",
// "LATCH_CODE_TTL: invalid duration…").
func (p Problem) String() string {
	if p.Source != "" {
		return p.Source + ": " + p.Message
	}
	return p.Key + ": " + p.Message
}

// Err joins problems into one error, one "key: message" per line, or nil
// when there are none.
func Err(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = errors.New(p.String())
	}
	return errors.Join(errs...)
}

func validate(c Config) []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}

	checkHostPort := func(key, addr string) {
		if addr == "" {
			add(key, "is required (host:port, e.g. :8080)")
			return
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			add(key, "%q is not host:port: %v", addr, err)
			return
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
			add(key, "%q has an invalid port %q", addr, port)
		}
	}
	checkHostPort("addr", c.Addr)
	// An empty admin-addr disables the admin listener (metrics, health,
	// admin API).
	if c.AdminAddr != "" {
		checkHostPort("admin-addr", c.AdminAddr)
		// Metrics and health carry no secrets, but they are not for the
		// internet: off the loopback interface the listener needs a token.
		if c.Addr == c.AdminAddr && !strings.HasSuffix(c.Addr, ":0") { // port 0: each gets its own
			add("admin-addr", "must differ from addr (%s)", c.Addr)
		} else if host, _, err := net.SplitHostPort(c.AdminAddr); err == nil && !oauth.IsLoopbackHost(strings.ToLower(host)) && c.AdminToken == "" {
			add("admin-addr", "%q is not a loopback address: set admin-token (or bind to 127.0.0.1)", c.AdminAddr)
		}
	}
	if n := utf8.RuneCountInString(c.AdminToken); n > 0 && n < MinAdminTokenLen {
		// Never echo the token itself.
		add("admin-token", "is %d characters; at least %d are required (e.g. from `openssl rand -base64 32`)", n, MinAdminTokenLen)
	}

	if msg := issuerProblem(c.Issuer); msg != "" {
		add("issuer", "%s", msg)
	}

	switch {
	case c.DB == "":
		add("db", "is required (sqlite:PATH or postgres://...)")
	case strings.HasPrefix(c.DB, "sqlite:"):
		if strings.TrimPrefix(c.DB, "sqlite:") == "" {
			add("db", "sqlite: needs a path, e.g. sqlite:.latch/latch.db")
		}
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
		if _, err := url.Parse(c.DB); err != nil {
			// Do not echo the URL: it may hold a password.
			add("db", "is not a valid postgres:// URL")
		}
	default:
		add("db", "must start with sqlite:, postgres:// or postgresql://")
	}

	switch n := utf8.RuneCountInString(c.KeyEncryptionSecret); {
	case n == 0:
		add("key-encryption-secret", "is required (at least %d characters, e.g. from `openssl rand -base64 48`)", MinSecretLen)
	case n < MinSecretLen:
		// Never echo the secret itself.
		add("key-encryption-secret", "is %d characters; at least %d are required", n, MinSecretLen)
	}

	switch c.SigningAlg {
	case "RS256", "ES256", "EdDSA":
	default:
		add("signing-alg", "%q is not one of RS256, ES256, EdDSA", c.SigningAlg)
	}
	if err := registration.CheckPolicy(c.AuthenticationPolicy); err != nil {
		add("authentication-policy", "%q is not one of password, second_factor, passkey", c.AuthenticationPolicy)
	}
	// An RP ID browsers would refuse for the issuer (WebAuthn §5.1.3)
	// stops start-up rather than every passkey ceremony.
	if c.WebAuthnRPID != "" {
		if _, err := passkey.New(c.Issuer, c.WebAuthnRPID, ""); err != nil {
			add("webauthn-rp-id", "%s", strings.TrimPrefix(err.Error(), "passkey: "))
		}
	}

	positive := func(key string, d time.Duration) bool {
		if d <= 0 {
			add(key, "must be positive, got %s", formatDuration(d))
			return false
		}
		return true
	}
	if positive("access-token-ttl", c.AccessTokenTTL) && c.AccessTokenTTL > MaxAccessTokenTTL {
		add("access-token-ttl", "must be at most %s (the longest access token Latch issues), got %s", formatDuration(MaxAccessTokenTTL), formatDuration(c.AccessTokenTTL))
	}
	positive("id-token-ttl", c.IDTokenTTL)
	if positive("code-ttl", c.CodeTTL) && c.CodeTTL > MaxCodeTTL {
		add("code-ttl", "must be at most %s, got %s", formatDuration(MaxCodeTTL), formatDuration(c.CodeTTL))
	}
	positive("session-ttl", c.SessionTTL)
	if positive("challenge-replay-window", c.ChallengeReplayWindow) && c.ChallengeReplayWindow < c.CodeTTL {
		add("challenge-replay-window", "must be at least code-ttl (%s), got %s", formatDuration(c.CodeTTL), formatDuration(c.ChallengeReplayWindow))
	}
	if c.HSTSMaxAge < 0 || c.HSTSMaxAge%time.Second != 0 {
		add("hsts-max-age", "must be a non-negative whole number of seconds, got %s", formatDuration(c.HSTSMaxAge))
	}
	positive("shutdown-timeout", c.ShutdownTimeout)
	positive("key-refresh-interval", c.KeyRefreshInterval)
	if r := c.KeyRotationInterval; r != 0 && r < time.Hour {
		add("key-rotation-interval", "must be 0 (off) or at least 1h, got %s", formatDuration(r))
	}
	positive("sweep-interval", c.SweepInterval)
	positive("backchannel-logout-timeout", c.BackchannelLogoutTimeout)
	positive("backchannel-logout-max-age", c.BackchannelLogoutMaxAge)
	refresh := func(idleKey string, idle time.Duration, absKey string, abs time.Duration) {
		okIdle, okAbs := positive(idleKey, idle), positive(absKey, abs)
		if okIdle && okAbs && idle > abs {
			add(idleKey, "(%s) must not exceed %s (%s)", formatDuration(idle), absKey, formatDuration(abs))
		}
	}
	refresh("public-refresh-idle", c.PublicRefreshIdle, "public-refresh-absolute", c.PublicRefreshAbsolute)
	refresh("confidential-refresh-idle", c.ConfidentialRefreshIdle, "confidential-refresh-absolute", c.ConfidentialRefreshAbsolute)

	// argon2 needs at least 8 KiB per lane; 4 GiB is a typo guard.
	const maxMemKiB = 4 << 20
	if c.PasswordMemoryKiB < 8 || c.PasswordMemoryKiB > maxMemKiB {
		add("password-memory-kib", "must be between 8 and %d KiB, got %d (19456 recommended)", maxMemKiB, c.PasswordMemoryKiB)
	}
	if c.PasswordIterations < 1 || c.PasswordIterations > 100 {
		add("password-iterations", "must be between 1 and 100, got %d", c.PasswordIterations)
	}

	switch c.CIMDPolicy {
	case "off", "allow-all":
	case "allow-list":
		if len(c.CIMDAllowedHosts) == 0 {
			add("cimd-allowed-hosts", "is required with cimd-policy allow-list (e.g. mcp.example.com)")
		}
	default:
		add("cimd-policy", "%q is not off, allow-all or allow-list", c.CIMDPolicy)
	}
	for _, h := range c.CIMDAllowedHosts {
		if h == "" || strings.ContainsAny(h, ":/*@ ") {
			add("cimd-allowed-hosts", "%q is not a host name: give the host alone, e.g. mcp.example.com (no scheme, port, path or wildcard)", h)
		}
	}
	switch c.Registration {
	case "off", "initial-access-token", "open":
	default:
		add("registration", "%q is not off, initial-access-token or open", c.Registration)
	}
	for _, g := range c.RegistrationGrantTypes {
		if !slices.Contains(registration.KnownGrantTypes(), g) {
			add("registration-grant-types", "unknown grant type %q (want authorization_code, refresh_token or client_credentials)", g)
		}
	}
	if c.Registration != "off" && len(c.RegistrationGrantTypes) == 0 {
		add("registration-grant-types", "is empty: registered clients could have no grant type")
	}
	for _, r := range c.RegistrationResources {
		// RFC 8707 §2: an absolute URI without a fragment.
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") {
			add("registration-resources", "%q is not an absolute URI without a fragment (RFC 8707 section 2), e.g. https://mcp.example.com/mcp", r)
		}
	}
	if c.RegistrationMaxPerIP < 1 {
		add("registration-max-per-ip", "must be at least 1, got %d", c.RegistrationMaxPerIP)
	}

	switch c.LogFormat {
	case "json", "text":
	default:
		add("log-format", "%q is not json or text", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}

	// Colours are written into a stylesheet: only #rrggbb, so a value can
	// never end its CSS declaration (ui.ValidColor checks the same).
	for key, col := range map[string]string{"brand-color": c.BrandColor, "brand-color-dark": c.BrandColorDark} {
		if col != "" && !isHexColor(col) {
			add(key, "%q is not a colour written #rrggbb (e.g. #3b4fd8)", col)
		}
	}

	if (c.TLSCert == "") != (c.TLSKey == "") {
		if c.TLSCert == "" {
			add("tls-cert", "is required when tls-key is set")
		} else {
			add("tls-key", "is required when tls-cert is set")
		}
	}

	for _, cidr := range c.TrustedProxies {
		p, err := netip.ParsePrefix(cidr)
		switch {
		case err != nil:
			if a, aerr := netip.ParseAddr(cidr); aerr == nil {
				add("trusted-proxies", "%q is an address, not a CIDR (write %s/%d)", cidr, a, a.BitLen())
			} else {
				add("trusted-proxies", "%q is not a CIDR such as 10.0.0.0/8", cidr)
			}
		case p.Masked() != p:
			add("trusted-proxies", "%q has host bits set (did you mean %s?)", cidr, p.Masked())
		}
	}

	if c.DBMaxConns < 1 {
		add("db-max-conns", "must be at least 1, got %d", c.DBMaxConns)
	}

	positive("request-timeout", c.RequestTimeout)
	positive("request-queue-wait", c.RequestQueueWait)
	if c.MaxConcurrentRequests < 1 {
		add("max-concurrent-requests", "must be at least 1, got %d", c.MaxConcurrentRequests)
	}
	for _, q := range []struct {
		key string
		n   int
	}{{"request-queue", c.RequestQueue}, {"password-concurrency", c.PasswordConcurrency}, {"password-queue", c.PasswordQueue}} {
		if q.n < 0 {
			add(q.key, "must not be negative, got %d", q.n)
		}
	}

	// Brute-force protection: a threshold of 0 would lock out on the
	// first failure; a very large one effectively disables the lockout.
	for _, th := range []struct {
		key string
		n   int
	}{{"login-max-failures", c.LoginMaxFailures}, {"ip-max-failures", c.IPMaxFailures}, {"client-max-failures", c.ClientMaxFailures}, {"device-max-requests", c.DeviceMaxRequests}} {
		if th.n < 1 {
			add(th.key, "must be at least 1, got %d", th.n)
		}
	}
	positive("throttle-window", c.ThrottleWindow)
	okInitial, okMax := positive("lockout-initial", c.LockoutInitial), positive("lockout-max", c.LockoutMax)
	if okInitial && okMax && c.LockoutMax < c.LockoutInitial {
		add("lockout-max", "(%s) must not be shorter than lockout-initial (%s)", formatDuration(c.LockoutMax), formatDuration(c.LockoutInitial))
	}
	return ps
}

// issuerProblem checks the issuer identifier rules of OpenID Connect
// Discovery 1.0 §3 and RFC 8414 §2: a URL using the https scheme with no
// query or fragment. Plain http is allowed only for a loopback host (local
// development): oauth.IsLoopbackHost of the lower-cased host, so not for
// subdomains of localhost, which not every client resolves locally. A trailing slash is rejected rather than trimmed: the
// issuer is compared as an exact string by clients (OIDC Core §3.1.3.7,
// RFC 9207), so Latch must emit exactly what the operator wrote.
func issuerProblem(iss string) string {
	if iss == "" {
		return "is required (the public base URL, e.g. https://id.example.com)"
	}
	u, err := url.Parse(iss)
	if err != nil {
		return fmt.Sprintf("%q is not a URL: %v", iss, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be an absolute http:// or https:// URL", iss)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host", iss)
	case u.User != nil:
		return fmt.Sprintf("%q must not contain user information", iss)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Sprintf("%q must not have a query", iss)
	case u.Fragment != "" || strings.Contains(iss, "#"):
		return fmt.Sprintf("%q must not have a fragment", iss)
	case strings.HasSuffix(u.Path, "/"):
		return fmt.Sprintf("%q must not end with a slash (write %s)", iss, strings.TrimRight(iss, "/"))
	case u.Scheme == "http" && !oauth.IsLoopbackHost(strings.ToLower(u.Hostname())):
		return fmt.Sprintf("%q must use https (plain http is allowed only for localhost and loopback addresses)", iss)
	}
	return ""
}

// isHexColor reports whether s is # followed by six hex digits.
func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
