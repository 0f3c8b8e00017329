package clientkeys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Config configures a Source; zero values take the defaults.
type Config struct {
	Fetcher Fetcher          // required for jwks_uri clients
	Now     func() time.Time // default time.Now
	// TTL is how long a fetched set is used before it is fetched again
	// (default 10m).
	TTL time.Duration
	// MinRefresh is the least time between two fetches of one URI when
	// an assertion names an unknown key (default 30s), so a stream of
	// bad assertions cannot make Latch fetch a URI more often.
	MinRefresh time.Duration
	// MaxEntries bounds the URIs cached (default 1000); when full, the
	// entry fetched longest ago is dropped.
	MaxEntries int
}

// Source returns clients' key sets. It is safe for concurrent use.
type Source struct {
	cfg     Config
	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	keys    *token.ClientKeySet
	fetched time.Time
}

// New returns a Source.
func New(cfg Config) *Source {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 30 * time.Second
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 1000
	}
	return &Source{cfg: cfg, entries: map[string]*entry{}}
}

// Keys returns the key set of client c: its inline jwks, parsed, or the
// set at its jwks_uri, from the cache when fresh. refresh asks for a
// fetch although the cached set is fresh (the assertion named a key the
// set lacks); it is honoured at most once per MinRefresh per URI.
// Errors say what is wrong for the client's developer (never a secret).
func (s *Source) Keys(ctx context.Context, c store.Client, refresh bool) (*token.ClientKeySet, error) {
	switch {
	case c.JWKS != "":
		return token.ParseClientJWKS([]byte(c.JWKS))
	case c.JWKSURI == "":
		return nil, errors.New("the client has neither jwks nor jwks_uri registered")
	case s.cfg.Fetcher == nil:
		return nil, errors.New("jwks_uri is not supported by this server")
	}
	uri := c.JWKSURI
	now := s.cfg.Now()
	s.mu.Lock()
	e := s.entries[uri]
	s.mu.Unlock()
	if e != nil {
		age := now.Sub(e.fetched)
		if age >= 0 && age < s.cfg.TTL && (!refresh || age < s.cfg.MinRefresh) {
			return e.keys, nil
		}
	}
	// Concurrent misses may fetch the same URI more than once; the
	// bound is the number of concurrent requests, and each is
	// authenticated only by what it fetches.
	body, err := s.cfg.Fetcher.Fetch(ctx, uri)
	if err != nil {
		return nil, err
	}
	keys, err := token.ParseClientJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("the document at jwks_uri: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[uri]; !ok && len(s.entries) >= s.cfg.MaxEntries {
		var oldest string
		for k, v := range s.entries {
			if oldest == "" || v.fetched.Before(s.entries[oldest].fetched) {
				oldest = k
			}
		}
		delete(s.entries, oldest)
	}
	s.entries[uri] = &entry{keys: keys, fetched: now}
	return keys, nil
}
