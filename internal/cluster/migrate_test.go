package cluster

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// queryRow runs a query on its own connection to dsn and scans its one
// row into dst: checks that look under the instances.
func queryRow(t *testing.T, dsn, sql string, dst ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	if err := conn.QueryRow(t.Context(), sql).Scan(dst...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestMigrate runs `latch migrate` on an empty PostgreSQL database, twice.
func TestMigrate(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewTestDB(t)
	d := newDeployment(t, dsn)
	for i := range 2 { // the second run has nothing to do
		if out := d.run("", "migrate", "--db", dsn); strings.TrimSpace(out) != "migrations applied" {
			t.Errorf("latch migrate (run %d) printed %q", i+1, out)
		}
	}
	var versions, distinct, keys int
	queryRow(t, dsn, "SELECT count(*), count(DISTINCT version) FROM schema_migrations", &versions, &distinct)
	if versions == 0 || versions != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions, want each version once", versions, distinct)
	}
	// The schema is there; migrate creates no keys (serve does).
	queryRow(t, dsn, "SELECT count(*) FROM signing_keys", &keys)
	if keys != 0 {
		t.Errorf("latch migrate created %d signing keys", keys)
	}
	// A database URL Latch cannot use fails with one line that does not
	// echo the URL (it may hold a password).
	if _, err := d.tryRun("", "migrate", "--db", "mysql://root:hunter2@db/latch"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("latch migrate --db mysql://… = %v; want a failure that does not echo the password", err)
	}
}

// TestThreeInstancesStartOnEmptyDatabase starts three instances at once on
// an empty PostgreSQL database: the advisory lock serialises the
// migrations, every instance comes up, they store one key per algorithm
// between them (token.Keys.Ensure), and all three publish the same JWKS
// and sign with that key.
func TestThreeInstancesStartOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewTestDB(t)
	d := newDeployment(t, dsn)
	ins := d.startAll([]string{"one", "two", "three"})

	var versions, distinct int
	queryRow(t, dsn, "SELECT count(*), count(DISTINCT version) FROM schema_migrations", &versions, &distinct)
	if versions == 0 || versions != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions, want each version once", versions, distinct)
	}
	var algs, maxActive int
	queryRow(t, dsn, "SELECT count(*), coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM signing_keys GROUP BY alg) a", &algs, &maxActive)
	if algs != 3 || maxActive != 1 {
		t.Errorf("signing keys: %d algorithms, at most %d per algorithm; want 3 and 1", algs, maxActive)
	}

	ag := newAgent()
	eventually(t, 10*time.Second, "the three instances publish the same JWKS", func() bool {
		k := ag.jwksKids(t, ins[0].URL)
		return sameSet(k, ag.jwksKids(t, ins[1].URL)) && sameSet(k, ag.jwksKids(t, ins[2].URL))
	})

	// Flows across all three, seeded now while they run: each signs with
	// the one active key of the default algorithm, and each accepts the
	// others' tokens.
	d.seed()
	var activeKid string
	queryRow(t, dsn, "SELECT id FROM signing_keys WHERE alg = 'RS256' ORDER BY activate_at DESC LIMIT 1", &activeKid)
	ag.signIn(t, ins[0], ins[1], "spa", oauth2.GenerateVerifier())
	for i, in := range ins {
		next, last := ins[(i+1)%3], ins[(i+2)%3]
		v := oauth2.GenerateVerifier()
		code, err := ag.silentCode(t.Context(), in.URL, "spa", v)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := ag.exchange(t.Context(), next.URL, "spa", code, v)
		if err != nil || tk.status != http.StatusOK {
			t.Fatalf("code from %s redeemed at %s: %+v, %v", in.name, next.name, tk, err)
		}
		if kid := kidOf(t, tk.AccessToken); kid != activeKid {
			t.Errorf("%s signed with %s, want the active key %s", next.name, kid, activeKid)
		}
		if !ag.active(t, last.URL, d.apiSecret, tk.AccessToken) {
			t.Errorf("token issued by %s is not active at %s", next.name, last.name)
		}
	}
}
