package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// seedData fills the spawned server's database with users and live
// grants, each grant with one live refresh token, before the workloads
// run (issue 13: W2 and W3 measured on a store of realistic size). It
// writes with bulk SQL, one statement per table, straight into the
// database the server migrated — not through the API, which would take
// hours for a million grants. The rows belong to seeded users of the
// bench's public client and are never presented; they make the tables
// and their indexes as large as a busy deployment's. The SQL follows the
// schema of internal/store/{sqlite,postgres}/migrations (lists as JSON
// text on SQLite, text[] on PostgreSQL; times in Unix nanoseconds).
func seedData(ctx context.Context, db, clientID string, users, grants int, now time.Time) error {
	if users <= 0 || grants <= 0 {
		return nil
	}
	// A prefix per run keeps the IDs unique when a scratch PostgreSQL
	// database is reused.
	p := fmt.Sprintf("seed-%x-", now.UnixNano())
	at, exp := now.UnixNano(), now.Add(30*24*time.Hour).UnixNano()
	type stmt struct {
		q    string
		args []any
	}
	var driver, dsn string
	var stmts []stmt
	switch kind, path, _ := strings.Cut(db, ":"); kind {
	case "sqlite":
		driver, dsn = "sqlite", path
		// A recursive CTE counts 0 … n-1.
		series := func(n int) string {
			return fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < %d) ", n-1)
		}
		stmts = []stmt{
			{series(users) + `INSERT INTO users (id, username, email, email_verified, name, password_hash, created_at)
				SELECT ?1||'u-'||i, ?1||'user-'||i, 'seed'||i||'@bench.test', 1, 'Seed User', '', ?2 FROM n`, []any{p, at}},
			{series(grants) + `INSERT INTO grants (id, client_id, user_id, session_id, scopes, audiences, auth_time, amr, nonce, dpop_jkt, created_at, absolute_expires_at, revoked_at)
				SELECT ?1||'g-'||i, ?2, ?1||'u-'||(i % ?3), '', '["openid","offline_access"]', '[]', ?4, '["pwd"]', '', '', ?4, ?5, NULL FROM n`, []any{p, clientID, users, at, exp}},
			{series(grants) + `INSERT INTO refresh_tokens (hash, grant_id, client_id, user_id, scopes, created_at, expires_at, rotated_at, successor_hash)
				SELECT ?1||'r-'||i, ?1||'g-'||i, ?2, ?1||'u-'||(i % ?3), '["openid","offline_access"]', ?4, ?5, NULL, '' FROM n`, []any{p, clientID, users, at, exp}},
		}
	case "postgres", "postgresql":
		driver, dsn = "pgx", db
		stmts = []stmt{
			{`INSERT INTO users (id, username, email, email_verified, name, password_hash, created_at)
				SELECT $1||'u-'||i, $1||'user-'||i, 'seed'||i||'@bench.test', true, 'Seed User', '', $2 FROM generate_series(0, $3 - 1) i`, []any{p, at, users}},
			{`INSERT INTO grants (id, client_id, user_id, session_id, scopes, audiences, auth_time, amr, nonce, dpop_jkt, created_at, absolute_expires_at, revoked_at)
				SELECT $1||'g-'||i, $2, $1||'u-'||(i % $3), '', '{openid,offline_access}', '{}', $4, '{pwd}', '', '', $4, $5, NULL FROM generate_series(0, $6 - 1) i`, []any{p, clientID, users, at, exp, grants}},
			{`INSERT INTO refresh_tokens (hash, grant_id, client_id, user_id, scopes, created_at, expires_at, rotated_at, successor_hash)
				SELECT $1||'r-'||i, $1||'g-'||i, $2, $1||'u-'||(i % $3), '{openid,offline_access}', $4, $5, NULL, '' FROM generate_series(0, $6 - 1) i`, []any{p, clientID, users, at, exp, grants}},
			{`ANALYZE users, grants, refresh_tokens`, nil},
		}
	default:
		return fmt.Errorf("--seed-grants: unknown database %q", db)
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if driver == "sqlite" {
		// The server holds the database open: wait for its writer.
		if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 60000"); err != nil {
			return err
		}
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("seeding the database: %w", err)
		}
	}
	return nil
}
