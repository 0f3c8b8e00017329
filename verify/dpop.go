package verify

import (
	"container/heap"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// maxJTILength bounds the jti of a DPoP proof (it is kept in memory).
const maxJTILength = 256

// minRSABits is the least RSA modulus accepted in a DPoP proof's jwk, as
// at Latch's token endpoint (RFC 8725 §3.5, NIST SP 800-131A).
const minRSABits = 2048

// VerifyDPoP verifies a DPoP-bound access token presented with the
// "DPoP" scheme together with its DPoP proof (RFC 9449 §4.3, §7.1), for a
// request with the given method and URI (scheme, host and path; any query
// or fragment is ignored). It runs every check of Verify on rawToken, then
// requires the token to be DPoP-bound and checks the proof:
//
//   - a JWS with typ "dpop+jwt" and an alg from Config.DPoPAlgorithms
//     (asymmetric only; "none" and HS* never parse);
//   - an embedded jwk that is a valid public key (no private parts; RSA
//     of at least 2048 bits), under which the signature verifies;
//   - htm equal to method, htu equal to uri (after RFC 3986 §6
//     normalization of scheme, host and default port);
//   - iat no more than Leeway in the future and no older than
//     DPoPProofMaxAge;
//   - ath equal to base64url(SHA-256(rawToken));
//   - the RFC 7638 thumbprint of the jwk equal to the token's cnf.jkt;
//   - a jti not seen before (checked last, so an invalid proof cannot
//     burn a jti).
//
// It does not support server-issued DPoP nonces (RFC 9449 §8–9), and the
// jti replay set is in memory: replicas of a resource server do not share
// it. Errors are *Error with Scheme SchemeDPoP and Code CodeInvalidToken
// (token problems) or CodeInvalidDPoPProof (proof problems).
func (v *Verifier) VerifyDPoP(ctx context.Context, rawToken, proof, method, uri string) (*Claims, error) {
	c, err := v.verifyToken(ctx, rawToken, SchemeDPoP)
	if err != nil {
		return nil, err
	}
	if c.JKT == "" {
		return nil, tokenError(SchemeDPoP, "token is not DPoP-bound", ErrNotDPoPBound)
	}
	if err := v.checkProof(rawToken, proof, method, uri, c.JKT); err != nil {
		return nil, err
	}
	return c, nil
}

// proofClaims is the payload of a DPoP proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI      string           `json:"jti"`
	HTM      string           `json:"htm"`
	HTU      string           `json:"htu"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ATH      string           `json:"ath"`
}

// checkProof is RFC 9449 §4.3 steps 2–12 plus the §7.1 binding check.
// It never returns an error that leaks proof content.
func (v *Verifier) checkProof(rawToken, proof, method, uri, jkt string) error {
	if proof == "" {
		return proofError("missing DPoP proof", fmt.Errorf("%w: missing", ErrDPoPProof))
	}
	if len(proof) > maxTokenSize {
		return proofError("malformed DPoP proof", fmt.Errorf("%w: too large", ErrDPoPProof))
	}
	// §4.3 steps 2 and 5: one well-formed JWS, alg asymmetric and
	// supported — the allowed list keeps out "none" and HS*.
	tok, err := jwt.ParseSigned(proof, v.dpopAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return proofError("malformed DPoP proof", fmt.Errorf("%w: %w", ErrDPoPProof, err))
	}
	h := tok.Headers[0]
	// §4.3 step 4.
	if !typeIs(h, typeDPoPProof) {
		return proofError("DPoP proof typ must be dpop+jwt", fmt.Errorf("%w: typ", ErrDPoPProof))
	}
	// §4.3 step 7: the jwk must be a public key. go-jose already refuses
	// an embedded jwk with private parameters at parse time; this is the
	// second line.
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return proofError("DPoP proof needs a public jwk", fmt.Errorf("%w: jwk", ErrDPoPProof))
	}
	if jwk.Algorithm != "" && jwk.Algorithm != h.Algorithm {
		return proofError("DPoP proof jwk alg mismatch", fmt.Errorf("%w: jwk alg", ErrDPoPProof))
	}
	if k, ok := jwk.Key.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return proofError("DPoP proof RSA key is shorter than 2048 bits", fmt.Errorf("%w: rsa key size", ErrDPoPProof))
	}
	// §4.3 step 6: signature under the embedded key.
	var pc proofClaims
	if err := tok.Claims(jwk.Key, &pc); err != nil {
		return proofError("invalid DPoP proof signature", fmt.Errorf("%w: %w", ErrDPoPProof, err))
	}
	// §4.3 step 3: required claims.
	if pc.JTI == "" || len(pc.JTI) > maxJTILength || pc.HTM == "" || pc.HTU == "" || pc.IssuedAt == nil {
		return proofError("DPoP proof lacks jti, htm, htu or iat", fmt.Errorf("%w: missing claim", ErrDPoPProof))
	}
	// §4.3 step 8: methods are case-sensitive (RFC 9110 §9.1).
	if pc.HTM != method {
		return proofError("DPoP proof htm mismatch", fmt.Errorf("%w: htm", ErrDPoPProof))
	}
	// §4.3 step 9, ignoring query and fragment.
	got, err := normalizeHTU(pc.HTU)
	if err != nil {
		return proofError("DPoP proof htu mismatch", fmt.Errorf("%w: htu: %w", ErrDPoPProof, err))
	}
	want, err := normalizeHTU(uri)
	if err != nil || got != want {
		return proofError("DPoP proof htu mismatch", fmt.Errorf("%w: htu", ErrDPoPProof))
	}
	// §4.3 step 11 and §11.1: a short acceptance window.
	now := v.now()
	iat := pc.IssuedAt.Time()
	if iat.After(now.Add(v.leeway)) || iat.Before(now.Add(-v.dpopMaxAge)) {
		return proofError("DPoP proof iat outside the acceptable window", fmt.Errorf("%w: iat", ErrDPoPProof))
	}
	// §4.3 step 12: ath binds the proof to this access token.
	sum := hashToken(rawToken)
	if subtle.ConstantTimeCompare([]byte(pc.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return proofError("DPoP proof ath mismatch", fmt.Errorf("%w: ath", ErrDPoPProof))
	}
	// §7.1: the proof key must be the key the token is bound to.
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return proofError("DPoP proof needs a public jwk", fmt.Errorf("%w: thumbprint: %w", ErrDPoPProof, err))
	}
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(tp)), []byte(jkt)) != 1 {
		return proofError("DPoP proof key does not match the token's cnf.jkt", fmt.Errorf("%w: jkt", ErrDPoPProof))
	}
	// §11.1: reject replays within the window the proof is acceptable in:
	// it passes the iat check above until now = iat + maxAge, so it is
	// remembered exactly that long. A full set refuses the proof (fail
	// closed): forgetting an older entry could let that proof be replayed.
	switch v.replay.add(replayKey(jkt, pc.JTI), now, iat.Add(v.dpopMaxAge)) {
	case replayNew:
		return nil
	case replaySeen:
		return proofError("DPoP proof replayed", ErrDPoPReplay)
	case replayFullNow:
		v.logger.Warn("verify: the DPoP replay set is full; DPoP requests are refused until entries expire (raise Config.DPoPReplayCapacity if this is legitimate traffic)",
			"capacity", v.replay.max)
		fallthrough
	case replayFull:
		return proofError("too many DPoP proofs in flight; retry later", ErrDPoPReplayCacheFull)
	default:
		return proofError("DPoP proof iat outside the acceptable window", fmt.Errorf("%w: iat", ErrDPoPProof))
	}
}

// replayKey identifies a proof by key and jti, hashed so the seen-set's
// memory is bounded whatever the client sends.
func replayKey(jkt, jti string) [sha256.Size]byte {
	return sha256.Sum256([]byte(jkt + "\x00" + jti))
}

// normalizeHTU returns u in a canonical form for comparison (RFC 3986 §6:
// case of scheme and host, default port, empty path), without query and
// fragment (RFC 9449 §4.3 step 9). Only absolute http(s) URLs without
// userinfo are accepted.
func normalizeHTU(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("htu must be an http or https URL")
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", errors.New("htu must be an absolute URL without userinfo")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// replaySet remembers (jkt, jti) pairs for exactly as long as the proof
// they come from is acceptable (RFC 9449 §11.1), and fails closed: when it
// holds max live entries it refuses new ones instead of forgetting old
// ones, so no flood of valid proofs can make a replay succeed. Invariant:
// seen and exp hold the same keys, each once, and after the sweep at the
// start of add every entry is live (now ≤ until). Safe for concurrent use.
type replaySet struct {
	mu   sync.Mutex
	max  int
	seen map[[sha256.Size]byte]time.Time
	exp  expiryHeap // the same entries, soonest expiry first
	full bool       // the last add was refused for capacity
}

type replayEntry struct {
	key   [sha256.Size]byte
	until time.Time
}

// expiryHeap is a container/heap of entries ordered by until. Expiry
// times differ per proof (they follow iat), so insertion order is not
// expiry order.
type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// replayResult is the outcome of replaySet.add.
type replayResult int

const (
	replayNew      replayResult = iota // recorded: the proof may be accepted
	replaySeen                         // already recorded and still acceptable: a replay
	replayFull                         // the set is full of live entries: refuse
	replayFullNow                      // as replayFull, and the set has just become full
	replayUnusable                     // until is already past (cannot happen for a checked proof)
)

func newReplaySet(max int) *replaySet {
	return &replaySet{max: max, seen: make(map[[sha256.Size]byte]time.Time)}
}

// add records key until `until` — the last instant its proof is
// acceptable — unless it is already recorded or the set is full.
func (s *replaySet) add(key [sha256.Size]byte, now, until time.Time) replayResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget entries whose proofs can no longer be accepted anyway.
	for len(s.exp) > 0 && now.After(s.exp[0].until) {
		e := heap.Pop(&s.exp).(replayEntry)
		delete(s.seen, e.key)
	}
	if now.After(until) {
		return replayUnusable
	}
	if _, ok := s.seen[key]; ok {
		return replaySeen
	}
	if len(s.seen) >= s.max {
		if s.full {
			return replayFull
		}
		s.full = true
		return replayFullNow
	}
	s.full = false
	s.seen[key] = until
	heap.Push(&s.exp, replayEntry{key: key, until: until})
	return replayNew
}
