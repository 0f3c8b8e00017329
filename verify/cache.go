package verify

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"unsafe"
)

// hashToken is SHA-256 of raw without copying it: sha256 only reads its
// input and does not retain it, so viewing the string's bytes is safe.
// (The copy of []byte(raw) cost as much as the hash on the cached path.)
func hashToken(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// tokenCache is a bounded LRU of successfully verified tokens, keyed by
// the SHA-256 of the raw token (so the cache never holds a usable token).
// Entries are only ever added after full verification; a hit must still
// be checked against exp by the caller. Safe for concurrent use.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // of *cacheEntry, most recently used first
	items map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	key    [sha256.Size]byte
	claims *Claims
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, ll: list.New(), items: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the cached claims for key. The *Claims is shared: callers
// copy it before handing it out.
func (c *tokenCache) get(key [sha256.Size]byte) (*Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cacheEntry).claims, true
}

// add stores claims under key, evicting the least recently used entry if
// full. Expired entries are not swept: they are dropped when hit (the
// caller's exp check) or when they reach the cold end.
func (c *tokenCache) add(key [sha256.Size]byte, claims *Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*cacheEntry).claims = claims
		c.ll.MoveToFront(el)
		return
	}
	for c.ll.Len() >= c.max {
		c.removeElement(c.ll.Back())
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, claims: claims})
}

func (c *tokenCache) remove(key [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

func (c *tokenCache) removeElement(el *list.Element) {
	c.ll.Remove(el)
	delete(c.items, el.Value.(*cacheEntry).key)
}
