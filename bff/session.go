package bff

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// Errors of the SessionStore contract; bffstoretest checks every
// implementation returns them.
var (
	// ErrNotFound: no session under that key.
	ErrNotFound = errors.New("bff: session not found")
	// ErrConflict: the session's version moved on (another instance
	// refreshed it, or it was deleted) since the caller read it.
	ErrConflict = errors.New("bff: session changed concurrently")
	// ErrReplay: the logout token's jti was used before.
	ErrReplay = errors.New("bff: jti already used")
)

// Session is one signed-in browser, as stored. The browser holds a random
// id in an HttpOnly cookie; the store only ever sees Key, the id's
// SHA-256, so a copy of the store cannot be replayed as cookies.
type Session struct {
	// Key is SessionKey(id). Primary key.
	Key string
	// Subject and SID are the ID token's sub and sid claims (sid may be
	// empty): back-channel logout ends sessions by either.
	Subject, SID string
	// Secret is the session's tokens (access, refresh, ID token), sealed
	// by the BFF with its CookieKey (AES-256-GCM): the store holds no
	// usable token.
	Secret []byte
	// Claims is the JSON of the ID token claims the user endpoint returns.
	Claims []byte
	// Created and Expires bound the session absolutely; LastSeen + the
	// idle timeout bounds it too.
	Created, LastSeen, Expires time.Time
	// Version increases on every lease and token update: the
	// compare-and-swap of LeaseRefresh and StoreTokens.
	Version int64
	// LeaseUntil: while in the future, one instance is refreshing this
	// session's tokens and the others wait for its result.
	LeaseUntil time.Time
}

// SessionStore keeps sessions where every BFF instance finds them. Its
// methods are atomic one by one; what makes a refresh happen once per
// session across instances is the pair LeaseRefresh / StoreTokens, both
// compare-and-swaps on Version. Implementations: MemoryStore (one
// process), bff/bffsqlite, bff/bffpostgres; bff/bffstoretest is the
// conformance suite they all pass.
//
// A store does not check expiry on read: the BFF does, with its clock, and
// deletes what it finds expired.
type SessionStore interface {
	// CreateSession stores s (Version as given, normally 1).
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session, or ErrNotFound.
	GetSession(ctx context.Context, key string) (Session, error)
	// TouchSession sets LastSeen (the idle timeout restarts); ErrNotFound
	// when the session is gone.
	TouchSession(ctx context.Context, key string, at time.Time) error
	// LeaseRefresh takes the refresh lease: when the session's Version is
	// still version and no lease is live at now, it sets LeaseUntil =
	// until, increments Version and reports true. Otherwise false (another
	// instance holds the lease or already refreshed). Exactly one of N
	// concurrent callers with the same version wins.
	LeaseRefresh(ctx context.Context, key string, version int64, now, until time.Time) (bool, error)
	// StoreTokens replaces Secret, increments Version and clears the
	// lease, only when Version is still version (the one LeaseRefresh
	// returned as version+1); otherwise ErrConflict and nothing changes.
	StoreTokens(ctx context.Context, key string, version int64, secret []byte) error
	// ReleaseLease clears the lease taken at version (a failed refresh), so
	// another request may try at once. No error when it moved on.
	ReleaseLease(ctx context.Context, key string, version int64) error
	// DeleteSession removes the session; no error when it is gone.
	DeleteSession(ctx context.Context, key string) error
	// DeleteSessionsBySID and DeleteSessionsBySubject remove every session
	// of an OP session or user (back-channel logout) and return how many.
	DeleteSessionsBySID(ctx context.Context, sid string) (int, error)
	DeleteSessionsBySubject(ctx context.Context, sub string) (int, error)
	// UseJTI records a logout token's jti until expires; ErrReplay when it
	// is already recorded. Exactly one of N concurrent
	// callers succeeds.
	UseJTI(ctx context.Context, jti string, expires time.Time) error
	// DeleteExpired removes sessions whose Expires is before now or whose
	// LastSeen is before idleSince, and jtis past their expiry. The BFF
	// calls it now and then (at sign-in, at most once a minute).
	DeleteExpired(ctx context.Context, now, idleSince time.Time) error
}

// SessionKey is what a store keeps for the session id in a cookie: its
// SHA-256, base64url. The id has 256 random bits, so a plain hash (no
// salt, no stretching) is enough to make a leaked store useless as cookies.
func SessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// MemoryStore is a SessionStore in this process's memory: sessions die
// with the process and are not shared between instances. For tests and a
// single instance; use bffsqlite or bffpostgres otherwise.
type MemoryStore struct {
	mu       sync.Mutex
	sessions map[string]Session
	jtis     map[string]time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{sessions: map[string]Session{}, jtis: map[string]time.Time{}}
}

var _ SessionStore = (*MemoryStore)(nil)

func (m *MemoryStore) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.Secret = append([]byte(nil), s.Secret...)
	m.sessions[s.Key] = s
	return nil
}

func (m *MemoryStore) GetSession(_ context.Context, key string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok {
		return Session{}, ErrNotFound
	}
	return s, nil
}

func (m *MemoryStore) TouchSession(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok {
		return ErrNotFound
	}
	s.LastSeen = at
	m.sessions[key] = s
	return nil
}

func (m *MemoryStore) LeaseRefresh(_ context.Context, key string, version int64, now, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok || s.Version != version || s.LeaseUntil.After(now) {
		return false, nil
	}
	s.Version++
	s.LeaseUntil = until
	m.sessions[key] = s
	return true, nil
}

func (m *MemoryStore) StoreTokens(_ context.Context, key string, version int64, secret []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok || s.Version != version {
		return ErrConflict
	}
	s.Secret = append([]byte(nil), secret...)
	s.Version++
	s.LeaseUntil = time.Time{}
	m.sessions[key] = s
	return nil
}

func (m *MemoryStore) ReleaseLease(_ context.Context, key string, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[key]; ok && s.Version == version {
		s.LeaseUntil = time.Time{}
		m.sessions[key] = s
	}
	return nil
}

func (m *MemoryStore) DeleteSession(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, key)
	return nil
}

func (m *MemoryStore) DeleteSessionsBySID(_ context.Context, sid string) (int, error) {
	return m.deleteWhere(func(s Session) bool { return sid != "" && s.SID == sid }), nil
}

func (m *MemoryStore) DeleteSessionsBySubject(_ context.Context, sub string) (int, error) {
	return m.deleteWhere(func(s Session) bool { return sub != "" && s.Subject == sub }), nil
}

func (m *MemoryStore) deleteWhere(match func(Session) bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, s := range m.sessions {
		if match(s) {
			delete(m.sessions, k)
			n++
		}
	}
	return n
}

func (m *MemoryStore) UseJTI(_ context.Context, jti string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.jtis[jti]; ok {
		return ErrReplay
	}
	m.jtis[jti] = expires
	return nil
}

func (m *MemoryStore) DeleteExpired(_ context.Context, now, idleSince time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if s.Expires.Before(now) || s.LastSeen.Before(idleSince) {
			delete(m.sessions, k)
		}
	}
	for k, exp := range m.jtis {
		if exp.Before(now) {
			delete(m.jtis, k)
		}
	}
	return nil
}
