package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// expiring lists, per table, the column that holds a row's expiry (Unix
// nanoseconds), as the PostgreSQL schema defines it.
var expiring = []struct{ table, column string }{
	{"sessions", "expires_at"},
	{"auth_codes", "expires_at"},
	{"grants", "absolute_expires_at"},
	{"refresh_tokens", "expires_at"},
	{"revoked_access_tokens", "expires_at"},
}

// TestSweepOnTwoInstances runs two instances that both sweep every 100 ms.
// Records made through "short" (lifetimes of seconds) disappear once
// expired; records made through "long" (the default lifetimes) stay and
// keep working. Both sweep the same rows at once without an error.
func TestSweepOnTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewTestDB(t)
	d := newDeployment(t, dsn)
	d.seed()
	short := d.start("short", "--sweep-interval", "100ms",
		"--code-ttl", "3s", "--session-ttl", "3s", "--access-token-ttl", "3s",
		"--public-refresh-idle", "3s", "--public-refresh-absolute", "3s")
	long := d.start("long", "--sweep-interval", "100ms")
	ctx := t.Context()
	// Rows expiring before cutoff are short's; the others are long's.
	cutoff := time.Now().Add(30 * time.Second)

	// Through long, with the default lifetimes: a session, a redeemed
	// code with its grant and refresh token, a code never redeemed.
	l := newAgent()
	v := oauth2.GenerateVerifier()
	ltk, err := l.exchange(ctx, long.URL, "spa", l.signIn(t, long, long, "spa", v), v)
	if err != nil || ltk.status != http.StatusOK {
		t.Fatalf("exchange at long: %+v, %v", ltk, err)
	}
	if _, err := l.silentCode(ctx, long.URL, "spa", oauth2.GenerateVerifier()); err != nil {
		t.Fatal(err)
	}

	// The same through short, plus a revoked access token; counted at
	// once, well within its 3 s lifetimes.
	s := newAgent()
	v = oauth2.GenerateVerifier()
	tk, err := s.exchange(ctx, short.URL, "spa", s.signIn(t, short, short, "spa", v), v)
	if err != nil || tk.status != http.StatusOK {
		t.Fatalf("exchange at short: %+v, %v", tk, err)
	}
	if _, err := s.silentCode(ctx, short.URL, "spa", oauth2.GenerateVerifier()); err != nil {
		t.Fatal(err)
	}
	r, err := postForm(ctx, s.api, short.URL+"/revoke", url.Values{"token": {tk.AccessToken}, "client_id": {"spa"}}, "", "")
	if err != nil || r.status != http.StatusOK {
		t.Fatalf("revoke at short: %d %s (%v)", r.status, r.body, err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	counts := func() (shortRows, longRows map[string]int) {
		shortRows, longRows = map[string]int{}, map[string]int{}
		for _, e := range expiring {
			q := fmt.Sprintf("SELECT count(*) FILTER (WHERE %[2]s < $1), count(*) FILTER (WHERE %[2]s >= $1) FROM %[1]s", e.table, e.column)
			var s, l int
			if err := conn.QueryRow(ctx, q, cutoff.UnixNano()).Scan(&s, &l); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			shortRows[e.table], longRows[e.table] = s, l
		}
		return shortRows, longRows
	}
	shortBefore, longBefore := counts()
	for _, e := range expiring {
		if shortBefore[e.table] == 0 {
			t.Errorf("no short-lived row in %s to sweep: the test setup is wrong", e.table)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	start := time.Now()
	eventually(t, 20*time.Second, "expired rows swept", func() bool {
		s, _ := counts()
		for _, n := range s {
			if n > 0 {
				return false
			}
		}
		return true
	})
	t.Logf("short-lived rows %v swept %s after they were made", shortBefore, time.Since(start).Round(time.Millisecond))

	if _, longAfter := counts(); fmt.Sprint(longAfter) != fmt.Sprint(longBefore) {
		t.Errorf("rows not yet expired changed: %v, want %v", longAfter, longBefore)
	}
	// What long issued still works, at either instance.
	if r, err := l.refresh(ctx, short.URL, "spa", ltk.RefreshToken); err != nil || r.status != http.StatusOK {
		t.Errorf("long-lived refresh token after the sweeps: %+v, %v", r, err)
	}
	if _, err := l.silentCode(ctx, short.URL, "spa", oauth2.GenerateVerifier()); err != nil {
		t.Errorf("long-lived session after the sweeps: %v", err)
	}
	// What short issued is gone for good.
	if r, err := s.refresh(ctx, long.URL, "spa", tk.RefreshToken); err != nil || r.Error != "invalid_grant" {
		t.Errorf("swept refresh token = %+v, %v; want invalid_grant", r, err)
	}
	for _, in := range []*instance{short, long} {
		if recs := in.logs.records("sweep failed"); len(recs) > 0 {
			t.Errorf("%s: sweep failed: %v", in.name, recs)
		}
	}
}
