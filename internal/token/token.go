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
//   - Keys follow a stored schedule (store.SigningKey.ActivateAt): a key
//     is published from the moment it is stored, signs from its
//     ActivateAt until the next key of its algorithm activates, and stays
//     published RetiredTTL longer. Every instance picks the key to sign
//     with by time from that schedule, never by "newest", so all
//     instances switch at the same instant; a scheduled key (Rotate,
//     automatic rotation) is stored PublicationLead before it activates,
//     longer than any instance's reload interval plus any honest JWKS
//     cache (JWKSMaxAge), so nobody signs with a key a JWKS lacks.
//   - Published keys are the next, active and retired-less-than-
//     RetiredTTL-ago ones; nothing else verifies or appears in the JWKS.
//
// What it does not do: it does not check audience, scope or revocation,
// and it does not decide token lifetimes; the server does.
package token

import (
	"cmp"
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

// Key statuses (KeyInfo.Status), in lifecycle order: next → active →
// published (retired) → expired (gone from the JWKS) → pruned.
const (
	StatusNext      = "next"      // published, signs from its ActivateAt on
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
	// ErrRotationPending: Rotate found a next key already scheduled.
	ErrRotationPending = errors.New("token: a next key is already scheduled")
)

// Defaults and rate limits.
const (
	defaultRefreshInterval = 30 * time.Second
	defaultRetiredTTL      = 24 * time.Hour
	defaultJWKSMaxAge      = 5 * time.Minute
	// publishMargin is added to the publication lead and kept from the
	// JWKS max-age: clock skew between instances and relying parties,
	// and the time a reload itself takes.
	publishMargin = time.Minute
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
	ScheduleKey(ctx context.Context, k store.SigningKey, after time.Time) error
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
	// JWKSMaxAge is the longest Cache-Control max-age of the JWKS
	// (JWKSMaxAge says what it is at a given moment); zero: 5 minutes.
	// Scheduled keys are stored JWKSMaxAge + RefreshInterval + 1 minute
	// (PublicationLead) before they activate.
	JWKSMaxAge time.Duration
	// RotationInterval, when positive, rotates each configured
	// algorithm's key automatically: Maintain schedules the next key to
	// activate RotationInterval after the current one did. Zero: off.
	// It must exceed twice PublicationLead.
	RotationInterval time.Duration
	Logger           *slog.Logger // default: discard
	// VerifyCacheSize bounds the cache of tokens whose signature Verify
	// has checked (see verifyCache); 0: 10000, negative: no cache.
	VerifyCacheSize int
}

// KeyInfo describes one key for listings (latch keys list).
type KeyInfo struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	Status    string    `json:"status"`     // next, active, published (retired, still in JWKS), expired, inactive
	CreatedAt time.Time `json:"created_at"` // published in the JWKS from then on
	// ActivateAt is when the key signs from; zero for inactive keys.
	ActivateAt time.Time `json:"activate_at,omitzero"`
	// RetiredAt is when the next key activates and this one stops
	// signing (in the future while that key is scheduled); zero while no
	// next key is.
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// PublishedUntil is when the key leaves the JWKS: RetiredAt +
	// RetiredTTL.
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
	jwksMaxAge time.Duration
	rotation   time.Duration // 0: no automatic rotation
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
	if cfg.RetiredTTL < 0 || cfg.RefreshInterval < 0 || cfg.JWKSMaxAge < 0 || cfg.RotationInterval < 0 {
		return nil, errors.New("token: negative RetiredTTL, RefreshInterval, JWKSMaxAge or RotationInterval")
	}
	k := &Keys{
		store:      cfg.Store,
		sealer:     cfg.Sealer,
		algs:       algs,
		now:        cfg.Now,
		retiredTTL: cfg.RetiredTTL,
		refresh:    cfg.RefreshInterval,
		jwksMaxAge: cmp.Or(cfg.JWKSMaxAge, defaultJWKSMaxAge),
		rotation:   cfg.RotationInterval,
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
	if k.rotation > 0 && k.rotation <= 2*k.PublicationLead() {
		return nil, fmt.Errorf("token: rotation interval %v must exceed twice the publication lead (%v: JWKS max-age + refresh interval + %v)",
			k.rotation, k.PublicationLead(), publishMargin)
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

// Ensure gives every configured algorithm a first key if it has none
// (one that was ever scheduled), schedules due rotations (when
// RotationInterval is set), then loads.
//
// Safe when several instances start at once on an empty database: the
// first key is stored with ScheduleKey (insert-if-absent, atomic across
// instances), so exactly one instance's key is stored and every instance
// loads and signs with that one; the others' candidates are discarded
// before anyone could sign with them.
func (k *Keys) Ensure(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: list keys: %w", err)
	}
	for _, alg := range k.algs {
		if slices.ContainsFunc(stored, func(sk store.SigningKey) bool { return sk.Alg == alg && !sk.ActivateAt.IsZero() }) {
			continue
		}
		now := k.now()
		sk, err := k.newKey(alg, now)
		if err != nil {
			return err
		}
		// Active at once: a first key replaces nothing, and no instance
		// has loaded (or published) a key set for alg without it.
		sk.ActivateAt = now
		switch err := k.store.ScheduleKey(ctx, sk, time.Time{}); {
		case errors.Is(err, store.ErrAlreadyExists):
			k.log.DebugContext(ctx, "token: another instance created the first key", "alg", alg)
		case err != nil:
			return fmt.Errorf("token: create first key: %w", err)
		default:
			k.log.InfoContext(ctx, "token: first signing key created", "kid", sk.ID, "alg", alg)
		}
	}
	if err := k.scheduleDue(ctx); err != nil {
		return err
	}
	return k.loadLocked(ctx)
}

// Load reloads keys from the store and decrypts the active private keys.
func (k *Keys) Load(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	return k.loadLocked(ctx)
}

// PublicationLead is how long before its activation a scheduled key is
// stored (and so published): the JWKS max-age plus the refresh interval
// plus a margin. Every instance reloads within RefreshInterval and every
// relying party honouring Cache-Control refetches within JWKSMaxAge, so
// all of them have the key before any instance signs with it.
func (k *Keys) PublicationLead() time.Duration {
	return k.jwksMaxAge + k.refresh + publishMargin
}

// RefreshInterval is how often keys are reloaded from the store: how long
// a change made elsewhere may take to be seen here.
func (k *Keys) RefreshInterval() time.Duration { return k.refresh }

// JWKSMaxAgeLimit is the longest JWKS max-age ever served (JWKSMaxAge
// never exceeds it): how long an honest relying party may keep a JWKS.
func (k *Keys) JWKSMaxAgeLimit() time.Duration { return k.jwksMaxAge }

// rotationKey is the start of Rotate and RotateNow, with loadMu held: the
// stored keys, a new key of alg made now, and now.
func (k *Keys) rotationKey(ctx context.Context, alg string) ([]store.SigningKey, store.SigningKey, time.Time, error) {
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return nil, store.SigningKey{}, time.Time{}, fmt.Errorf("token: list keys: %w", err)
	}
	now := k.now()
	sk, err := k.newKey(alg, now)
	if err != nil {
		return nil, store.SigningKey{}, time.Time{}, err
	}
	return stored, sk, now, nil
}

// Rotate schedules a new key for alg ("" means the default): stored now,
// so published at once, it activates PublicationLead from now, when every
// instance switches to it; the key it replaces stops signing then and
// stays published RetiredTTL longer. If a next key of alg is already
// scheduled, Rotate stores nothing and returns that key with
// ErrRotationPending. alg may be any supported algorithm, configured or
// not; an algorithm's first key is active at once.
func (k *Keys) Rotate(ctx context.Context, alg string) (KeyInfo, error) {
	alg, err := k.rotationAlg(alg)
	if err != nil {
		return KeyInfo{}, err
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	stored, sk, now, err := k.rotationKey(ctx, alg)
	if err != nil {
		return KeyInfo{}, err
	}
	// A first key for alg replaces nothing and nobody signs with alg
	// yet: it is active at once (as in Ensure).
	after := now
	sk.ActivateAt = now.Add(k.PublicationLead())
	if !slices.ContainsFunc(stored, func(o store.SigningKey) bool { return o.Alg == alg && !o.ActivateAt.IsZero() }) {
		sk.ActivateAt, after = now, time.Time{}
	}
	switch err := k.store.ScheduleKey(ctx, sk, after); {
	case errors.Is(err, store.ErrAlreadyExists):
		infos, lerr := k.List(ctx)
		if lerr != nil {
			return KeyInfo{}, lerr
		}
		for _, i := range infos {
			if i.Alg == alg && i.Status == StatusNext {
				return i, ErrRotationPending
			}
		}
		// Another rotation stored a key of alg at this moment and it is
		// already active (a first key, or an emergency one).
		return KeyInfo{}, fmt.Errorf("token: another rotation of %s stored a key at the same time (see latch keys list): %w", alg, err)
	case err != nil:
		return KeyInfo{}, fmt.Errorf("token: schedule key: %w", err)
	}
	k.log.InfoContext(ctx, "token: signing key scheduled", "kid", sk.ID, "alg", alg, "activate_at", sk.ActivateAt)
	if err := k.loadLocked(ctx); err != nil {
		return KeyInfo{}, err
	}
	return k.infoOf(ctx, sk.ID)
}

// RotateNow is the emergency rotation: a new key for alg that signs from
// now on in this instance. It breaks the publication guarantee: other
// instances sign with the old key and lack the new one in their JWKS
// until they reload (up to RefreshInterval; a token naming an unknown
// kid makes them reload at once), and relying parties holding a cached
// JWKS (up to JWKSMaxAge old) reject the new key's tokens until they
// refetch. A scheduled next key, if any, still activates at its time.
func (k *Keys) RotateNow(ctx context.Context, alg string) (KeyInfo, error) {
	alg, err := k.rotationAlg(alg)
	if err != nil {
		return KeyInfo{}, err
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	stored, sk, now, err := k.rotationKey(ctx, alg)
	if err != nil {
		return KeyInfo{}, err
	}
	// One key per schedule slot: if the current key activated at this
	// very instant (a test clock), activate just after it.
	sk.ActivateAt = now
	for slices.ContainsFunc(stored, func(o store.SigningKey) bool { return o.Alg == alg && o.ActivateAt.Equal(sk.ActivateAt) }) {
		sk.ActivateAt = sk.ActivateAt.Add(time.Nanosecond)
	}
	if err := k.store.CreateKey(ctx, sk); err != nil {
		return KeyInfo{}, fmt.Errorf("token: create key: %w", err)
	}
	k.log.WarnContext(ctx, "token: signing key rotated immediately", "kid", sk.ID, "alg", alg)
	if err := k.loadLocked(ctx); err != nil {
		return KeyInfo{}, err
	}
	return k.infoOf(ctx, sk.ID)
}

func (k *Keys) rotationAlg(alg string) (string, error) {
	if alg == "" {
		alg = k.DefaultAlg()
	}
	if !slices.Contains(Algorithms(), alg) {
		return "", fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	return alg, nil
}

// infoOf describes the stored key id.
func (k *Keys) infoOf(ctx context.Context, id string) (KeyInfo, error) {
	infos, err := k.List(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	for _, i := range infos {
		if i.ID == id {
			return i, nil
		}
	}
	return KeyInfo{}, fmt.Errorf("token: key %s: %w", id, store.ErrNotFound)
}

// Maintain schedules due automatic rotations (see RotationInterval), then
// reloads the keys. Run calls it every RefreshInterval; any number of
// instances may call it at once (ScheduleKey stores one next key).
func (k *Keys) Maintain(ctx context.Context) error {
	if err := k.scheduleDue(ctx); err != nil {
		return err
	}
	return k.Load(ctx)
}

// Run calls Maintain every RefreshInterval until ctx is done, logging
// failures (the keys loaded before stay in use).
func (k *Keys) Run(ctx context.Context) {
	t := time.NewTicker(k.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := k.Maintain(ctx); err != nil && ctx.Err() == nil {
			k.log.WarnContext(ctx, "token: key maintenance failed", "err", err)
		}
	}
}

// scheduleDue schedules, for each configured algorithm whose latest
// scheduled key is active (none is next) and whose rotation is due, the
// next key: it activates RotationInterval after the latest key did, and
// never sooner than PublicationLead from now. The rotation is due
// PublicationLead + RefreshInterval before that time, so that an
// instance checking every RefreshInterval stores the key on time. With
// several instances, ScheduleKey (after = now) stores only the first
// one's key. Nothing happens when RotationInterval is zero.
func (k *Keys) scheduleDue(ctx context.Context) error {
	if k.rotation <= 0 {
		return nil
	}
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: list keys: %w", err)
	}
	now := k.now()
	lead := k.PublicationLead()
	for _, alg := range k.algs {
		var latest time.Time
		for _, sk := range stored {
			if sk.Alg == alg && sk.ActivateAt.After(latest) {
				latest = sk.ActivateAt
			}
		}
		if latest.IsZero() || latest.After(now) {
			continue // no first key yet (Ensure's job), or a next key is scheduled
		}
		target := latest.Add(k.rotation)
		if now.Before(target.Add(-lead - k.refresh)) {
			continue
		}
		sk, err := k.newKey(alg, now)
		if err != nil {
			return err
		}
		sk.ActivateAt = target
		if earliest := now.Add(lead); target.Before(earliest) {
			sk.ActivateAt = earliest // overdue (no instance ran): announce first
		}
		switch err := k.store.ScheduleKey(ctx, sk, now); {
		case errors.Is(err, store.ErrAlreadyExists):
			// Another instance scheduled it first.
		case err != nil:
			return fmt.Errorf("token: schedule key: %w", err)
		default:
			k.log.InfoContext(ctx, "token: signing key scheduled (automatic rotation)", "kid", sk.ID, "alg", alg, "activate_at", sk.ActivateAt)
		}
	}
	return nil
}

// List describes every stored key, newest first.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: list keys: %w", err)
	}
	now := k.now()
	retire := retirements(stored)
	infos := make([]KeyInfo, 0, len(stored))
	for _, sk := range stored {
		infos = append(infos, k.info(sk, retire[sk.ID], now))
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
	retire := retirements(stored)
	n := 0
	for _, sk := range stored {
		switch st, _ := k.status(sk, retire[sk.ID], now); {
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
// public key: next and active keys, and retired keys within RetiredTTL. Each key has
// kid, alg and use "sig". The bytes are built once per load; the caller
// gets its own copy.
func (k *Keys) JWKS(ctx context.Context) ([]byte, error) {
	s, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.jwks), nil
}

// JWKSMaxAge is how long a relying party may cache the JWKS now (the
// Cache-Control max-age, RFC 9111 §5.2.2.1): JWKSMaxAge, but never past
// the time the next key not yet in this instance's set may be needed
// (with automatic rotation: RotationInterval after the latest scheduled
// key's activation) minus RefreshInterval and a margin; never negative.
// A scheduled key is stored PublicationLead before it activates, so this
// bound only bites when an automatic rotation is overdue.
func (k *Keys) JWKSMaxAge(ctx context.Context) time.Duration {
	s, err := k.current(ctx)
	if err != nil {
		return 0
	}
	m := k.jwksMaxAge
	if k.rotation > 0 {
		now := k.now()
		for _, alg := range k.algs {
			if ks := s.schedule[alg]; len(ks) > 0 {
				need := ks[len(ks)-1].from.Add(k.rotation)
				m = min(m, need.Sub(now)-k.refresh-publishMargin)
			}
		}
	}
	return max(m, 0)
}

// DefaultAlg is Algs[0].
func (k *Keys) DefaultAlg() string { return k.algs[0] }

// Supports reports whether alg has an active key (in the keys loaded last;
// it does not reload).
func (k *Keys) Supports(alg string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set != nil && len(k.set.schedule[alg]) > 0
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
	ak := s.signing(alg, k.now())
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
	return signer.sign(payload)
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
				// An access token's claims were kept decoded: a copy
				// instead of a JSON decode per hit (introspection,
				// userinfo).
				if ac, ok := claims.(*AccessClaims); ok && e.access != nil {
					*ac = e.access.clone()
					return nil
				}
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
			if ac, ok := claims.(*AccessClaims); ok {
				c := ac.clone()
				e.access = &c
			}
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

// clone returns a copy of c sharing no slice or pointer with it.
func (c AccessClaims) clone() AccessClaims {
	c.Audience = slices.Clone(c.Audience)
	c.AMR = slices.Clone(c.AMR)
	if c.Cnf != nil {
		cnf := *c.Cnf
		c.Cnf = &cnf
	}
	return c
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
