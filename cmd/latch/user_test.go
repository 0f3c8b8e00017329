package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUserLifecycle(t *testing.T) {
	h := newHarness(t)
	const pw = "correct horse battery staple"
	r := h.run(pw+"\n", "user", "create", "--username", "alice", "--email", "alice@example.com", "--email-verified", "--name", "Alice", "--password-stdin")
	if r.code != 0 || withoutAudit(r.stderr) != "" {
		t.Fatalf("user create: exit %d, stderr %q", r.code, r.stderr)
	}
	v := decodeJSON[userView](t, r.stdout)
	if !uuidV4.MatchString(v.ID) || v.Username != "alice" || v.Email != "alice@example.com" || !v.EmailVerified || v.Name != "Alice" || !v.CreatedAt.Equal(fixedNow) {
		t.Errorf("user create printed %+v", v)
	}
	if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, pw) {
		t.Errorf("user create printed the password or its hash:\n%s", r.stdout)
	}
	s := h.store()
	u, err := s.GetUserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify(pw, u.PasswordHash); !ok || err != nil {
		t.Errorf("password.Verify(stored hash) = %v, %v; want true", ok, err)
	}
	// The configured (test) cost is used.
	if !strings.Contains(u.PasswordHash, "m=64,t=1,") {
		t.Errorf("hash %q does not use the configured cost m=64,t=1", u.PasswordHash)
	}

	// Duplicate username.
	r = h.run(pw+"\n", "user", "create", "--username", "alice", "--password-stdin")
	wantFailure(t, "duplicate user", r, 1, `latch: user "alice" already exists`)

	// show and list never print the hash.
	for _, args := range [][]string{{"user", "show", "alice"}, {"user", "list"}, {"user", "list", "--json"}} {
		out := h.ok("", args...)
		if !strings.Contains(out, v.ID) || strings.Contains(out, "argon2") {
			t.Errorf("latch %v =\n%s\nwant the user's ID and no password hash", args, out)
		}
	}

	// set-password: the new password verifies, the old one no longer.
	const pw2 = "another long passphrase"
	if out := h.ok(pw2+"\r\n", "user", "set-password", "alice", "--password-stdin"); out != "password of \"alice\" updated\n" {
		t.Errorf("set-password: stdout %q", out)
	}
	u, err = s.GetUserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify(pw2, u.PasswordHash); !ok || err != nil {
		t.Errorf("after set-password, Verify(new) = %v, %v; want true", ok, err)
	}
	if ok, _ := password.Verify(pw, u.PasswordHash); ok {
		t.Error("after set-password, the old password still verifies")
	}
	wantFailure(t, "set-password of an unknown user", h.run(pw+"\n", "user", "set-password", "bob", "--password-stdin"), 1, `user "bob" not found`)

	// delete
	if out := h.ok("", "user", "delete", "alice"); out != "deleted user \"alice\"\n" {
		t.Errorf("user delete: stdout %q", out)
	}
	wantFailure(t, "show a deleted user", h.run("", "user", "show", "alice"), 1, `user "alice" not found`)
	wantFailure(t, "delete twice", h.run("", "user", "delete", "alice"), 1, `user "alice" not found`)
}

func TestUserSetPasswordLogout(t *testing.T) {
	h := newHarness(t)
	v := decodeJSON[userView](t, h.ok("first password\n", "user", "create", "--username", "bob", "--password-stdin"))
	s := h.store()
	ctx := t.Context()
	if err := s.CreateSession(ctx, store.Session{ID: "sess-hash", UserID: v.ID, AuthTime: fixedNow, CreatedAt: fixedNow, ExpiresAt: fixedNow.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out := h.ok("second password\n", "user", "set-password", "bob", "--password-stdin", "--logout")
	if !strings.Contains(out, "ended 1 sessions") {
		t.Errorf("set-password --logout: stdout %q, want it to report 1 session ended", out)
	}
	if _, err := s.GetSession(ctx, "sess-hash", fixedNow); err == nil {
		t.Error("set-password --logout left the session in place")
	}
}

func TestUserCreateInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		err   string
	}{
		{"no password on stdin", "", []string{"--username", "u"}, 1, "no password on standard input"},
		{"empty password", "\n", []string{"--username", "u"}, 1, "the password is empty"},
		{"short password", "Zq9!x\n", []string{"--username", "u"}, 1, "shorter than 8 characters"},
		{"long password", strings.Repeat("x", 2000) + "\n", []string{"--username", "u"}, 1, "longer than 1024 bytes"},
		{"invalid UTF-8 password", "abc\xff\xfedefgh\n", []string{"--username", "u"}, 1, "not valid UTF-8"},
		{"missing username", "long enough\n", nil, 2, "--username is required"},
		{"username with blanks", "long enough\n", []string{"--username", " u"}, 1, "must not start or end with blanks"},
		{"username with a newline", "long enough\n", []string{"--username", "u\nv"}, 1, "control characters"},
		{"bad email", "long enough\n", []string{"--username", "u", "--email", "Alice <a@example.com>"}, 1, "not a valid address"},
		{"verified without email", "long enough\n", []string{"--username", "u", "--email-verified"}, 1, "--email-verified needs --email"},
		{"username with a space", "long enough\n", []string{"--username", "u v"}, 1, "without spaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			args := append([]string{"user", "create", "--password-stdin"}, tc.args...)
			r := h.run(tc.stdin, args...)
			wantFailure(t, tc.name, r, tc.code, tc.err)
			if pw := strings.TrimSpace(tc.stdin); len(pw) >= 4 && strings.Contains(r.stderr, pw) {
				t.Errorf("the error echoes the password: %q", r.stderr)
			}
		})
	}
}

func TestUserCreateRefusesWeakConfiguredCost(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_PASSWORD_ITERATIONS"] = "0"
	r := h.run("long enough\n", "user", "create", "--username", "u", "--password-stdin")
	wantFailure(t, "password-iterations 0", r, 1, "password-iterations")
}

func TestReadPassword(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means an error
	}{
		{"hunter22hunter\n", "hunter22hunter"},
		{"hunter22hunter\r\n", "hunter22hunter"},
		{"hunter22hunter", "hunter22hunter"},
		{" spaces kept \nsecond line", " spaces kept "},
		{"\n", ""},
		{"", ""},
		{"seven77\n", ""},
		{"ünïcödé!\n", "ünïcödé!"},
	} {
		got, err := readPassword(strings.NewReader(tc.in))
		if tc.want == "" {
			if err == nil {
				t.Errorf("readPassword(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNewUserID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := registration.NewUserID()
		if !uuidV4.MatchString(id) || seen[id] {
			t.Fatalf("registration.NewUserID() = %q: not a fresh version 4 UUID", id)
		}
		seen[id] = true
	}
}

// TestUserCreateLookalike: a username whose canonical form (RFC 8265
// §3.3) is taken is refused; a new one is stored canonical.
func TestUserCreateLookalike(t *testing.T) {
	h := newHarness(t)
	const pw = "correct horse battery staple"
	r := h.run(pw+"\n", "user", "create", "--username", "Alice", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("user create Alice: exit %d, stderr %q", r.code, r.stderr)
	}
	if v := decodeJSON[userView](t, r.stdout); v.Username != "alice" {
		t.Errorf("stored username %q, want alice", v.Username)
	}
	for _, name := range []string{"alice", "ALICE", "\uff41lice"} {
		r := h.run(pw+"\n", "user", "create", "--username", name, "--password-stdin")
		wantFailure(t, name, r, 1, "already exists")
	}
}
