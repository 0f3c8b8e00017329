package manage

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// TestCreateInitialAccessToken: the token is returned once, stored as
// its hash with its uses, audited without the token, and bounded.
func TestCreateInitialAccessToken(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		svc, audit := newService(t, st)
		ctx := t.Context()
		tok, err := svc.CreateInitialAccessToken(ctx, 2, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok.Token) < 43 || tok.Uses != 2 || !tok.ExpiresAt.Equal(testNow.Add(time.Hour)) {
			t.Errorf("CreateInitialAccessToken = %+v", tok)
		}
		got, err := st.UseInitialAccessToken(ctx, token.Hash(tok.Token), testNow)
		if err != nil || got.UsesLeft != 1 {
			t.Errorf("the stored token (by hash) = %+v, %v; want 1 use left after one", got, err)
		}
		if _, err := st.UseInitialAccessToken(ctx, tok.Token, testNow); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the token itself is a key in the store: %v", err)
		}
		if log := audit.String(); !strings.Contains(log, "admin_initial_access_token_created") || strings.Contains(log, tok.Token) {
			t.Errorf("audit log = %s; want the event without the token", log)
		}
		for _, bad := range []struct {
			uses int
			ttl  time.Duration
		}{{-1, time.Hour}, {1001, time.Hour}, {1, time.Second}, {1, 31 * 24 * time.Hour}} {
			var e *Error
			if _, err := svc.CreateInitialAccessToken(ctx, bad.uses, bad.ttl); !errors.As(err, &e) || e.Kind != Invalid {
				t.Errorf("CreateInitialAccessToken(%d, %v) = %v, want an Invalid error", bad.uses, bad.ttl, err)
			}
		}
	})
}
