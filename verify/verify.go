package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults for Config's zero values.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultCacheSize          = 10000
	DefaultDPoPProofMaxAge    = 60 * time.Second

	// maxTokenSize bounds the access tokens and DPoP proofs we parse at
	// all; Latch's tokens are about 1 KiB.
	maxTokenSize = 16 << 10
	// fetchTimeout bounds one discovery + JWKS fetch.
	fetchTimeout = 10 * time.Second
	// DefaultDPoPReplayCapacity bounds the set of DPoP proofs seen when
	// Config.DPoPReplayCapacity is zero: about 1 100 DPoP requests per
	// second sustained at the default window (60 s + 30 s leeway), in
	// about 15 MB.
	DefaultDPoPReplayCapacity = 100000
)

// Token types (JOSE typ header).
const (
	typeAccessToken = "at+jwt"   // RFC 9068 §2.1
	typeDPoPProof   = "dpop+jwt" // RFC 9449 §4.2
)

// supportedAlgs are the asymmetric JWS algorithms this package will ever
// accept. "none" and the HMAC algorithms are deliberately absent: with a
// key set of public keys, accepting HS256 would let anyone holding the
// public key forge tokens.
var supportedAlgs = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// defaultAlgs are the algorithms Latch signs with.
func defaultAlgs() []string { return []string{"RS256", "ES256", "EdDSA"} }

// DefaultDPoPAlgorithms are the algorithms accepted for DPoP proofs when
// Config.DPoPAlgorithms is empty, in the order advertised in the algs
// challenge parameter (RFC 9449 §7.1). They are the algorithms Latch
// advertises in dpop_signing_alg_values_supported and accepts at its
// token endpoint — PS256 included, which FAPI 2.0 clients with RSA keys
// must use — so a token issued to a client using any advertised algorithm
// can be used at an API built on this package. Both sides' tests load the
// same vectors (testdata/dpop/vectors.json at the module root).
func DefaultDPoPAlgorithms() []string { return []string{"ES256", "EdDSA", "RS256", "PS256"} }

// Config configures a Verifier. Issuer and Audience are required.
type Config struct {
	// Issuer is the authorization server's issuer identifier; a token's
	// iss must equal it exactly (RFC 9068 §4), no trailing-slash games.
	Issuer string
	// Audience is this resource server's identifier; it must be one of the
	// token's aud values (RFC 9068 §4) unless SkipAudienceCheck is set.
	Audience string
	// JWKSURL is where the signing keys are published. Empty: discovered
	// from Issuer + "/.well-known/openid-configuration" (jwks_uri), with a
	// fallback to the RFC 8414 /.well-known/oauth-authorization-server
	// document; the discovered issuer must equal Issuer.
	JWKSURL string
	// Algorithms accepted for access tokens. Empty: RS256, ES256, EdDSA.
	// Only asymmetric algorithms are allowed; New rejects "none" and HS*.
	Algorithms []string
	// Leeway tolerated for clock skew on exp, nbf and iat (and on the iat
	// of DPoP proofs). Zero means DefaultLeeway; negative means none.
	Leeway time.Duration
	// HTTPClient fetches discovery and JWKS. Nil: http.DefaultClient.
	// Every fetch is also bounded by a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// MinRefreshInterval is the least time between two key-set fetches,
	// successful or not. A token with an unknown kid triggers a fetch only
	// if the last one is at least this old, and concurrent callers share
	// one fetch, so tokens with random kids cannot make the verifier hammer
	// the issuer. Zero: DefaultMinRefreshInterval.
	MinRefreshInterval time.Duration
	// CacheSize bounds the cache of successfully verified tokens (keyed by
	// the token's SHA-256; an entry lives until the token's exp). Zero:
	// DefaultCacheSize; negative disables the cache.
	CacheSize int
	// ExternalURL is this server's public base URL, e.g.
	// "https://api.example.com" or "https://example.com/api" behind a
	// path-stripping proxy. The htu of a DPoP proof must equal ExternalURL
	// + the request path. Empty: the URL is rebuilt from r.Host and r.TLS,
	// which a client controls (Host header) and a TLS-terminating proxy
	// hides: set ExternalURL in production if you accept DPoP.
	ExternalURL string
	// DPoPAlgorithms accepted for DPoP proofs. Empty:
	// DefaultDPoPAlgorithms (ES256, EdDSA, RS256, PS256).
	DPoPAlgorithms []string
	// DPoPProofMaxAge is how old a DPoP proof's iat may be (RFC 9449
	// §11.1). Zero: DefaultDPoPProofMaxAge.
	DPoPProofMaxAge time.Duration
	// DPoPReplayCapacity bounds the set of DPoP proofs already accepted
	// (RFC 9449 §11.1), which a replayed proof is checked against. A
	// proof is remembered until its iat + DPoPProofMaxAge, when it would
	// be refused as too old anyway. When the set is full, new proofs are
	// refused with ErrDPoPReplayCacheFull (401 invalid_dpop_proof) until
	// entries expire — never is an entry forgotten early, which would let
	// its proof be replayed. Size it above the peak number of DPoP
	// requests in DPoPProofMaxAge + Leeway. Zero:
	// DefaultDPoPReplayCapacity; negative is an error.
	DPoPReplayCapacity int
	// Realm is the realm parameter of WWW-Authenticate challenges
	// (RFC 6750 §3). Empty: Audience.
	Realm string
	// Logger receives key-fetch failures and, at debug level, rejected
	// requests. Never tokens. Nil: discard.
	Logger *slog.Logger
	// ResourceMetadata, when set, is this resource's RFC 9728 metadata:
	// ResourceMetadataHandler serves it, and every challenge carries its
	// URL as resource_metadata (RFC 9728 §5.1), so a client that knows
	// only this server's URL can find the authorization server. Its
	// Resource (default Audience) becomes the audience tokens must have
	// (RFC 8707 §2): New refuses an Audience that differs, and
	// SkipAudienceCheck.
	ResourceMetadata *ResourceMetadata

	// SkipAudienceCheck accepts tokens whatever their aud. Dangerous: a
	// token issued for another API would then be accepted by this one.
	SkipAudienceCheck bool
	// InsecureAllowHTTP allows an http:// Issuer, JWKSURL or discovered
	// jwks_uri on a host other than a loopback address. Without TLS,
	// anyone on the path can substitute the keys.
	InsecureAllowHTTP bool
}

// Verifier verifies Latch access tokens. Safe for concurrent use.
type Verifier struct {
	issuer         string
	audience       string
	skipAudience   bool
	algs           []jose.SignatureAlgorithm
	dpopAlgs       []jose.SignatureAlgorithm
	dpopAlgsHeader string // "ES256 EdDSA RS256 PS256", for challenges
	leeway         time.Duration
	dpopMaxAge     time.Duration
	now            func() time.Time
	externalURL    string
	realm          string
	logger         *slog.Logger
	meta           *resourceMeta // nil without Config.ResourceMetadata

	keys   *remoteKeys
	cache  *tokenCache // nil when disabled
	replay *replaySet
}

// New validates cfg and returns a Verifier. It then tries once to fetch
// the issuer's keys, waiting at most 10 s or until ctx ends; if that
// fails (the issuer may start after the resource server) New still
// succeeds, logs a warning, and the keys are fetched on the first Verify.
// Only an invalid cfg makes New fail.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Config.Issuer is required")
	}
	if err := checkURL("Issuer", cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
		return nil, err
	}
	if cfg.ResourceMetadata != nil && cfg.Audience == "" {
		cfg.Audience = cfg.ResourceMetadata.Resource
	}
	if cfg.Audience == "" && !cfg.SkipAudienceCheck {
		return nil, errors.New("verify: Config.Audience is required (or set SkipAudienceCheck)")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL("JWKSURL", cfg.JWKSURL, cfg.InsecureAllowHTTP); err != nil {
			return nil, err
		}
	}
	if cfg.ExternalURL != "" {
		if _, err := normalizeHTU(cfg.ExternalURL); err != nil {
			return nil, fmt.Errorf("verify: Config.ExternalURL: %w", err)
		}
	}
	algs, err := parseAlgs("Algorithms", cfg.Algorithms, defaultAlgs())
	if err != nil {
		return nil, err
	}
	dpopAlgs, err := parseAlgs("DPoPAlgorithms", cfg.DPoPAlgorithms, DefaultDPoPAlgorithms())
	if err != nil {
		return nil, err
	}
	replayCap := cfg.DPoPReplayCapacity
	switch {
	case replayCap == 0:
		replayCap = DefaultDPoPReplayCapacity
	case replayCap < 0:
		return nil, errors.New("verify: Config.DPoPReplayCapacity must not be negative")
	}
	v := &Verifier{
		issuer:       cfg.Issuer,
		audience:     cfg.Audience,
		skipAudience: cfg.SkipAudienceCheck,
		algs:         algs,
		dpopAlgs:     dpopAlgs,
		leeway:       cfg.Leeway,
		dpopMaxAge:   cfg.DPoPProofMaxAge,
		now:          cfg.Now,
		externalURL:  strings.TrimSuffix(cfg.ExternalURL, "/"),
		realm:        cfg.Realm,
		logger:       cfg.Logger,
		replay:       newReplaySet(replayCap),
	}
	names := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		names[i] = string(a)
	}
	v.dpopAlgsHeader = strings.Join(names, " ")
	if cfg.ResourceMetadata != nil {
		if v.meta, v.audience, err = newResourceMeta(cfg, names); err != nil {
			return nil, err
		}
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.dpopMaxAge <= 0 {
		v.dpopMaxAge = DefaultDPoPProofMaxAge
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.realm == "" {
		v.realm = v.audience
	}
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.CacheSize == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case cfg.CacheSize > 0:
		v.cache = newTokenCache(cfg.CacheSize)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	interval := cfg.MinRefreshInterval
	if interval <= 0 {
		interval = DefaultMinRefreshInterval
	}
	v.keys = &remoteKeys{
		client:      client,
		issuer:      cfg.Issuer,
		jwksURL:     cfg.JWKSURL,
		minInterval: interval,
		now:         v.now,
		logger:      v.logger,
		allowHTTP:   cfg.InsecureAllowHTTP,
	}
	if err := v.keys.warmUp(ctx); err != nil {
		v.logger.WarnContext(ctx, "verify: could not fetch the issuer's keys yet; will retry on first use",
			"issuer", cfg.Issuer, "err", err)
	}
	return v, nil
}

// parseAlgs validates a configured algorithm list against supportedAlgs.
func parseAlgs(field string, names, def []string) ([]jose.SignatureAlgorithm, error) {
	if len(names) == 0 {
		names = def
	}
	out := make([]jose.SignatureAlgorithm, 0, len(names))
	for _, n := range names {
		if !slices.Contains(supportedAlgs, n) {
			return nil, fmt.Errorf("verify: Config.%s: algorithm %q is not allowed (asymmetric JWS algorithms only)", field, n)
		}
		out = append(out, jose.SignatureAlgorithm(n))
	}
	return out, nil
}

// checkURL requires an absolute https URL, or http on a loopback host, or
// any http URL when allowHTTP.
func checkURL(field, raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("verify: %s %q is not an absolute URL", field, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		// A host name is case-insensitive: "LOCALHOST" is loopback here.
		if allowHTTP || isLoopback(strings.ToLower(u.Hostname())) {
			return nil
		}
		return fmt.Errorf("verify: %s %q must use https (or set InsecureAllowHTTP)", field, raw)
	default:
		return fmt.Errorf("verify: %s %q must use https", field, raw)
	}
}

// isLoopback reports whether host (bare, as url.URL.Hostname returns it)
// names the loopback interface without DNS: "localhost", an IPv4 literal in
// 127.0.0.0/8, or ::1 — byte for byte, so not "LOCALHOST", "localhost.",
// subdomains of localhost, IPv4-mapped IPv6 or zones. Latch's own
// definition is internal/oauth.IsLoopbackHost, which verify must not
// import; both are tested against testdata/loopback.json.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return false
	}
	return (a.Is4() && a.IsLoopback()) || a == netip.IPv6Loopback()
}

// Claims are the verified claims of an access token (RFC 9068 §2.2).
// Claims returned for the same token may share the Audience, Scopes, AMR
// and Raw values with other callers (they come from the cache): treat them
// as read-only.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ClientID  string
	Scopes    []string // the space-separated scope claim, split
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time // zero when the token has no nbf
	AuthTime  time.Time // zero when the token has no auth_time
	JWTID     string
	GrantID   string // gid: the grant (refresh-token family) the token belongs to
	// ACR is how strongly the user signed in (acr, RFC 9068 §2.2.1):
	// Latch's urn:latch:acr:pwd, urn:latch:acr:mfa, …; "" when absent.
	ACR string
	AMR []string
	// JKT is cnf.jkt (RFC 9449 §6.1), the SHA-256 JWK thumbprint of the
	// client's DPoP key; "" when the token is not DPoP-bound.
	JKT string
	// Raw holds every claim as decoded JSON (numbers are float64).
	Raw map[string]any
}

// HasScope reports whether s is one of the token's scopes.
func (c *Claims) HasScope(s string) bool {
	return slices.Contains(c.Scopes, s)
}

// wireClaims is the JSON shape of a Latch access token.
type wireClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"` // string or array (RFC 7519 §4.1.3)
	ClientID  string           `json:"client_id"`
	Scope     string           `json:"scope"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	AuthTime  *jwt.NumericDate `json:"auth_time"`
	ID        string           `json:"jti"`
	ACR       string           `json:"acr"`
	AMR       []string         `json:"amr"`
	GrantID   string           `json:"gid"`
	Cnf       map[string]any   `json:"cnf"`
}

// Verify verifies rawToken, a Latch access token, and returns its claims.
//
// It checks, in order: the JWS compact syntax and an alg from
// Config.Algorithms (go-jose rejects anything else, including "none" and
// HS256); typ "at+jwt" or "application/at+jwt" (RFC 9068 §4); a kid
// naming a key in the issuer's JWKS (an unknown kid triggers one
// rate-limited refetch); the signature; iss equal to Config.Issuer; aud
// containing Config.Audience; exp present and not past (with leeway); nbf
// and iat not in the future (with leeway); sub and client_id present.
//
// A DPoP-bound token (cnf.jkt, RFC 9449 §6.1) is rejected with
// ErrDPoPRequired: its proof of possession can only be checked with the
// request, by VerifyDPoP or VerifyRequest.
//
// Verify does not check scopes (see Claims.HasScope and Middleware) or
// revocation (a revoked token stays valid here until exp: use the
// issuer's introspection endpoint, RFC 7662, where that matters).
//
// Every error is an *Error with Code CodeInvalidToken.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*Claims, error) {
	c, err := v.verifyToken(ctx, rawToken, SchemeBearer)
	if err != nil {
		return nil, err
	}
	if c.JKT != "" {
		return nil, tokenError(SchemeDPoP, "token is DPoP-bound; a DPoP proof is required", ErrDPoPRequired)
	}
	return c, nil
}

// verifyToken does all of Verify but the DPoP-binding check. Errors are
// presented under scheme.
func (v *Verifier) verifyToken(ctx context.Context, raw, scheme string) (*Claims, error) {
	if raw == "" || len(raw) > maxTokenSize {
		return nil, tokenError(scheme, "malformed token", ErrMalformedToken)
	}
	now := v.now()
	var key [sha256.Size]byte
	if v.cache != nil {
		key = hashToken(raw)
		if c, ok := v.cache.get(key); ok {
			// Entries are added only after every check passed; of those
			// only exp can turn false as time passes (nbf and iat only
			// become truer), so exp is all a hit re-checks.
			if !now.Before(c.ExpiresAt.Add(v.leeway)) {
				v.cache.remove(key)
				return nil, tokenError(scheme, "token expired", ErrExpired)
			}
			cp := *c
			return &cp, nil
		}
	}
	c, err := v.verifyFresh(ctx, raw, now)
	if err != nil {
		return nil, withScheme(err, scheme)
	}
	if v.cache != nil {
		stored := *c
		v.cache.add(key, &stored)
	}
	return c, nil
}

// verifyFresh verifies raw without the cache.
func (v *Verifier) verifyFresh(ctx context.Context, raw string, now time.Time) (*Claims, error) {
	// The allowed-algorithm list is the defence against "none" and
	// HMAC-with-the-public-key confusion: go-jose refuses any other alg.
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		return nil, tokenError(SchemeBearer, "malformed token", fmt.Errorf("%w: %w", ErrMalformedToken, err))
	}
	if len(tok.Headers) != 1 {
		return nil, tokenError(SchemeBearer, "malformed token", ErrMalformedToken)
	}
	h := tok.Headers[0]
	// RFC 9068 §4: typ must be at+jwt or application/at+jwt; an ID token
	// (typ JWT) must never be accepted as an access token.
	if !typeIs(h, typeAccessToken) {
		return nil, tokenError(SchemeBearer, "wrong token type", ErrTokenType)
	}
	if h.KeyID == "" {
		return nil, tokenError(SchemeBearer, "token has no kid", fmt.Errorf("%w: no kid", ErrUnknownKey))
	}
	// Only keys from the issuer's JWKS are used; an embedded jwk, jku,
	// x5u or x5c header is ignored.
	candidates, err := v.keys.lookup(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		return nil, tokenError(SchemeBearer, "unknown signing key", err)
	}
	var (
		w   wireClaims
		all map[string]any
	)
	verified := false
	for _, k := range candidates {
		if err = tok.Claims(k.Key, &w, &all); err == nil {
			verified = true
			break
		}
		if !errors.Is(err, jose.ErrCryptoFailure) {
			break
		}
	}
	if !verified {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, tokenError(SchemeBearer, "invalid signature", fmt.Errorf("%w: %w", ErrSignature, err))
		}
		return nil, tokenError(SchemeBearer, "malformed token", fmt.Errorf("%w: %w", ErrMalformedToken, err))
	}
	return v.checkClaims(&w, all, now)
}

// checkClaims applies RFC 9068 §4 to signature-verified claims.
func (v *Verifier) checkClaims(w *wireClaims, all map[string]any, now time.Time) (*Claims, error) {
	if w.Issuer != v.issuer {
		return nil, tokenError(SchemeBearer, "wrong issuer", ErrIssuer)
	}
	if !v.skipAudience && !w.Audience.Contains(v.audience) {
		return nil, tokenError(SchemeBearer, "wrong audience", ErrAudience)
	}
	if w.Expiry == nil {
		return nil, tokenError(SchemeBearer, "token has no exp", fmt.Errorf("%w: exp", ErrMissingClaim))
	}
	exp := w.Expiry.Time()
	if !now.Before(exp.Add(v.leeway)) {
		return nil, tokenError(SchemeBearer, "token expired", ErrExpired)
	}
	if w.NotBefore != nil && now.Add(v.leeway).Before(w.NotBefore.Time()) {
		return nil, tokenError(SchemeBearer, "token not yet valid", ErrNotYetValid)
	}
	if w.IssuedAt == nil {
		return nil, tokenError(SchemeBearer, "token has no iat", fmt.Errorf("%w: iat", ErrMissingClaim))
	}
	if now.Add(v.leeway).Before(w.IssuedAt.Time()) {
		return nil, tokenError(SchemeBearer, "token issued in the future", ErrNotYetValid)
	}
	if w.Subject == "" {
		return nil, tokenError(SchemeBearer, "token has no sub", fmt.Errorf("%w: sub", ErrMissingClaim))
	}
	if w.ClientID == "" {
		return nil, tokenError(SchemeBearer, "token has no client_id", fmt.Errorf("%w: client_id", ErrMissingClaim))
	}
	jkt, err := confirmation(w.Cnf)
	if err != nil {
		return nil, tokenError(SchemeBearer, "unsupported cnf claim", err)
	}
	c := &Claims{
		Issuer:    w.Issuer,
		Subject:   w.Subject,
		Audience:  []string(w.Audience),
		ClientID:  w.ClientID,
		Scopes:    strings.Fields(w.Scope),
		IssuedAt:  w.IssuedAt.Time(),
		ExpiresAt: exp,
		JWTID:     w.ID,
		GrantID:   w.GrantID,
		ACR:       w.ACR,
		AMR:       w.AMR,
		JKT:       jkt,
		Raw:       all,
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time()
	}
	if w.AuthTime != nil {
		c.AuthTime = w.AuthTime.Time()
	}
	return c, nil
}

// confirmation returns cnf.jkt. A cnf with any other confirmation method
// (e.g. x5t#S256, RFC 8705) is rejected: this package cannot enforce it,
// and accepting the token would silently drop the sender constraint.
func confirmation(cnf map[string]any) (string, error) {
	if cnf == nil {
		return "", nil
	}
	var jkt string
	for k, val := range cnf {
		s, ok := val.(string)
		if k != "jkt" || !ok || s == "" {
			return "", fmt.Errorf("%w: cnf member %q not supported", ErrMalformedToken, k)
		}
		jkt = s
	}
	if jkt == "" {
		return "", fmt.Errorf("%w: empty cnf", ErrMalformedToken)
	}
	return jkt, nil
}

// typeIs reports whether h's typ is want or "application/"+want,
// compared case-insensitively (RFC 7515 §4.1.9, RFC 9068 §4).
func typeIs(h jose.Header, want string) bool {
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}
