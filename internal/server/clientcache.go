package server

import (
	"context"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// clientCacheTTL bounds how long a client registration or a user read
// from the store is used without reading it again: a client deleted or
// changed on another instance (the admin API, latch client …) is seen by
// this one within clientCacheTTL, and a deleted client's secret stops
// working within it. Changes made through this instance's store are seen
// at once.
const clientCacheTTL = 2 * time.Second

// clientCacheMax bounds the clients, and apart the users, held: beyond
// it that map is emptied (nothing is cached for unknown IDs, so only
// registered clients and users fill it).
const clientCacheMax = 10_000

// clientCache is the server's view of the store with client
// registrations and users cached by ID (issue 13: the hot endpoints read
// no client or user row per request). It changes nothing else: every
// other method is the store's (GetUserByUsername, which sign-in uses to
// check a password, is never cached).
//
// Invariant: a cached record is never older than clientCacheTTL by the
// server's clock, and one changed or deleted through this value is
// dropped before the change returns. ErrNotFound is not cached, so a
// client registered anywhere is served on its first request. Users are
// safe to cache this way: the contract has no profile update, and
// deleting a user deletes its sessions and grants, which every flow
// reads uncached before it reaches the user.
type clientCache struct {
	store.Store
	now func() time.Time
	ttl time.Duration

	mu      sync.Mutex
	clients map[string]cached[store.Client]
	users   map[string]cached[store.User]
}

type cached[T any] struct {
	v      T
	readAt time.Time
}

func newClientCache(st store.Store, now func() time.Time, ttl time.Duration) *clientCache {
	return &clientCache{Store: st, now: now, ttl: ttl, clients: make(map[string]cached[store.Client]), users: make(map[string]cached[store.User])}
}

// cachedGet returns m[id] when it was read within ttl, else reads it with
// get and caches it (not an error).
func cachedGet[T any](ctx context.Context, c *clientCache, m map[string]cached[T], id string, get func(context.Context, string) (T, error)) (T, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := m[id]
	c.mu.Unlock()
	if ok && !now.Before(e.readAt) && now.Sub(e.readAt) < c.ttl {
		return e.v, nil
	}
	v, err := get(ctx, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(m, id)
		return v, err
	}
	if len(m) >= clientCacheMax {
		clear(m)
	}
	m[id] = cached[T]{v: v, readAt: now}
	return v, nil
}

// GetClient returns the registration, from the cache when it was read
// within ttl. The slices of the returned Client are shared with the
// cache: callers must not modify them in place.
func (c *clientCache) GetClient(ctx context.Context, id string) (store.Client, error) {
	return cachedGet(ctx, c, c.clients, id, c.Store.GetClient)
}

// GetUser returns the user, from the cache when it was read within ttl.
func (c *clientCache) GetUser(ctx context.Context, id string) (store.User, error) {
	return cachedGet(ctx, c, c.users, id, c.Store.GetUser)
}

func (c *clientCache) dropUser(id string) {
	c.mu.Lock()
	delete(c.users, id)
	c.mu.Unlock()
}

func (c *clientCache) SetUserPassword(ctx context.Context, id, passwordHash string) error {
	defer c.dropUser(id)
	return c.Store.SetUserPassword(ctx, id, passwordHash)
}

func (c *clientCache) DeleteUser(ctx context.Context, id string) error {
	defer c.dropUser(id)
	return c.Store.DeleteUser(ctx, id)
}

func (c *clientCache) drop(id string) {
	c.mu.Lock()
	delete(c.clients, id)
	c.mu.Unlock()
}

func (c *clientCache) CreateClient(ctx context.Context, cl store.Client) error {
	defer c.drop(cl.ID)
	return c.Store.CreateClient(ctx, cl)
}

func (c *clientCache) UpdateClient(ctx context.Context, cl store.Client) error {
	defer c.drop(cl.ID)
	return c.Store.UpdateClient(ctx, cl)
}

func (c *clientCache) DeleteClient(ctx context.Context, id string) error {
	defer c.drop(id)
	return c.Store.DeleteClient(ctx, id)
}

// writeThrough is the store as other parts of the process see it
// (Server.Store: the admin API): reads go to the store itself, never to
// the cache (so no caller shares the cache's slices), and every change
// of a client or user drops the cache's entry before it returns.
type writeThrough struct {
	store.Store // the store under the cache
	c           *clientCache
}

func (w writeThrough) CreateClient(ctx context.Context, cl store.Client) error {
	defer w.c.drop(cl.ID)
	return w.Store.CreateClient(ctx, cl)
}

func (w writeThrough) UpdateClient(ctx context.Context, cl store.Client) error {
	defer w.c.drop(cl.ID)
	return w.Store.UpdateClient(ctx, cl)
}

func (w writeThrough) DeleteClient(ctx context.Context, id string) error {
	defer w.c.drop(id)
	return w.Store.DeleteClient(ctx, id)
}

func (w writeThrough) SetUserPassword(ctx context.Context, id, passwordHash string) error {
	defer w.c.dropUser(id)
	return w.Store.SetUserPassword(ctx, id, passwordHash)
}

func (w writeThrough) DeleteUser(ctx context.Context, id string) error {
	defer w.c.dropUser(id)
	return w.Store.DeleteUser(ctx, id)
}
