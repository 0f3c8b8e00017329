package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/store/sqlite"
)

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// backends runs fn on a fresh SQLite and a fresh PostgreSQL store.
func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// lockedBuffer is an io.Writer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newService returns a Service over st whose audit events are JSON lines
// in the returned buffer.
func newService(t *testing.T, st store.Store) (*Service, *lockedBuffer) {
	t.Helper()
	var buf lockedBuffer
	svc, err := New(Options{
		Store: st,
		HashPassword: func(pw string) (string, error) {
			return password.Hash(pw, password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
		},
		Audit: slog.New(slog.NewJSONHandler(&buf, nil)),
		Actor: ActorCLI,
		Now:   func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, &buf
}

// events returns the audit events in log, checking each names the actor.
func events(t *testing.T, log string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if ev["msg"] != "audit" || ev["actor"] != ActorCLI {
			t.Errorf("audit line %s: want msg audit, actor %s", line, ActorCLI)
		}
		evs = append(evs, ev)
	}
	return evs
}

func countEvents(t *testing.T, log, event string) int {
	n := 0
	for _, ev := range events(t, log) {
		if ev["event"] == event {
			n++
		}
	}
	return n
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// TestCreateClientBurst: N administrators register one client ID at once
// (CLI and API together): exactly one wins, every other gets Conflict, and
// exactly one creation is audited.
func TestCreateClientBurst(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		svc, audit := newService(t, st)
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = svc.CreateClient(t.Context(), store.Client{ID: "web", GrantTypes: []string{"client_credentials"}})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case kindOf(err) != Conflict:
				t.Errorf("CreateClient = %v, want nil or a Conflict", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent creations of one client succeeded, want 1", won, n)
		}
		if got := countEvents(t, audit.String(), "admin_client_created"); got != 1 {
			t.Errorf("%d admin_client_created events, want 1", got)
		}
	})
}

// TestCreateUserLookAlikeBurst: look-alike spellings of one username
// (RFC 8265 §3.3) created at once: one account, the rest Conflict.
func TestCreateUserLookAlikeBurst(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		svc, audit := newService(t, st)
		names := []string{"Bob", "bob", "BOB", "\uff22ob", "bOb"}
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = svc.CreateUser(t.Context(), store.User{Username: names[i%len(names)]}, "correct horse battery staple")
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case kindOf(err) != Conflict || !strings.Contains(err.Error(), `user "bob" already exists`):
				t.Errorf("CreateUser = %v, want nil or a Conflict naming bob", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent creations of look-alike users succeeded, want 1", won, n)
		}
		if got := countEvents(t, audit.String(), "admin_user_created"); got != 1 {
			t.Errorf("%d admin_user_created events, want 1", got)
		}
	})
}

// TestOperations: each change is audited once with the records it
// touched, never a secret, hash or password; mistakes come back as the
// right Kind with nothing written and nothing audited.
func TestOperations(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		svc, audit := newService(t, st)
		var secrets []string

		created, err := svc.CreateClient(ctx, store.Client{ID: "web", GrantTypes: registration.DefaultGrantTypes(), RedirectURIs: []string{"https://web.example/cb"}})
		if err != nil || created.View.ClientSecret == "" || created.View.CreatedAt != testNow {
			t.Fatalf("CreateClient = %+v, %v; want a secret, created at the service's clock", created, err)
		}
		secrets = append(secrets, created.View.ClientSecret)
		rotated, err := svc.UpdateClient(ctx, "web", ClientUpdate{RotateSecret: true, Apply: func(c *store.Client) error { c.Name = "Web"; return nil }})
		if err != nil || rotated.View.ClientSecret == "" || rotated.View.ClientSecret == created.View.ClientSecret || rotated.View.ClientName != "Web" {
			t.Fatalf("UpdateClient rotate = %+v, %v", rotated, err)
		}
		secrets = append(secrets, rotated.View.ClientSecret)
		c, _ := st.GetClient(ctx, "web")
		secrets = append(secrets, c.SecretHash)

		spa, err := svc.CreateClient(ctx, store.Client{ID: "spa", Public: true, GrantTypes: registration.DefaultGrantTypes(), RedirectURIs: []string{"https://app.example/cb"}})
		if err != nil || spa.View.ClientSecret != "" || len(spa.Warnings) != 1 || !strings.Contains(spa.Warnings[0], "--allowed-origin https://app.example") {
			t.Fatalf("CreateClient spa = %+v, %v; want no secret and the allowed-origin warning", spa, err)
		}
		if _, err := svc.UpdateClient(ctx, "spa", ClientUpdate{RotateSecret: true}); kindOf(err) != Invalid {
			t.Errorf("rotating a public client's secret = %v, want Invalid", err)
		}

		const pw, pw2 = "correct horse battery staple", "another long password"
		secrets = append(secrets, pw, pw2)
		u, err := svc.CreateUser(ctx, store.User{Username: "Alice", Email: "alice@example.com"}, pw)
		if err != nil || u.Username != "alice" {
			t.Fatalf("CreateUser = %+v, %v; want the canonical username", u, err)
		}
		if _, err := svc.SetPassword(ctx, u.ID, pw2, true); err != nil {
			t.Fatal(err)
		}
		stored, _ := st.GetUser(ctx, u.ID)
		secrets = append(secrets, stored.PasswordHash)
		if _, err := svc.CreateUser(ctx, store.User{Username: "carol"}, "short"); kindOf(err) != Invalid {
			t.Errorf("CreateUser with a short password = %v, want Invalid", err)
		}
		if _, err := svc.CreateUser(ctx, store.User{Username: "carol", EmailVerified: true}, pw); kindOf(err) != Invalid {
			t.Errorf("CreateUser email_verified without email = %v, want Invalid", err)
		}
		if _, err := svc.SetPassword(ctx, "nobody", pw, false); kindOf(err) != NotFound {
			t.Errorf("SetPassword(nobody) = %v, want NotFound", err)
		}
		if _, err := svc.FindUser(ctx, "ALICE"); err != nil {
			t.Errorf("FindUser(ALICE) = %v", err)
		}
		if err := svc.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteClient(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteClient(ctx, "web"); kindOf(err) != NotFound {
			t.Errorf("DeleteClient twice = %v, want NotFound", err)
		}
		if _, err := svc.ListKeys(ctx); err == nil || kindOf(err) != 0 {
			t.Errorf("ListKeys without Keys = %v, want an internal error", err)
		}

		log := audit.String()
		var got []string
		for _, ev := range events(t, log) {
			got = append(got, fmt.Sprint(ev["event"]))
		}
		want := []string{"admin_client_created", "admin_client_updated", "admin_client_created", "admin_user_created",
			"admin_password_set", "admin_user_logged_out", "admin_user_deleted", "admin_client_deleted"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("audit events:\n got %v\nwant %v", got, want)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("the audit log holds a secret, hash or password (%d bytes)", len(s))
			}
		}
	})
}
