package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testSecret is a key-encryption secret of the required length.
const testSecret = "0123456789abcdef0123456789abcdef-test"

// fixedNow is the clock of every test run.
var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// result is what one latch invocation did.
type result struct {
	code           int
	stdout, stderr string
}

// harness runs latch commands against one temporary SQLite database.
type harness struct {
	t   *testing.T
	dir string
	db  string
	env map[string]string
	now time.Time
}

// newHarness returns a harness whose database exists (created as `latch
// migrate` would): admin commands refuse to create one.
func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{
		t:   t,
		dir: dir,
		db:  "sqlite:" + filepath.Join(dir, "data", "latch.db"),
		env: map[string]string{
			// Cheap argon2id for tests; the cost is read from the config.
			"LATCH_PASSWORD_MEMORY_KIB": "64",
			"LATCH_PASSWORD_ITERATIONS": "1",
		},
		now: fixedNow,
	}
	s, err := openStore(t.Context(), h.db, 0)
	if err != nil {
		t.Fatalf("creating the test database: %v", err)
	}
	s.Close()
	return h
}

// exec runs latch with args exactly as given.
func (h *harness) exec(stdin string, args ...string) result {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		getenv: func(k string) string { return h.env[k] },
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		now:    func() time.Time { return h.now },
	}
	code := e.run(h.t.Context(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// withoutAudit returns stderr without its audit lines ("msg":"audit"):
// the client, user and keys commands write one per change on their local
// road (internal/manage, actor "cli"), as latch serve does.
func withoutAudit(stderr string) string {
	var keep []string
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if !strings.Contains(l, `"msg":"audit"`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// run runs latch with args and --db pointing at the harness database
// (appended last: flags may follow positional arguments).
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	return h.exec(stdin, append(args, "--db", h.db)...)
}

// ok runs a command that must succeed and returns its stdout.
func (h *harness) ok(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("latch %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// store opens the harness database directly.
func (h *harness) store() store.Store {
	h.t.Helper()
	s, err := openStore(h.t.Context(), h.db, 0)
	if err != nil {
		h.t.Fatalf("openStore: %v", err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

// wantFailure checks that r failed with code and exactly one stderr line
// "latch: ..." containing want.
func wantFailure(t *testing.T, what string, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d (stderr %q)", what, r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "latch: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("%s: stderr = %q, want one line starting with \"latch: \"", what, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("%s: stderr = %q, want it to contain %q", what, r.stderr, want)
	}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestHelpGolden(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args   []string
		golden string
	}{
		{[]string{"help"}, "help.golden"},
		{[]string{"-h"}, "help.golden"},
		{[]string{"--help"}, "help.golden"},
		{[]string{"help", "client", "create"}, "help-client-create.golden"},
		{[]string{"client", "create", "-h"}, "help-client-create.golden"},
		{[]string{"help", "user", "create"}, "help-user-create.golden"},
	} {
		r := h.exec("", tc.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("latch %v: exit %d, stderr %q; want 0 and nothing", tc.args, r.code, r.stderr)
		}
		golden(t, tc.golden, r.stdout)
	}
}

// TestHelpGroup: every way of asking a command group for help ("latch
// keys --help" used to be `unknown command "--help"`, exit 2) prints the
// group's commands to stdout and exits 0; the output is golden.
func TestHelpGroup(t *testing.T) {
	h := newHarness(t)
	gs := groups()
	for _, want := range []string{"client", "user", "keys", "config"} {
		if !slices.Contains(gs, want) {
			t.Errorf("groups() = %v, want it to contain %q", gs, want)
		}
	}
	for _, g := range gs {
		for _, args := range [][]string{{g, "--help"}, {g, "-h"}, {g, "-help"}, {g, "help"}, {"help", g}} {
			r := h.exec("", args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("latch %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), r.code, r.stderr)
			}
			golden(t, "help-"+g+".golden", r.stdout)
		}
		// Every command of the group is listed.
		r := h.exec("", g, "--help")
		for _, sub := range subcommands(g) {
			if !strings.Contains(r.stdout, "\n  "+sub+" ") {
				t.Errorf("latch %s --help does not list %q:\n%s", g, sub, r.stdout)
			}
		}
	}
}

func TestNoArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), nil, nil, nil, &stdout, &stderr)
	if code != 2 {
		t.Errorf("latch: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "Usage:") || !strings.HasSuffix(stderr.String(), "latch: no command given\n") {
		t.Errorf("latch: stderr = %q, want the usage and one error line", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("latch: stdout = %q, want nothing", stdout.String())
	}
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"client"}, "client: missing command (want create, list, show, update, delete or token)"},
		{[]string{"client", "frob"}, `client: unknown command "frob"`},
		{[]string{"keys", "shred"}, `keys: unknown command "shred"`},
		{[]string{"clinet", "list"}, `unknown command "clinet" (did you mean "client"?)`},
		{[]string{"client", "craete"}, `client: unknown command "craete" (did you mean "create"?)`},
		{[]string{"help", "nope"}, `help: unknown command "nope"`},
		{[]string{"client", "create", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"client", "create", "--refresh-idle", "soon"}, "invalid value"},
		{[]string{"client", "show"}, "client show: missing client ID"},
		{[]string{"client", "show", "a", "b"}, `unexpected argument "b"`},
		{[]string{"client", "update", "spa"}, "nothing to change"},
		{[]string{"client", "update", "spa", "--public", "--confidential"}, "at most one of --public and --confidential"},
		{[]string{"user", "create", "--username", "alice"}, "--password-stdin is required"},
		{[]string{"user", "set-password", "alice"}, "--password-stdin is required"},
		{[]string{"keys", "rotate", "--alg", "HS256"}, `unknown --alg "HS256"`},
		{[]string{"config", "check"}, "config check: missing FILE"},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
	} {
		r := h.exec("", tc.args...)
		wantFailure(t, "latch "+strings.Join(tc.args, " "), r, 2, tc.want)
		if r.stdout != "" {
			t.Errorf("latch %v: stdout = %q, want nothing", tc.args, r.stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"version"}, nil, nil, &stdout, &stderr)
	if code != 0 || !strings.HasPrefix(stdout.String(), "latch ") || !strings.Contains(stdout.String(), "go1.") {
		t.Errorf("latch version: exit %d, stdout %q, stderr %q; want 0 and \"latch <version> ... go1.x\"", code, stdout.String(), stderr.String())
	}
}

func TestInterspersedFlags(t *testing.T) {
	h := newHarness(t)
	h.ok("", "client", "create", "--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	// Positional argument before and after the flags, and after "--".
	for _, args := range [][]string{
		{"client", "show", "--db", h.db, "spa"},
		{"client", "show", "spa", "--db", h.db},
		{"client", "show", "--db", h.db, "--", "spa"},
	} {
		r := h.exec("", args...)
		if r.code != 0 || !strings.Contains(r.stdout, `"client_id": "spa"`) {
			t.Errorf("latch %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	// After "--", a flag-looking argument is positional.
	r := h.exec("", "client", "show", "--db", h.db, "--", "-x")
	wantFailure(t, "client show -- -x", r, 1, `client "-x" not found`)
}

func TestDatabaseFromEnvironmentAndConfigFile(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_DB"] = h.db
	r := h.exec("", "client", "create", "--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	if r.code != 0 {
		t.Fatalf("client create with LATCH_DB: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "data", "latch.db")); err != nil {
		t.Errorf("LATCH_DB was not used: %v", err)
	}
	// Precedence: --db > LATCH_DB > the config file's db > the default.
	other := "sqlite:" + filepath.Join(h.dir, "other", "latch.db")
	cfgFile := filepath.Join(h.dir, "latch.yaml")
	if err := os.WriteFile(cfgFile, []byte("db: "+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(h.env, "LATCH_DB")
	r = h.exec("", "client", "show", "spa", "--config", cfgFile)
	wantFailure(t, "client show with --config naming a missing database", r, 1, "no database at "+filepath.Join(h.dir, "other", "latch.db"))
	if r := h.exec("", "migrate", "--config", cfgFile); r.code != 0 {
		t.Fatalf("migrate --config: exit %d, stderr %q", r.code, r.stderr)
	}
	r = h.exec("", "client", "show", "spa", "--config", cfgFile)
	wantFailure(t, "client show with --config naming an empty database", r, 1, `client "spa" not found`)
	h.env["LATCH_DB"] = h.db
	if r := h.exec("", "client", "show", "spa", "--config", cfgFile); r.code != 0 {
		t.Errorf("LATCH_DB should win over the config file: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := h.exec("", "client", "show", "spa", "--config", cfgFile, "--db", other); r.code != 1 {
		t.Errorf("--db should win over LATCH_DB: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestAdminCommandsRefuseMissingDatabase: an admin command run outside
// the directory of `latch dev` used to create an empty database there and
// list nothing. It now refuses, says where it looked and where the setting
// came from, and creates nothing; `latch migrate` creates.
func TestAdminCommandsRefuseMissingDatabase(t *testing.T) {
	h := newHarness(t)
	missing := filepath.Join(h.dir, "elsewhere", "latch.db")
	dsn := "sqlite:" + missing
	for _, tc := range []struct {
		args   []string
		source string
		env    map[string]string
	}{
		{[]string{"client", "list", "--db", dsn}, "from --db", nil},
		{[]string{"client", "create", "--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1/cb", "--db", dsn}, "from --db", nil},
		{[]string{"user", "list"}, "from LATCH_DB", map[string]string{"LATCH_DB": dsn}},
		{[]string{"user", "create", "--username", "alice", "--password-stdin", "--db", dsn}, "from --db", nil},
		{[]string{"keys", "list", "--db", dsn}, "from --db", map[string]string{"LATCH_KEY_ENCRYPTION_SECRET": testSecret}},
		{[]string{"keys", "rotate", "--db", dsn}, "from --db", map[string]string{"LATCH_KEY_ENCRYPTION_SECRET": testSecret}},
	} {
		for k, v := range tc.env {
			h.env[k] = v
		}
		r := h.exec("correct horse battery staple\n", tc.args...)
		for k := range tc.env {
			delete(h.env, k)
		}
		what := "latch " + strings.Join(tc.args, " ")
		wantFailure(t, what, r, 1, "no database at "+missing+" (db "+dsn+", "+tc.source+")")
		wantFailure(t, what, r, 1, "latch migrate --db "+dsn)
		if _, err := os.Stat(filepath.Dir(missing)); err == nil {
			t.Fatalf("%s created %s", what, filepath.Dir(missing))
		}
	}

	// The default database is relative to the working directory.
	t.Chdir(h.dir)
	r := h.exec("", "client", "list")
	wantFailure(t, "latch client list (default db)", r, 1, "no database at "+filepath.Join(h.dir, ".latch", "latch.db")+" (db sqlite:.latch/latch.db, from the default)")

	// latch migrate creates it; then the commands work.
	if r := h.exec("", "migrate", "--db", dsn); r.code != 0 {
		t.Fatalf("migrate --db: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := h.exec("", "client", "list", "--db", dsn); r.code != 0 {
		t.Errorf("client list after migrate: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestMigrate(t *testing.T) {
	h := newHarness(t)
	for range 2 { // idempotent
		if out := h.ok("", "migrate"); out != "migrations applied\n" {
			t.Errorf("migrate: stdout = %q, want \"migrations applied\\n\"", out)
		}
	}
}
