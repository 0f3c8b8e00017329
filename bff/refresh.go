package bff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// live is a request's session: the stored record and its opened tokens.
type live struct {
	key string
	s   Session
	tok tokens
}

// session returns the request's live session, or errNoSession (no cookie,
// unknown id, expired: idle or absolute — an expired one is deleted).
// Other errors are the store's.
func (b *BFF) session(ctx context.Context, r *http.Request) (*live, error) {
	c, err := r.Cookie(b.sessionCookieName())
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, errNoSession
	}
	return b.load(ctx, SessionKey(c.Value), true)
}

// load reads and opens the session under key; touch restarts its idle
// timeout (at most every touchEvery, to spare the store a write per
// request).
func (b *BFF) load(ctx context.Context, key string, touch bool) (*live, error) {
	s, err := b.store.GetSession(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := b.now()
	if !now.Before(s.Expires) || !now.Before(s.LastSeen.Add(b.cfg.IdleTimeout)) {
		_ = b.store.DeleteSession(ctx, key)
		return nil, errNoSession
	}
	l := &live{key: key, s: s}
	if err := b.open(key, s.Secret, &l.tok); err != nil {
		// Sealed under another CookieKey (a key change) or altered.
		b.log.WarnContext(ctx, "session tokens do not open (CookieKey changed?)", "error", err)
		_ = b.store.DeleteSession(ctx, key)
		return nil, errNoSession
	}
	if touch && now.Sub(s.LastSeen) >= touchEvery {
		if err := b.store.TouchSession(ctx, key, now); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return l, nil
}

// errRefreshBusy: another instance holds the refresh lease past our wait.
var errRefreshBusy = errors.New("bff: refresh in progress elsewhere")

// accessToken returns the session's access token, refreshing it first when
// it expires within RefreshMargin.
//
// Once per session at a time, across instances: Latch rotates refresh
// tokens and treats a second use of a spent one as theft, revoking the
// whole grant (RFC 9700 §4.14.2). So a refresh first takes the session's
// lease (SessionStore.LeaseRefresh, a compare-and-swap on Version); the
// losers wait for the winner's result in the store. The winner persists
// the rotated tokens (StoreTokens, again a compare-and-swap) BEFORE it
// uses the new access token: if the write fails, the token is not used,
// so no instance can ever hold a refresh token the store does not have.
func (b *BFF) accessToken(ctx context.Context, l *live) (string, error) {
	deadline := time.Now().Add(leaseTTL + 5*time.Second) // real time: how long we wait for another instance
	for {
		now := b.now()
		if l.tok.Expiry.IsZero() || now.Add(b.cfg.RefreshMargin).Before(l.tok.Expiry) {
			return l.tok.AccessToken, nil
		}
		if l.tok.RefreshToken == "" {
			return "", errNoSession // no offline_access: sign in again
		}
		if !l.s.LeaseUntil.After(now) {
			won, err := b.store.LeaseRefresh(ctx, l.key, l.s.Version, now, now.Add(leaseTTL))
			if err != nil {
				return "", err
			}
			if won {
				return b.refresh(ctx, l, l.s.Version+1)
			}
		}
		// Another request (here or on another instance) is refreshing:
		// wait for its tokens to land in the store.
		if time.Now().After(deadline) {
			return "", errRefreshBusy
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		next, err := b.load(ctx, l.key, false)
		if err != nil {
			return "", err
		}
		*l = *next
	}
}

// refresh runs the refresh_token grant under the lease taken at version.
func (b *BFF) refresh(ctx context.Context, l *live, version int64) (string, error) {
	// Not the request's context: if the browser gives up mid-refresh,
	// Latch may already have rotated the token, and dropping its answer
	// would leave the session with a spent one.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseTTL-time.Second)
	defer cancel()
	tok, err := b.tokenRequest(rctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {l.tok.RefreshToken}})
	if err == nil && tok.IDToken != "" {
		// OIDC Core §12.2: a refreshed ID token is verified like the first
		// (no nonce) and names the same user.
		idt, verr := b.verifier.Verify(b.oidcContext(rctx), tok.IDToken)
		switch {
		case verr != nil:
			err = fmt.Errorf("refreshed ID token: %w", verr)
		case idt.Subject != l.s.Subject:
			err = errors.New("bff: refreshed ID token is for another subject")
		}
	}
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) && te.Code == "invalid_grant" {
			// The grant is over (expired, revoked, reuse detected): so is
			// the session.
			_ = b.store.DeleteSession(rctx, l.key)
			return "", errNoSession
		}
		_ = b.store.ReleaseLease(rctx, l.key, version)
		return "", err
	}
	if tok.RefreshToken == "" { // not rotated (RFC 6749 §6: MAY issue a new one)
		tok.RefreshToken = l.tok.RefreshToken
	}
	if tok.IDToken == "" {
		tok.IDToken = l.tok.IDToken // still the logout hint
	}
	secret, err := b.seal(l.key, tok)
	if err != nil {
		return "", err
	}
	if err := b.store.StoreTokens(rctx, l.key, version, secret); err != nil {
		// Not persisted: not used either (see accessToken).
		return "", fmt.Errorf("persisting rotated tokens: %w", err)
	}
	l.tok = *tok
	l.s.Version = version + 1
	b.log.DebugContext(ctx, "refreshed the access token", "sub", l.s.Subject)
	return tok.AccessToken, nil
}
