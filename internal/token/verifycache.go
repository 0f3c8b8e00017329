package token

import (
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"

	josejson "github.com/go-jose/go-jose/v4/json"
)

// defaultVerifyCacheSize bounds the verified-token cache.
const defaultVerifyCacheSize = 10000

// verifyCache remembers tokens whose signature Keys.Verify has checked, so
// a token presented again (a resource server introspecting the token of
// every API call, a SPA calling userinfo) costs a hash and a JSON decode
// instead of a signature verification (ES256 verification is several
// times the cost of signing).
//
// Invariants:
//   - An entry is added only after full verification (signature under a
//     published key, alg, typ), keyed by the SHA-256 of the exact token
//     string: a hit is a byte-identical token.
//   - A hit is used only while the entry's key is still published (the
//     caller looks its kid up in the current key set) and before the
//     token's exp; tokens without a numeric exp are never cached.
//   - The cache is bounded (least recently used entries are dropped).
//
// It does not cache failures, and it changes no claim check: callers check
// exp, iat, iss and revocation on the decoded claims every time.
type verifyCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front: most recently used
	items map[[sha256.Size]byte]*list.Element
}

type verifyEntry struct {
	key     [sha256.Size]byte
	kid     string
	alg     string
	typ     string // normalised
	exp     int64
	payload []byte
	// access is the payload decoded, for an access token verified into
	// AccessClaims (decoded into zero claims, as a hit would be); never
	// handed out, only copied (AccessClaims.clone).
	access *AccessClaims
}

func newVerifyCache(max int) *verifyCache {
	return &verifyCache{max: max, ll: list.New(), items: make(map[[sha256.Size]byte]*list.Element)}
}

func (c *verifyCache) get(key [sha256.Size]byte) (*verifyEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*verifyEntry), true
}

func (c *verifyCache) add(e *verifyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[e.key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*verifyEntry).key)
	}
}

func (c *verifyCache) remove(key [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.ll.Remove(el)
		delete(c.items, key)
	}
}

func (c *verifyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// newVerifyEntry builds the cache entry of a compact JWS that has just
// been verified; ok is false when the token has no numeric exp (it is then
// not cached).
func newVerifyEntry(key [sha256.Size]byte, raw, kid, alg, typ string) (*verifyEntry, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var c struct {
		Exp *int64 `json:"exp"`
	}
	if err := josejson.Unmarshal(payload, &c); err != nil || c.Exp == nil {
		return nil, false
	}
	return &verifyEntry{key: key, kid: kid, alg: alg, typ: typ, exp: *c.Exp, payload: payload}, true
}
