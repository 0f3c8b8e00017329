package sqlite

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestMigrateSessionSID runs the session_sid migration on data written
// before it: existing sessions get a random sid, and the codes and grants
// that recorded a session by its id (the cookie hash, which must never
// reach an ID token) now record its sid, or "" when the session is gone.
func TestMigrateSessionSID(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	exp := base.Add(time.Hour)
	for _, err := range []error{
		s.CreateClient(ctx, store.Client{ID: "c", CreatedAt: base}),
		s.CreateUser(ctx, store.User{ID: "u", Username: "alice", CreatedAt: base}),
		s.CreateSession(ctx, store.Session{ID: "cookie-hash", UserID: "u", AuthTime: base, CreatedAt: base, ExpiresAt: exp}),
		s.CreateAuthCode(ctx, store.AuthCode{Hash: "code", ClientID: "c", UserID: "u", SessionID: "cookie-hash", GrantID: "g1", ExpiresAt: exp}),
		s.CreateGrant(ctx, store.Grant{ID: "g1", ClientID: "c", UserID: "u", SessionID: "cookie-hash", CreatedAt: base}, nil),
		s.CreateGrant(ctx, store.Grant{ID: "g2", ClientID: "c", UserID: "u", SessionID: "gone-hash", CreatedAt: base}, nil),
	} {
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	// Back to the schema before the migration. SQLite applies only the
	// versions above the highest recorded one, so the migrations after
	// session_sid are undone too.
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE version >= (SELECT version FROM schema_migrations WHERE name LIKE '%\_session\_sid.sql' ESCAPE '\')`,
		`ALTER TABLE sessions DROP COLUMN sid`,
		`ALTER TABLE auth_codes DROP COLUMN failures`,
		`ALTER TABLE clients DROP COLUMN resource_server`,
		`ALTER TABLE clients DROP COLUMN origin`,
		`ALTER TABLE clients DROP COLUMN registration_token_hash`,
		`DROP TABLE initial_access_tokens`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)

	sess, err := s.GetSession(ctx, "cookie-hash", base)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(sess.SID) {
		t.Fatalf("migrated session sid = %q, want 32 random hex digits", sess.SID)
	}
	code, err := s.ConsumeAuthCode(ctx, "code", base)
	if err != nil || code.SessionID != sess.SID {
		t.Errorf("migrated code SessionID = %q, %v; want the sid %q", code.SessionID, err, sess.SID)
	}
	for id, want := range map[string]string{"g1": sess.SID, "g2": ""} {
		if g, err := s.GetGrant(ctx, id); err != nil || g.SessionID != want {
			t.Errorf("migrated grant %s SessionID = %q, %v; want %q", id, g.SessionID, err, want)
		}
	}
}
