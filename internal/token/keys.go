package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/store"
)

// rsaBits is the RSA modulus size for RS256 keys (RFC 7518 §3.3 asks for
// at least 2048).
const rsaBits = 2048

// keySet is one load of the keys. It is immutable once published in
// Keys.set, except for the signer cache, which is safe for concurrent use.
type keySet struct {
	loadedAt time.Time
	// staleAt is when the set must be reloaded: RefreshInterval after the
	// load, or earlier when a retired key leaves the JWKS before that.
	staleAt time.Time
	// schedule holds, by alg, the keys that sign now or will (active and
	// next), by ActivateAt ascending; signing picks from it by time.
	schedule map[string][]*activeKey
	public   map[string]*publishedKey // by kid; next, active and retired-but-published keys
	jwks     []byte
	signers  sync.Map // signerKey → *compactSigner; one per (kid, typ)
}

type activeKey struct {
	kid  string
	alg  string
	from time.Time     // ActivateAt
	priv crypto.Signer // decrypted once per load
}

// signing returns the key of alg that signs at now: the one with the
// latest ActivateAt not after now (the stored schedule every instance
// follows). If none has activated yet, which happens only for a first key
// created by an instance whose clock runs ahead of this one's, it is the
// earliest scheduled key: already stored, so published everywhere.
func (s *keySet) signing(alg string, now time.Time) *activeKey {
	ks := s.schedule[alg]
	if len(ks) == 0 {
		return nil
	}
	cur := ks[0]
	for _, ak := range ks[1:] {
		if ak.from.After(now) {
			break
		}
		cur = ak
	}
	return cur
}

type publishedKey struct {
	alg string
	key crypto.PublicKey
	// until is when a retired key stops verifying; zero for active keys.
	until time.Time
}

type signerKey struct{ kid, typ string }

// signer returns the cached compactSigner for (ak.kid, typ), creating it
// on first use. Signers carry the typ and kid headers (RFC 7515 §4.1.4,
// §4.1.9).
func (s *keySet) signer(ak *activeKey, typ string) (*compactSigner, error) {
	sk := signerKey{ak.kid, typ}
	if v, ok := s.signers.Load(sk); ok {
		return v.(*compactSigner), nil
	}
	cs, err := newCompactSigner(ak, typ)
	if err != nil {
		return nil, err
	}
	v, _ := s.signers.LoadOrStore(sk, cs)
	return v.(*compactSigner), nil
}

// compactSigner signs JWS Compact Serializations (RFC 7515 §7.1) for one
// key and typ. Its protected header is go-jose's own, serialised once
// when the signer is made (by signing an empty payload with go-jose and
// keeping the first segment), so every token carries exactly the header
// go-jose would write, without marshalling it again per token. ES256
// (RFC 7518 §3.4: R || S, 32 bytes each) and EdDSA (RFC 8037 §3.1) are
// then signed with the standard library over that header and the
// payload; any other algorithm (RS256, whose signature dwarfs the
// header) is signed by go-jose. Verification is never done here: it
// stays go-jose's (Verify).
type compactSigner struct {
	header string // base64url of the protected header, then "."
	priv   crypto.Signer
	alg    string
	jose   jose.Signer
}

func newCompactSigner(ak *activeKey, typ string) (*compactSigner, error) {
	opts := (&jose.SignerOptions{}).WithHeader("kid", ak.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(ak.alg), Key: ak.priv}, opts)
	if err != nil {
		return nil, fmt.Errorf("token: signer for %s: %w", ak.kid, err)
	}
	jws, err := sg.Sign([]byte("{}"))
	if err != nil {
		return nil, fmt.Errorf("token: signer for %s: %w", ak.kid, err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("token: signer for %s: %w", ak.kid, err)
	}
	dot := strings.IndexByte(raw, '.')
	if dot < 0 {
		return nil, fmt.Errorf("token: signer for %s: no header in %q", ak.kid, raw)
	}
	return &compactSigner{header: raw[:dot+1], priv: ak.priv, alg: ak.alg, jose: sg}, nil
}

// sign returns header.payload.signature for payload.
func (cs *compactSigner) sign(payload []byte) (string, error) {
	b64 := base64.RawURLEncoding
	var sig []byte
	input := make([]byte, len(cs.header)+b64.EncodedLen(len(payload)), len(cs.header)+b64.EncodedLen(len(payload))+1+b64.EncodedLen(2*66))
	copy(input, cs.header)
	b64.Encode(input[len(cs.header):], payload)
	switch key := cs.priv.(type) {
	case *ecdsa.PrivateKey:
		if cs.alg != ES256 || key.Curve != elliptic.P256() {
			return cs.joseSign(payload)
		}
		digest := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			return "", fmt.Errorf("token: sign: %w", err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case ed25519.PrivateKey:
		if cs.alg != EdDSA {
			return cs.joseSign(payload)
		}
		sig = ed25519.Sign(key, input)
	default:
		return cs.joseSign(payload)
	}
	out := append(input, '.')
	out = b64.AppendEncode(out, sig)
	return string(out), nil
}

func (cs *compactSigner) joseSign(payload []byte) (string, error) {
	jws, err := cs.jose.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// loaded returns the current key set (nil before the first load).
func (k *Keys) loaded() *keySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set
}

// current returns the key set to use now, reloading first when it is
// stale. Only one reload runs at a time: while one caller reloads, the
// others keep using the keys loaded before (they never wait on the store),
// except before the first load, when there is nothing to use.
func (k *Keys) current(ctx context.Context) (*keySet, error) {
	k.mu.RLock()
	s, retryAt := k.set, k.retryAt
	k.mu.RUnlock()
	now := k.now()
	if s != nil && (now.Before(s.staleAt) || now.Before(retryAt)) {
		return s, nil
	}
	if s == nil {
		k.loadMu.Lock()
		defer k.loadMu.Unlock()
		if s := k.loaded(); s != nil {
			return s, nil
		}
		if err := k.loadLocked(ctx); err != nil {
			return nil, err
		}
		return k.loaded(), nil
	}
	if !k.loadMu.TryLock() {
		return s, nil // someone is reloading; these keys are still good
	}
	defer k.loadMu.Unlock()
	if cur := k.loaded(); cur != s {
		return cur, nil // reloaded while we looked
	}
	if err := k.loadLocked(ctx); err != nil {
		k.log.WarnContext(ctx, "token: reloading signing keys failed; using the keys loaded before", "err", err)
		k.mu.Lock()
		k.retryAt = now.Add(failedReloadRetry)
		k.mu.Unlock()
		return s, nil
	}
	return k.loaded(), nil
}

// reloadForUnknownKid reloads after a token named a kid not in seen (it may
// come from a rotation on another instance), at most once per
// unknownKidInterval. It returns the set to look in again.
func (k *Keys) reloadForUnknownKid(ctx context.Context, seen *keySet) (*keySet, error) {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	if cur := k.loaded(); cur != seen {
		return cur, nil // reloaded while we waited
	}
	now := k.now()
	if !k.lastKidReload.IsZero() && now.Sub(k.lastKidReload) < unknownKidInterval {
		return seen, nil
	}
	k.lastKidReload = now
	if err := k.loadLocked(ctx); err != nil {
		return seen, err
	}
	return k.loaded(), nil
}

// loadLocked reads every key, decrypts the private keys of the active
// and next keys, builds the published set, the JWKS bytes and the
// signers for the standard token types, and swaps the new set in.
// k.loadMu must be held. On error the previous set stays in place.
func (k *Keys) loadLocked(ctx context.Context) error {
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: list keys: %w", err)
	}
	now := k.now()
	s := &keySet{
		loadedAt: now,
		staleAt:  now.Add(k.refresh),
		schedule: make(map[string][]*activeKey),
		public:   make(map[string]*publishedKey),
	}
	retire := retirements(stored)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, sk := range stored { // newest first, so the JWKS is too
		st, until := k.status(sk, retire[sk.ID], now)
		if st == StatusExpired || st == StatusInactive {
			continue
		}
		jwk, err := parsePublic(sk)
		if err != nil {
			return err
		}
		if st == StatusActive || st == StatusNext {
			priv, err := k.openPrivate(sk, jwk)
			if err != nil {
				return err
			}
			s.schedule[sk.Alg] = append(s.schedule[sk.Alg], &activeKey{kid: sk.ID, alg: sk.Alg, from: sk.ActivateAt, priv: priv})
		}
		if !until.IsZero() && until.Before(s.staleAt) {
			s.staleAt = until
		}
		s.public[sk.ID] = &publishedKey{alg: sk.Alg, key: jwk.Key, until: until}
		set.Keys = append(set.Keys, jwk)
	}
	if s.jwks, err = json.Marshal(set); err != nil {
		return fmt.Errorf("token: marshal JWKS: %w", err)
	}
	for _, ks := range s.schedule {
		slices.SortFunc(ks, func(a, b *activeKey) int { return a.from.Compare(b.from) })
		for _, ak := range ks {
			for _, typ := range []string{TypeAccessToken, TypeIDToken} {
				if _, err := s.signer(ak, typ); err != nil {
					return err
				}
			}
		}
	}
	k.mu.Lock()
	k.set = s
	k.retryAt = time.Time{}
	k.mu.Unlock()
	k.log.DebugContext(ctx, "token: signing keys loaded", "algs", len(s.schedule), "published", len(s.public))
	return nil
}

// retirements maps the ID of each scheduled key that has a successor (the
// key of its Alg with the next ActivateAt) to that successor's
// ActivateAt: when it stops signing. Keys without ActivateAt are not part
// of the schedule.
func retirements(stored []store.SigningKey) map[string]time.Time {
	byAlg := make(map[string][]store.SigningKey)
	for _, sk := range stored {
		if !sk.ActivateAt.IsZero() {
			byAlg[sk.Alg] = append(byAlg[sk.Alg], sk)
		}
	}
	out := make(map[string]time.Time)
	for _, ks := range byAlg {
		slices.SortFunc(ks, func(a, b store.SigningKey) int { return a.ActivateAt.Compare(b.ActivateAt) })
		for i := range len(ks) - 1 {
			out[ks[i].ID] = ks[i+1].ActivateAt
		}
	}
	return out
}

// newKey generates a key pair for alg. The kid is the RFC 7638 JWK
// thumbprint (SHA-256, base64url) of the public key. Private holds the
// PKCS#8 DER sealed with the kid as additional data; Public the public JWK
// with kid, alg and use "sig".
func (k *Keys) newKey(alg string, now time.Time) (store.SigningKey, error) {
	priv, err := generate(alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	pub, err := jwk.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: marshal public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: marshal private key: %w", err)
	}
	return store.SigningKey{
		ID:        jwk.KeyID,
		Alg:       alg,
		Private:   k.sealer.Seal(der, []byte(jwk.KeyID)),
		Public:    pub,
		CreatedAt: now,
	}, nil
}

func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("token: unsupported signing algorithm %q", alg)
}

// parsePublic parses and checks a stored public JWK: public, valid, with
// the row's kid and alg, use "sig", and a key of the alg's type.
func parsePublic(sk store.SigningKey) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(sk.Public); err != nil {
		return jwk, fmt.Errorf("token: key %s: public key: %w", sk.ID, err)
	}
	switch {
	case !jwk.IsPublic() || !jwk.Valid():
		return jwk, fmt.Errorf("token: key %s: not a valid public key", sk.ID)
	case jwk.KeyID != sk.ID || jwk.Algorithm != sk.Alg || jwk.Use != "sig":
		return jwk, fmt.Errorf("token: key %s: JWK has kid %q alg %q use %q, want %q %q sig", sk.ID, jwk.KeyID, jwk.Algorithm, jwk.Use, sk.ID, sk.Alg)
	}
	if err := checkKeyType(sk.Alg, jwk.Key); err != nil {
		return jwk, fmt.Errorf("token: key %s: %w", sk.ID, err)
	}
	return jwk, nil
}

// checkKeyType reports whether pub is a key for alg (RFC 7518 §3.3, §3.4,
// RFC 8037 §3.1).
func checkKeyType(alg string, pub crypto.PublicKey) error {
	ok := false
	switch p := pub.(type) {
	case *rsa.PublicKey:
		ok = alg == RS256 && p.N.BitLen() >= rsaBits
	case *ecdsa.PublicKey:
		ok = alg == ES256 && p.Curve == elliptic.P256()
	case ed25519.PublicKey:
		ok = alg == EdDSA
	}
	if !ok {
		return fmt.Errorf("a %T is not a key for %s", pub, alg)
	}
	return nil
}

// openPrivate decrypts a stored private key (sealed with its kid as
// additional data) and checks that it matches the public key.
func (k *Keys) openPrivate(sk store.SigningKey, jwk jose.JSONWebKey) (crypto.Signer, error) {
	der, err := k.sealer.Open(sk.Private, []byte(sk.ID))
	if err != nil {
		return nil, fmt.Errorf("token: key %s: decrypt private key (wrong key-encryption secret?): %w", sk.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: key %s: parse private key: %w", sk.ID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("token: key %s: %T is not a signing key", sk.ID, parsed)
	}
	pub, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(jwk.Key) {
		return nil, errors.New("token: key " + sk.ID + ": private key does not match public key")
	}
	return priv, nil
}

// status classifies a stored key at now, given when it retires (its
// successor's ActivateAt, zero if none); until is when it leaves (or
// left) the JWKS: retire + RetiredTTL, zero while it has no successor.
func (k *Keys) status(sk store.SigningKey, retire, now time.Time) (status string, until time.Time) {
	if sk.ActivateAt.IsZero() {
		return StatusInactive, time.Time{}
	}
	if !retire.IsZero() {
		until = retire.Add(k.retiredTTL)
	}
	switch {
	case now.Before(sk.ActivateAt):
		return StatusNext, until
	case retire.IsZero() || now.Before(retire):
		return StatusActive, until
	case now.Before(until):
		return StatusPublished, until
	}
	return StatusExpired, until
}

func (k *Keys) info(sk store.SigningKey, retire, now time.Time) KeyInfo {
	st, until := k.status(sk, retire, now)
	return KeyInfo{
		ID:             sk.ID,
		Alg:            sk.Alg,
		Status:         st,
		CreatedAt:      sk.CreatedAt,
		ActivateAt:     sk.ActivateAt,
		RetiredAt:      retire,
		PublishedUntil: until,
	}
}
