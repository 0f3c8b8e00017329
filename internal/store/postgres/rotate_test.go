package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// queryLog is a pgx.QueryTracer that records the SQL of every query the
// pool sends (BEGIN and COMMIT included: pgx sends them as queries).
type queryLog struct {
	mu  sync.Mutex
	sql []string
}

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql = append(l.sql, data.SQL)
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the queries recorded since the last take.
func (l *queryLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	sql := l.sql
	l.sql = nil
	return sql
}

// TestRotateRefreshTokenOneRoundTrip: rotating a live, unrotated token of
// a live grant (the refresh grant's common case) is one statement, so one
// round trip to the server; the failures and grace still get their
// answers from the transaction.
func TestRotateRefreshTokenOneRoundTrip(t *testing.T) {
	ctx := t.Context()
	log := &queryLog{}
	s := openTestStore(t, postgres.WithTracer(postgres.Options{}, log))
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g := store.Grant{ID: "g", ClientID: "c", UserID: "u", CreatedAt: base}
	token := func(hash string, created time.Time) store.RefreshToken {
		return store.RefreshToken{Hash: hash, GrantID: g.ID, ClientID: g.ClientID, UserID: g.UserID,
			Scopes: []string{"openid", "offline_access"}, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	}
	rt0 := token("rt-0", base)
	if err := s.CreateGrant(ctx, g, &rt0); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	prev := "rt-0"
	for i, hash := range []string{"rt-1", "rt-2", "rt-3"} {
		now := base.Add(time.Duration(i+1) * time.Minute)
		log.take()
		old, res, err := s.RotateRefreshToken(ctx, prev, token(hash, now), now, time.Minute)
		sent := log.take()
		if err != nil || res != store.RotateRotated || old.SuccessorHash != hash {
			t.Fatalf("RotateRefreshToken(%s) = {SuccessorHash %q}, %v, %v; want %s, RotateRotated", prev, old.SuccessorHash, res, err, hash)
		}
		if len(sent) != 1 {
			t.Errorf("RotateRefreshToken(%s) sent %d queries, want 1:\n%q", prev, len(sent), sent)
		}
		prev = hash
	}

	// Within grace, the predecessor of the head: the fast path rotates
	// nothing and the transaction answers RotateGrace.
	now := base.Add(3*time.Minute + time.Second)
	if _, res, err := s.RotateRefreshToken(ctx, "rt-2", token("rt-x", now), now, time.Minute); err != nil || res != store.RotateGrace {
		t.Fatalf("RotateRefreshToken(rt-2 in grace) = %v, %v; want RotateGrace", res, err)
	}
	if sent := log.take(); len(sent) < 2 {
		t.Errorf("RotateRefreshToken(rt-2 in grace) sent %d queries; want the fast path and then the transaction", len(sent))
	}
	// A taken successor hash fails the one statement, which writes nothing.
	if _, _, err := s.RotateRefreshToken(ctx, "rt-3", token("rt-1", now), now, time.Minute); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("RotateRefreshToken(rt-3, successor rt-1 taken) = %v, want ErrAlreadyExists", err)
	}
	// So does a successor hash equal to the presented one, whose UPDATE
	// came first in the same statement.
	if _, _, err := s.RotateRefreshToken(ctx, "rt-3", token("rt-3", now), now, time.Minute); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("RotateRefreshToken(rt-3, successor rt-3) = %v, want ErrAlreadyExists", err)
	}
	if got, err := s.GetRefreshToken(ctx, "rt-3"); err != nil || !got.RotatedAt.IsZero() || got.SuccessorHash != "" {
		t.Errorf("rt-3 after failed rotations: {RotatedAt %v, SuccessorHash %q}, %v; want unrotated", got.RotatedAt, got.SuccessorHash, err)
	}
}

// TestRotateRefreshTokenWaitsForRevocation: a rotation must not slip past
// a revocation of its grant that is in flight (RevokeGrant's UPDATE not
// yet committed). The fast path locks the grant row, so it waits for the
// revocation and then sees it (READ COMMITTED re-reads the row): ErrRevoked
// and no successor. Reading the grant without the lock would see the row
// as it was before the revocation and rotate.
func TestRotateRefreshTokenWaitsForRevocation(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewTestDB(t)
	s := openOn(t, dsn, postgres.Options{})
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g := store.Grant{ID: "g", ClientID: "c", UserID: "u", CreatedAt: base}
	token := func(hash string) store.RefreshToken {
		return store.RefreshToken{Hash: hash, GrantID: g.ID, ClientID: g.ClientID, UserID: g.UserID,
			CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	}
	rt0 := token("rt-0")
	if err := s.CreateGrant(ctx, g, &rt0); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}

	revoker, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer revoker.Close(context.WithoutCancel(ctx))
	tx, err := revoker.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // after Commit, a no-op
	// RevokeGrant's statement, left uncommitted.
	if _, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = $2, revoked_reason = 'admin' WHERE id = $1`,
		g.ID, base.Add(time.Minute).UnixNano()); err != nil {
		t.Fatalf("revoke: %v", err)
	}

	type result struct {
		res store.RotateResult
		err error
	}
	done := make(chan result, 1)
	now := base.Add(2 * time.Minute)
	go func() {
		_, res, err := s.RotateRefreshToken(ctx, "rt-0", token("rt-1"), now, time.Minute)
		done <- result{res, err}
	}()
	// Wait until the rotation waits on a lock (or, wrongly, returns).
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case r := <-done:
			t.Fatalf("RotateRefreshToken = %v, %v while a revocation of its grant was in flight; want it to wait for the grant's row lock", r.res, r.err)
		default:
		}
		var waiting int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("RotateRefreshToken neither waited on a lock nor returned within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	r := <-done
	if !errors.Is(r.err, store.ErrRevoked) || r.res != store.RotateFailed {
		t.Fatalf("RotateRefreshToken after the revocation committed = %v, %v; want RotateFailed, ErrRevoked", r.res, r.err)
	}
	if _, err := s.GetRefreshToken(ctx, "rt-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRefreshToken(rt-1) = %v, want ErrNotFound: a revoked grant got a successor", err)
	}
}
