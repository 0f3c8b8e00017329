package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// These tests run several *Store, each with its own pool, on one database:
// the shape of several Latch instances behind a load balancer. The
// conformance suite covers one Store; here every guarantee must come from
// PostgreSQL, since the instances share no memory.

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// instances opens n Stores on one fresh database.
func instances(t *testing.T, n int) []*postgres.Store {
	t.Helper()
	dsn := pgtest.NewTestDB(t)
	ss := make([]*postgres.Store, n)
	for i := range ss {
		ss[i] = openOn(t, dsn, postgres.Options{MaxConns: 4})
	}
	return ss
}

// race runs fn(i) for i in [0, n) on n goroutines released together.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// query runs one statement on its own connection to dsn, for checks that
// look under the Store.
func queryInt(t *testing.T, dsn, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var n int
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestMigrateConcurrentOpen(t *testing.T) {
	const n = 8
	dsn := pgtest.NewTestDB(t)
	errs := make([]error, n)
	stores := make([]*postgres.Store, n)
	race(n, func(i int) {
		stores[i], errs[i] = postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 2})
		if errs[i] == nil {
			// Migrate again while the others may still be opening.
			errs[i] = stores[i].Migrate(t.Context())
		}
	})
	for i, s := range stores {
		if s != nil {
			t.Cleanup(func() { _ = s.Close() })
		}
		if errs[i] != nil {
			t.Errorf("instance %d: Open/Migrate on a fresh database: %v", i, errs[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	ms := postgres.Migrations()
	if got := queryInt(t, dsn, `SELECT count(*) FROM schema_migrations`); got != len(ms) {
		t.Errorf("schema_migrations has %d rows after %d concurrent Opens, want %d (one per migration)", got, n, len(ms))
	}
	if got := queryInt(t, dsn, `SELECT max(version) FROM schema_migrations`); got != ms[len(ms)-1] {
		t.Errorf("schema_migrations max(version) = %d, want %d", got, ms[len(ms)-1])
	}
	// The schema works: one instance writes, another reads.
	if err := stores[0].CreateClient(t.Context(), store.Client{ID: "c"}); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	if _, err := stores[n-1].GetClient(t.Context(), "c"); err != nil {
		t.Errorf("GetClient from another instance: %v", err)
	}
}

func TestMigrationsNumbered(t *testing.T) {
	ms := postgres.Migrations()
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, v := range ms {
		if v != i+1 {
			t.Errorf("migration #%d has version %d, want %d (versions are 1, 2, ... without gaps)", i, v, i+1)
		}
	}
}

func TestTwoInstancesConsumeOneCode(t *testing.T) {
	const racers = 16
	ss := instances(t, 2)
	ctx := t.Context()
	code := store.AuthCode{Hash: "code", ClientID: "c", UserID: "u", GrantID: "g", ExpiresAt: base.Add(time.Minute)}
	if err := ss[0].CreateAuthCode(ctx, code); err != nil {
		t.Fatalf("CreateAuthCode: %v", err)
	}
	errs := make([]error, racers)
	got := make([]store.AuthCode, racers)
	race(racers, func(i int) {
		got[i], errs[i] = ss[i%2].ConsumeAuthCode(ctx, "code", base.Add(time.Duration(i)*time.Millisecond))
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrCodeUsed):
			if got[i].GrantID != "g" {
				t.Errorf("caller %d: ErrCodeUsed with GrantID %q, want %q (to revoke the grant)", i, got[i].GrantID, "g")
			}
		default:
			t.Errorf("caller %d (instance %d): %v, want nil or ErrCodeUsed", i, i%2, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d callers on 2 instances consumed one code: %d won, want exactly 1", racers, wins)
	}
}

func TestTwoInstancesRotateOneToken(t *testing.T) {
	const racers = 16
	ss := instances(t, 2)
	ctx := t.Context()
	g := store.Grant{ID: "g", ClientID: "c", UserID: "u", AbsoluteExpiresAt: base.Add(24 * time.Hour)}
	rt := store.RefreshToken{Hash: "rt-0", GrantID: "g", ClientID: "c", UserID: "u", ExpiresAt: base.Add(time.Hour)}
	if err := ss[0].CreateGrant(ctx, g, &rt); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	now := base.Add(time.Minute)
	results := make([]store.RotateResult, racers)
	errs := make([]error, racers)
	race(racers, func(i int) {
		next := store.RefreshToken{Hash: fmt.Sprintf("rt-%d", i+1), GrantID: "g", ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}
		_, results[i], errs[i] = ss[i%2].RotateRefreshToken(ctx, "rt-0", next, now, 10*time.Second)
	})
	rotated, grace := 0, 0
	for i, err := range errs {
		switch {
		case err != nil:
			t.Errorf("caller %d: %v, want no error within grace", i, err)
		case results[i] == store.RotateRotated:
			rotated++
		case results[i] == store.RotateGrace:
			grace++
		}
	}
	if rotated != 1 || grace != racers-1 {
		t.Errorf("%d rotations on 2 instances within grace: %d rotated, %d grace; want 1 and %d", racers, rotated, grace, racers-1)
	}
	// Outside grace, from the other instance: reuse, and the family dies.
	if _, _, err := ss[1].RotateRefreshToken(ctx, "rt-0", store.RefreshToken{Hash: "late"}, now.Add(time.Minute), 10*time.Second); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("RotateRefreshToken(rt-0) outside grace = %v, want ErrRefreshReused", err)
	}
	gg, err := ss[0].GetGrant(ctx, "g")
	if err != nil || gg.RevokedAt.IsZero() {
		t.Errorf("GetGrant after reuse on the other instance = RevokedAt %v, %v; want revoked", gg.RevokedAt, err)
	}
}

func TestInstancesSweepConcurrently(t *testing.T) {
	const (
		instancesN = 3
		rows       = 300
		batch      = 7
	)
	ss := instances(t, instancesN)
	ctx := t.Context()
	for i := range rows {
		if err := ss[0].UseOnce(ctx, fmt.Sprintf("jti-%d", i), base); err != nil {
			t.Fatalf("UseOnce: %v", err)
		}
	}
	if err := ss[0].UseOnce(ctx, "live", base.Add(time.Hour)); err != nil {
		t.Fatalf("UseOnce(live): %v", err)
	}
	// Every instance sweeps in small batches until it finds nothing; the
	// rows deleted must add up exactly, with no error and no batch over
	// the limit.
	deleted := make([]int, instancesN)
	errs := make([]error, instancesN)
	race(instancesN, func(i int) {
		for {
			n, err := ss[i].DeleteExpired(ctx, base.Add(time.Second), batch)
			if err != nil {
				errs[i] = err
				return
			}
			if n > batch {
				errs[i] = fmt.Errorf("DeleteExpired removed %d rows with batch %d", n, batch)
				return
			}
			if n == 0 {
				return
			}
			deleted[i] += n
		}
	})
	total := 0
	for i := range instancesN {
		if errs[i] != nil {
			t.Errorf("instance %d: %v", i, errs[i])
		}
		total += deleted[i]
	}
	if total != rows {
		t.Errorf("instances deleted %v = %d rows in total, want %d", deleted, total, rows)
	}
	if err := ss[1].UseOnce(ctx, "live", base.Add(time.Hour)); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("UseOnce(live) after sweeping = %v, want ErrAlreadyExists (an unexpired value was swept)", err)
	}
	if err := ss[1].UseOnce(ctx, "jti-0", base.Add(time.Hour)); err != nil {
		t.Errorf("UseOnce(jti-0) after it was swept: %v", err)
	}
}

// RecordFailure serialises per key (see its comment), so N concurrent
// failures on several instances get the counts 1..N, each once. The
// conformance suite only requires the total.
func TestInstancesRecordFailureCounts(t *testing.T) {
	const racers = 16
	ss := instances(t, 2)
	counts := make([]int, racers)
	errs := make([]error, racers)
	race(racers, func(i int) {
		counts[i], errs[i] = ss[i%2].RecordFailure(t.Context(), "login:alice", base, time.Minute)
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("RecordFailure #%d: %v", i, err)
		}
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("sorted counts of %d concurrent RecordFailure = %v, want 1..%d", racers, counts, racers)
		}
	}
}
