package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// currentSession returns the browser's valid SSO session and its user, or
// (nil, nil, nil) when there is none. The cookie holds a random value; the
// store knows only its hash.
func (s *Server) currentSession(r *http.Request) (*store.Session, *store.User, error) {
	v := s.cookie(r, sessionCookie)
	if v == "" {
		return nil, nil, nil
	}
	ctx := r.Context()
	sess, err := s.store.GetSession(ctx, token.Hash(v), s.now())
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &sess, &u, nil
}

// startSession begins a new SSO session for u. Any session the browser
// already had is ended first and the new one gets a fresh random id, so a
// session id planted before login is worthless (session fixation,
// RFC 9700 §4.6 / OWASP).
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u store.User, amr []string) (store.Session, error) {
	if err := s.endBrowserSession(ctx, r); err != nil {
		return store.Session{}, err
	}
	now := s.now()
	v := token.NewOpaque()
	// SID is the public session id ID tokens carry; it is random and
	// unrelated to the cookie, so it reveals nothing that signs in.
	sess := store.Session{
		ID: token.Hash(v), SID: token.NewOpaque(), UserID: u.ID, AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(s.opts.SessionTTL), AMR: amr,
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return store.Session{}, err
	}
	http.SetCookie(w, s.newCookie(sessionCookie, v, sess.ExpiresAt, 0))
	return sess, nil
}

// endSession ends the browser's SSO session and clears its cookie.
func (s *Server) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.endBrowserSession(ctx, r); err != nil {
		return err
	}
	http.SetCookie(w, s.newCookie(sessionCookie, "", time.Time{}, -1))
	return nil
}

// endBrowserSession ends the session of the browser's cookie, if any.
// The store enqueues a back-channel logout for every client that got
// tokens in it, in the same transaction (OpenID Connect Back-Channel
// Logout 1.0 §2.5), so a crash right after loses no notification; this
// instance's worker is woken to send them.
func (s *Server) endBrowserSession(ctx context.Context, r *http.Request) error {
	v := s.cookie(r, sessionCookie)
	if v == "" {
		return nil
	}
	queued, err := s.store.EndSession(ctx, token.Hash(v), s.now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if queued > 0 {
		s.notifyBackchannel()
	}
	return nil
}
