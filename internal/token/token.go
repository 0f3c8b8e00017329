// Package token issues and checks Latch's tokens: JWT access tokens
// (RFC 9068), ID tokens (OIDC Core §2), the JWKS, signing-key generation
// and rotation with private keys encrypted at rest, and the opaque secrets
// (codes, refresh tokens, session ids) that are stored only as hashes. It is
// the only package of the server that imports go-jose.
//
// Invariants:
//   - Verification accepts only RS256, ES256 and EdDSA, passed to go-jose
//     as the allowed list at parse time: "none" and HMAC tokens (including
//     "HS256 keyed with our public key") never reach a key.
//   - A token verifies only with the published key named by its kid, and
//     only if its alg is that key's alg.
//   - Private keys are decrypted when keys are loaded, never per request;
//     at rest they are sealed with the kid as additional data, so a sealed
//     key cannot be moved onto another key's row.
//   - Published keys are the active ones and those retired less than
//     RetiredTTL ago; nothing else verifies or appears in the JWKS.
//
// What it does not do: it does not check audience, scope or revocation,
// and it does not decide token lifetimes; the server does.
package token

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
)

// Signing algorithms Latch supports.
const (
	RS256 = "RS256" // RSA 2048, the one every client must support
	ES256 = "ES256" // P-256
	EdDSA = "EdDSA" // Ed25519
)

// Algorithms lists every supported signing algorithm.
func Algorithms() []string { return []string{RS256, ES256, EdDSA} }

// Token types (JOSE typ header).
const (
	TypeAccessToken = "at+jwt" // RFC 9068 §2.1
	TypeIDToken     = "JWT"
)

// Key statuses (KeyInfo.Status).
const (
	StatusActive    = "active"    // signs new tokens; published
	StatusPublished = "published" // retired less than RetiredTTL ago; verifies, in the JWKS
	StatusExpired   = "expired"   // retired RetiredTTL ago or more; Prune deletes it
	// StatusInactive is a key that was created but never activated (a
	// process stopped between the two steps). Never published; Prune
	// deletes it once it is RetiredTTL old.
	StatusInactive = "inactive"
)

// Errors. Every verification failure wraps ErrInvalidToken; an expired
// access token wraps ErrExpired as well.
var (
	ErrInvalidToken = errors.New("token: invalid token")
	ErrExpired      = errors.New("token: expired")
	ErrNoKey        = errors.New("token: no active signing key")
)

// Defaults and rate limits.
const (
	defaultRefreshInterval = 30 * time.Second
	defaultRetiredTTL      = 24 * time.Hour
	// unknownKidInterval bounds reloads caused by tokens with a kid we do
	// not know: a flood of made-up kids costs one store read a second.
	unknownKidInterval = time.Second
	// failedReloadRetry: after a lazy reload fails, the keys loaded before
	// keep serving and the next attempt waits this long.
	failedReloadRetry = time.Second
)

// KeyStore is the part of store.Store that key management needs.
type KeyStore interface {
	CreateKey(ctx context.Context, k store.SigningKey) error
	ListKeys(ctx context.Context) ([]store.SigningKey, error)
	ActivateKey(ctx context.Context, id string, now time.Time) error
	DeleteKey(ctx context.Context, id string) error
}

// KeysConfig configures Keys.
type KeysConfig struct {
	Store  KeyStore
	Sealer *seal.Sealer // encrypts private keys at rest
	// Algs are the algorithms kept with an active key; Algs[0] is the
	// default, used for access tokens and for ID tokens unless a client
	// asks otherwise. Empty: RS256, ES256, EdDSA with RS256 default.
	Algs []string
	Now  func() time.Time // default time.Now
	// RetiredTTL is how long a retired key stays published in the JWKS
	// (the longest token lifetime plus leeway). Zero: 24 h.
	RetiredTTL time.Duration
	// RefreshInterval bounds how long a rotation made by another instance
	// takes to be seen here; default 30 s. An unknown kid on verification
	// also triggers a reload (at most once a second).
	RefreshInterval time.Duration
	Logger          *slog.Logger // default: discard
	// VerifyCacheSize bounds the cache of tokens whose signature Verify
	// has checked (see verifyCache); 0: 10000, negative: no cache.
	VerifyCacheSize int
}

// KeyInfo describes one key for listings (latch keys list).
type KeyInfo struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	Status    string    `json:"status"` // active, published (retired, still in JWKS), expired, inactive
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// PublishedUntil is when a retired key leaves the JWKS.
	PublishedUntil time.Time `json:"published_until,omitzero"`
}

// Keys holds the signing keys in memory (private keys decrypted once per
// load, never per request) and signs and verifies JWTs. Safe for
// concurrent use.
type Keys struct {
	store      KeyStore
	sealer     *seal.Sealer
	algs       []string
	now        func() time.Time
	retiredTTL time.Duration
	refresh    time.Duration
	log        *slog.Logger
	// accepted is the exact list of algorithms handed to go-jose's parser.
	accepted []jose.SignatureAlgorithm
	// verified caches signature checks; nil when disabled.
	verified *verifyCache

	// loadMu serialises loads, key creation and rotation in this process:
	// at most one reload runs at a time.
	loadMu        sync.Mutex
	lastKidReload time.Time // guarded by loadMu

	mu      sync.RWMutex
	set     *keySet   // nil until the first load; replaced, never mutated
	retryAt time.Time // after a failed lazy reload, when to try again
}

// NewKeys returns a Keys; call Ensure or Load before signing (Sign and
// Verify load on first use otherwise).
func NewKeys(cfg KeysConfig) (*Keys, error) {
	if cfg.Store == nil {
		return nil, errors.New("token: KeysConfig.Store is nil")
	}
	if cfg.Sealer == nil {
		return nil, errors.New("token: KeysConfig.Sealer is nil")
	}
	algs := slices.Clone(cfg.Algs)
	if len(algs) == 0 {
		algs = Algorithms()
	}
	for i, a := range algs {
		if !slices.Contains(Algorithms(), a) {
			return nil, fmt.Errorf("token: unsupported signing algorithm %q", a)
		}
		if slices.Contains(algs[:i], a) {
			return nil, fmt.Errorf("token: algorithm %q listed twice", a)
		}
	}
	if cfg.RetiredTTL < 0 || cfg.RefreshInterval < 0 {
		return nil, errors.New("token: negative RetiredTTL or RefreshInterval")
	}
	k := &Keys{
		store:      cfg.Store,
		sealer:     cfg.Sealer,
		algs:       algs,
		now:        cfg.Now,
		retiredTTL: cfg.RetiredTTL,
		refresh:    cfg.RefreshInterval,
		log:        cfg.Logger,
		accepted:   []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA},
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.retiredTTL == 0 {
		k.retiredTTL = defaultRetiredTTL
	}
	if k.refresh == 0 {
		k.refresh = defaultRefreshInterval
	}
	switch {
	case cfg.VerifyCacheSize == 0:
		k.verified = newVerifyCache(defaultVerifyCacheSize)
	case cfg.VerifyCacheSize > 0:
		k.verified = newVerifyCache(cfg.VerifyCacheSize)
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	return k, nil
}

// Ensure creates and activates a key for every configured algorithm that
// has no active key, then loads. Safe when several instances start at once
// (at worst one extra key is created and immediately retired).
func (k *Keys) Ensure(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: list keys: %w", err)
	}
	for _, alg := range k.algs {
		if !slices.ContainsFunc(stored, func(sk store.SigningKey) bool { return sk.Active && sk.Alg == alg }) {
			if _, err := k.createLocked(ctx, alg); err != nil {
				return err
			}
		}
	}
	return k.loadLocked(ctx)
}

// Load reloads keys from the store and decrypts the active private keys.
func (k *Keys) Load(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	return k.loadLocked(ctx)
}

// Rotate creates a new key for alg ("" means the default), activates it
// (the previous one of that alg is retired but stays published for
// RetiredTTL) and reloads. alg may be any supported algorithm, configured
// or not.
func (k *Keys) Rotate(ctx context.Context, alg string) (KeyInfo, error) {
	if alg == "" {
		alg = k.DefaultAlg()
	}
	if !slices.Contains(Algorithms(), alg) {
		return KeyInfo{}, fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	sk, err := k.createLocked(ctx, alg)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := k.loadLocked(ctx); err != nil {
		return KeyInfo{}, err
	}
	return k.info(sk, k.now()), nil
}

// List describes every stored key, newest first.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: list keys: %w", err)
	}
	now := k.now()
	infos := make([]KeyInfo, 0, len(stored))
	for _, sk := range stored {
		infos = append(infos, k.info(sk, now))
	}
	return infos, nil
}

// Prune deletes keys that are retired and no longer published, and keys
// never activated that are older than RetiredTTL. A key deleted meanwhile
// by another instance is not an error and not counted.
func (k *Keys) Prune(ctx context.Context) (int, error) {
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("token: list keys: %w", err)
	}
	now := k.now()
	n := 0
	for _, sk := range stored {
		switch st, _ := k.status(sk, now); {
		case st == StatusExpired:
		case st == StatusInactive && !now.Before(sk.CreatedAt.Add(k.retiredTTL)):
		default:
			continue
		}
		if err := k.store.DeleteKey(ctx, sk.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return n, fmt.Errorf("token: delete key %s: %w", sk.ID, err)
		}
		k.log.InfoContext(ctx, "token: signing key pruned", "kid", sk.ID, "alg", sk.Alg)
		n++
	}
	return n, nil
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of every published
// public key: active keys and retired keys within RetiredTTL. Each key has
// kid, alg and use "sig". The bytes are built once per load; the caller
// gets its own copy.
func (k *Keys) JWKS(ctx context.Context) ([]byte, error) {
	s, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.jwks), nil
}

// DefaultAlg is Algs[0].
func (k *Keys) DefaultAlg() string { return k.algs[0] }

// Supports reports whether alg has an active key (in the keys loaded last;
// it does not reload).
func (k *Keys) Supports(alg string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set != nil && k.set.active[alg] != nil
}

// Sign signs claims (marshalled with encoding/json) with the active key
// for alg ("" = default), with the typ header and the key's kid. An empty
// typ omits the header.
func (k *Keys) Sign(ctx context.Context, alg, typ string, claims any) (string, error) {
	s, err := k.current(ctx)
	if err != nil {
		return "", err
	}
	if alg == "" {
		alg = k.DefaultAlg()
	}
	ak := s.active[alg]
	if ak == nil {
		return "", fmt.Errorf("%w for %q", ErrNoKey, alg)
	}
	signer, err := s.signer(ak, typ)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: marshal claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// Verify checks raw's signature against the published keys (only the
// algorithms Latch supports are accepted; "none" and HMAC never are),
// checks that the typ header equals typ (case-insensitively, with or
// without the "application/" prefix), and unmarshals the payload into
// claims. It does not check any claim: see VerifyAccessToken.
//
// Only the JWS Compact Serialization is accepted. The key is chosen by the
// kid header alone (a token without kid is rejected), and the token's alg
// must be that key's alg. Every failure wraps ErrInvalidToken.
//
// A token verified before is recognised by its SHA-256 and not verified
// again while its key is still published and its exp has not passed (see
// verifyCache): the claims are decoded from the remembered payload.
func (k *Keys) Verify(ctx context.Context, raw, typ string, claims any) error {
	s, err := k.current(ctx)
	if err != nil {
		return err
	}
	var cacheKey [sha256.Size]byte
	if k.verified != nil {
		cacheKey = sha256.Sum256([]byte(raw))
		if e, ok := k.verified.get(cacheKey); ok {
			now := k.now()
			pk := s.public[e.kid]
			if pk != nil && pk.alg == e.alg && (pk.until.IsZero() || now.Before(pk.until)) &&
				e.typ == normalizeTyp(typ) && now.Unix() < e.exp {
				if err := josejson.Unmarshal(e.payload, claims); err != nil {
					return invalid("%v", err)
				}
				return nil
			}
			k.verified.remove(cacheKey)
		}
	}
	// RFC 8725 §3.1: the allowed algorithms are fixed by us, not the token.
	tok, err := jwt.ParseSigned(raw, k.accepted)
	if err != nil {
		return invalid("%v", err)
	}
	if len(tok.Headers) != 1 {
		return invalid("want exactly one signature")
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return invalid("no kid")
	}
	pk := s.public[h.KeyID]
	if pk == nil {
		s, err = k.reloadForUnknownKid(ctx, s)
		if s != nil {
			pk = s.public[h.KeyID]
		}
		if pk == nil {
			if err != nil {
				return invalid("unknown kid %q (reloading keys: %v)", h.KeyID, err)
			}
			return invalid("unknown kid %q", h.KeyID)
		}
	}
	if !pk.until.IsZero() && !k.now().Before(pk.until) {
		return invalid("key %q is no longer published", h.KeyID)
	}
	if h.Algorithm != pk.alg {
		return invalid("alg %q does not match key %q (%s)", h.Algorithm, h.KeyID, pk.alg)
	}
	// RFC 8725 §3.11, RFC 9068 §4: explicit typing keeps one kind of
	// token from being accepted as another.
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); normalizeTyp(typ) == "" || normalizeTyp(got) != normalizeTyp(typ) {
		return invalid("typ %q, want %q", got, typ)
	}
	if err := tok.Claims(pk.key, claims); err != nil {
		return invalid("%v", err)
	}
	// Remember the check; a token with the unencoded-payload option
	// (RFC 7797 b64) is never cached, so the payload is always parts[1].
	if _, b64 := h.ExtraHeaders["b64"]; k.verified != nil && !b64 {
		if e, ok := newVerifyEntry(cacheKey, raw, h.KeyID, pk.alg, normalizeTyp(typ)); ok && k.now().Unix() < e.exp {
			k.verified.add(e)
		}
	}
	return nil
}

// normalizeTyp folds case and drops "application/" (RFC 7515 §4.1.9).
func normalizeTyp(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Confirmation is the cnf claim (RFC 7800, RFC 9449 §6.1).
type Confirmation struct {
	JKT string `json:"jkt"`
}

// AccessClaims are the claims of a JWT access token (RFC 9068 §2.2).
type AccessClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  []string      `json:"aud"`
	ClientID  string        `json:"client_id"`
	Scope     string        `json:"scope,omitempty"`
	IssuedAt  int64         `json:"iat"`
	ExpiresAt int64         `json:"exp"`
	ID        string        `json:"jti"`
	AuthTime  int64         `json:"auth_time,omitempty"`
	ACR       string        `json:"acr,omitempty"` // RFC 9068 §2.2.1, oauth.ACRFor(AMR)
	AMR       []string      `json:"amr,omitempty"`
	GrantID   string        `json:"gid,omitempty"` // the grant (token family) it belongs to
	Cnf       *Confirmation `json:"cnf,omitempty"`
}

// VerifyAccessToken verifies a Latch access token: signature (Verify with
// TypeAccessToken), iss equal to issuer, exp after now, iat not in the
// future beyond leeway. It does not check audience, scope or revocation.
//
// exp and iat must be present. leeway applies to iat only: Latch verifies
// the tokens it issued itself, so exp is exact (RFC 9068 §4 step 7 with no
// skew allowance extending a token's life). An expired token's error wraps
// ErrExpired and ErrInvalidToken.
func (k *Keys) VerifyAccessToken(ctx context.Context, raw, issuer string, leeway time.Duration) (AccessClaims, error) {
	var c AccessClaims
	if err := k.Verify(ctx, raw, TypeAccessToken, &c); err != nil {
		return AccessClaims{}, err
	}
	now := k.now()
	switch {
	case issuer == "" || c.Issuer != issuer:
		return AccessClaims{}, invalid("iss %q, want %q", c.Issuer, issuer)
	case c.ExpiresAt == 0 || c.IssuedAt == 0:
		return AccessClaims{}, invalid("missing exp or iat")
	case !now.Before(time.Unix(c.ExpiresAt, 0)):
		return AccessClaims{}, fmt.Errorf("%w: %w at %d", ErrInvalidToken, ErrExpired, c.ExpiresAt)
	case time.Unix(c.IssuedAt, 0).After(now.Add(leeway)):
		return AccessClaims{}, invalid("iat %d is in the future", c.IssuedAt)
	}
	return c, nil
}

// IDClaims are the claims of an ID token (OIDC Core §2, §5.1).
type IDClaims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	Audience          string   `json:"aud"`
	ExpiresAt         int64    `json:"exp"`
	IssuedAt          int64    `json:"iat"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	AtHash            string   `json:"at_hash,omitempty"`
	AZP               string   `json:"azp,omitempty"`
	SID               string   `json:"sid,omitempty"`
	ACR               string   `json:"acr,omitempty"` // OIDC Core §2, oauth.ACRFor(AMR)
	AMR               []string `json:"amr,omitempty"`
	Name              string   `json:"name,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	EmailVerified     *bool    `json:"email_verified,omitempty"`
}

// ParseIDTokenHint verifies an id_token_hint for RP-Initiated Logout:
// signature by a published key and iss equal to issuer. Expiry is NOT
// checked (OIDC RP-Initiated Logout §2 accepts expired hints). It does not
// check aud: the caller matches it against the client.
func (k *Keys) ParseIDTokenHint(ctx context.Context, raw, issuer string) (IDClaims, error) {
	var c IDClaims
	if err := k.Verify(ctx, raw, TypeIDToken, &c); err != nil {
		return IDClaims{}, err
	}
	if issuer == "" || c.Issuer != issuer {
		return IDClaims{}, invalid("iss %q, want %q", c.Issuer, issuer)
	}
	return c, nil
}

// AtHash computes at_hash for accessToken signed with alg (OIDC Core
// §3.1.3.6): base64url of the left half of the hash (SHA-256 for RS256 and
// ES256, SHA-512 for EdDSA/Ed25519). An unsupported alg gives "".
func AtHash(alg, accessToken string) string {
	switch alg {
	case RS256, ES256:
		sum := sha256.Sum256([]byte(accessToken))
		return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	case EdDSA:
		sum := sha512.Sum512([]byte(accessToken))
		return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	}
	return ""
}
