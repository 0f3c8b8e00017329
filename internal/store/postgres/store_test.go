package postgres_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// Behaviour this backend adds to (or fixes within) the Store contract,
// beyond what the conformance suite checks.

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name, dsn string
		opts      postgres.Options
		want      string
	}{
		{"bad dsn", "postgres://%zz", postgres.Options{}, "parse dsn"},
		{"negative MaxConns", pgtest.DefaultTestAdminDSN, postgres.Options{MaxConns: -1}, "negative"},
		// Nothing listens on port 1: Open must fail, not hang.
		{"unreachable", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", postgres.Options{ConnectTimeout: 2 * time.Second}, "ping"},
	} {
		s, err := postgres.Open(ctx, tc.dsn, tc.opts)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%s) succeeded, want an error containing %q", tc.name, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// cmd/latch prints Open's errors: they must never carry the password.
func TestOpenDoesNotLeakPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", // unreachable
		"postgres://u:hunter2@127.0.0.1:notaport/db",                            // unparsable
		"postgres://u:hunter2@127.0.0.1/db?pool_max_conns=many",                 // bad pool option
	} {
		_, err := postgres.Open(t.Context(), dsn, postgres.Options{})
		if err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error contains the password: %v", dsn, err)
		}
	}
}

func TestDeleteExpiredBatchMustBePositive(t *testing.T) {
	s := openTestStore(t, postgres.Options{})
	for _, batch := range []int{0, -1} {
		if n, err := s.DeleteExpired(t.Context(), base, batch); err == nil {
			t.Errorf("DeleteExpired(batch %d) = %d, nil; want an error", batch, n)
		}
	}
}

func TestRecordFailureWindowMustBePositive(t *testing.T) {
	s := openTestStore(t, postgres.Options{})
	if n, err := s.RecordFailure(t.Context(), "k", base, 0); err == nil {
		t.Errorf("RecordFailure(window 0) = %d, nil; want an error", n)
	}
}

// A refresh token whose grant was swept (past its absolute expiry) or
// deleted with its user must not rotate.
func TestRotateAfterGrantSwept(t *testing.T) {
	s := openTestStore(t, postgres.Options{})
	ctx := t.Context()
	g := store.Grant{ID: "g", ClientID: "c", UserID: "u", AbsoluteExpiresAt: base.Add(time.Hour)}
	// The idle expiry outlives the grant: only the grant's bound stops it.
	rt := store.RefreshToken{Hash: "rt", GrantID: "g", ClientID: "c", UserID: "u", ExpiresAt: base.Add(48 * time.Hour)}
	if err := s.CreateGrant(ctx, g, &rt); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	if n, err := s.DeleteExpired(ctx, base.Add(2*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1 (the grant)", n, err)
	}
	if _, err := s.GetRefreshToken(ctx, "rt"); err != nil {
		t.Fatalf("GetRefreshToken after the grant was swept: %v (the token is swept by its own expiry)", err)
	}
	_, res, err := s.RotateRefreshToken(ctx, "rt", store.RefreshToken{Hash: "next"}, base.Add(2*time.Hour), 0)
	if !errors.Is(err, store.ErrRevoked) || res != store.RotateFailed {
		t.Errorf("RotateRefreshToken with its grant gone = %v, %v; want RotateFailed, ErrRevoked", res, err)
	}
}

func TestDeleteUserDeletesCodesAndTokens(t *testing.T) {
	s := openTestStore(t, postgres.Options{})
	ctx := t.Context()
	far := base.Add(time.Hour)
	if err := s.CreateUser(ctx, store.User{ID: "u", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAuthCode(ctx, store.AuthCode{Hash: "code", ClientID: "c", UserID: "u", ExpiresAt: far}); err != nil {
		t.Fatal(err)
	}
	g := store.Grant{ID: "g", ClientID: "c", UserID: "u", AbsoluteExpiresAt: far}
	if err := s.CreateGrant(ctx, g, &store.RefreshToken{Hash: "rt", GrantID: "g", ClientID: "c", UserID: "u", ExpiresAt: far}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "u"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.ConsumeAuthCode(ctx, "code", base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeAuthCode of a deleted user's code = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRefreshToken(ctx, "rt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRefreshToken of a deleted user's token = %v, want ErrNotFound", err)
	}
}
