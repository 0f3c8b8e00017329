package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// undo holds, for each migration after 0002 by its topic (the file name
// without number and .sql), the statements that take the schema back to
// before it. A test that re-runs a migration on old data rolls back to it
// with rollbackTo; a new migration adds its entry here.
var undo = map[string][]string{
	"session_sid":            {`ALTER TABLE sessions DROP COLUMN sid`},
	"code_failures":          {`ALTER TABLE auth_codes DROP COLUMN failures`},
	"client_resource_server": {`ALTER TABLE clients DROP COLUMN resource_server`},
	"client_auth": {
		`ALTER TABLE clients DROP COLUMN token_endpoint_auth_method`,
		`ALTER TABLE clients DROP COLUMN jwks`,
		`ALTER TABLE clients DROP COLUMN jwks_uri`,
		`ALTER TABLE clients DROP COLUMN require_par`,
		`DROP TABLE pushed_requests`,
	},
	"key_schedule": {
		`DROP INDEX signing_keys_schedule`,
		`ALTER TABLE signing_keys DROP COLUMN activate_at`,
		`ALTER TABLE signing_keys ADD COLUMN active INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER`,
		`CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(alg) WHERE active`,
	},
	"backchannel_logout": {
		`DROP INDEX IF EXISTS grants_session`,
		`DROP INDEX auth_codes_session`,
		`DROP TABLE backchannel_logouts`,
		`ALTER TABLE clients DROP COLUMN backchannel_logout_uri`,
		`ALTER TABLE clients DROP COLUMN backchannel_logout_session_required`,
	},
	"reasons": {
		`ALTER TABLE grants DROP COLUMN revoked_reason`,
		`ALTER TABLE clients DROP COLUMN require_fresh_challenge`,
	},
	"factors": {
		`ALTER TABLE users DROP COLUMN mfa_required`,
		`DROP TABLE factors`,
		`ALTER TABLE clients DROP COLUMN authentication_policy`,
	},
	"client_registration": {
		`ALTER TABLE clients DROP COLUMN origin`,
		`ALTER TABLE clients DROP COLUMN registration_token_hash`,
		`DROP TABLE initial_access_tokens`,
	},
	"device": {`DROP TABLE device_codes`},
	"upstreams": {
		`DROP TABLE upstream_links`,
		`DROP TABLE upstreams`,
	},
}

// rollbackTo undoes the migration of the given topic and every later one,
// newest first, and forgets them in schema_migrations, so that the next
// Open applies them again (SQLite applies only versions above the highest
// recorded one).
func rollbackTo(ctx context.Context, t *testing.T, s *Store, topic string) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	from := slices.IndexFunc(ms, func(m migration) bool { return migrationTopic(m.name) == topic })
	if from < 0 {
		t.Fatalf("no migration %q", topic)
	}
	for i := len(ms) - 1; i >= from; i-- {
		qs, ok := undo[migrationTopic(ms[i].name)]
		if !ok {
			t.Fatalf("migration %s has no undo statements: add them to undo in migrate_undo_test.go", ms[i].name)
		}
		for _, q := range qs {
			if _, err := s.w.ExecContext(ctx, q); err != nil {
				t.Fatalf("undo %s: %s: %v", ms[i].name, q, err)
			}
		}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version >= ?`, ms[from].version); err != nil {
		t.Fatal(err)
	}
}

// migrationTopic is "key_schedule" for "0007_key_schedule.sql".
func migrationTopic(name string) string {
	_, rest, _ := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
	return rest
}
