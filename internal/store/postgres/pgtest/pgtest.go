// Package pgtest is test support for the PostgreSQL store: NewTestDB gives
// each test its own scratch database. It imports testing, so only _test.go
// files may import it; the layering test (layout_test.go at the module
// root) keeps it out of the latch binary.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultTestAdminDSN is the server NewTestDB uses when LATCH_TEST_POSTGRES
// is not set: a local PostgreSQL with trust authentication.
const DefaultTestAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// NewTestDB creates a fresh, empty database for one test and returns its
// DSN; the database is dropped (WITH (FORCE), closing any connection left
// open) when the test and its subtests finish. The schema is not applied:
// Open does that.
//
// The server is the one named by the admin DSN in the environment variable
// LATCH_TEST_POSTGRES (default DefaultTestAdminDSN), which must allow
// CREATE DATABASE. When the server cannot be reached the test is skipped
// with a one-line reason, unless CI=true is set, in which case it fails:
// CI must not silently skip the PostgreSQL tests.
//
// It lives here rather than in package postgres so that the server binary,
// which links postgres, does not link the testing package.
func NewTestDB(t testing.TB) (dsn string) {
	t.Helper()
	admin := os.Getenv("LATCH_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultTestAdminDSN
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := connectAdmin(ctx, admin)
	if err != nil {
		// One line that says what is missing and how to provide it.
		msg := fmt.Sprintf("postgres: no test server at %s (%v): start one with ./scripts/provision (Debian), or set LATCH_TEST_POSTGRES to a server whose role may CREATE DATABASE", redact(admin), err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so not skipping", msg)
		}
		t.Skipf("%s", msg)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	name := "latch_test_" + hex.EncodeToString(b[:])
	// template0: template1 may carry local additions, and CREATE DATABASE
	// from template1 fails while anyone is connected to it.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("postgres: create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := connectAdmin(ctx, admin)
		if err != nil {
			t.Errorf("postgres: drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("postgres: drop test database %s: %v", name, err)
		}
	})
	dsn, err = withDatabase(admin, name)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	return dsn
}

func connectAdmin(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// withDatabase returns dsn with its database replaced by name. dsn is a
// postgres:// URL or a key=value string (where a later key wins).
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse LATCH_TEST_POSTGRES: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil
}

// redact hides the password of a DSN for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "LATCH_TEST_POSTGRES (unparsable)"
	}
	return u.Redacted()
}
