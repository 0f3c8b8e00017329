package main

import (
	"encoding/json"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/store"
)

// TestAdminRoadsAgree runs every administrative operation by both roads
// — the command line against the database (localRecords) and the command
// line against the admin API of a running Latch (--server) — and compares
// what each printed and the audit events each wrote: one service
// (internal/manage) behind both, so the only difference allowed is the
// events' actor ("cli", "admin-api"). Before the service, the local road
// wrote no audit event at all.
func TestAdminRoadsAgree(t *testing.T) {
	const token = "roads-admin-token-0123456789abcdef"

	// The local road: its own database; its audit events are on the
	// command's stderr.
	local := newHarness(t)
	local.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret

	// The remote road: a running Latch over another database; its audit
	// events are on the server's log.
	remote := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer, cfg.DB, cfg.AdminToken = "http://"+ln.Addr().String(), remote.db, token
	srv := serveInProcess(t, cfg, ln, "https://app.example/cb")
	remote.env["LATCH_ADMIN_TOKEN"] = token
	server := "http://" + srv.adminAddr

	// The records serveInProcess seeds, locally too. The server made an
	// active ES256 key at start; so does the local road here, so both
	// rotations below retire one.
	if err := local.store().CreateClient(t.Context(), store.Client{ID: "app", Public: true, FirstParty: true,
		RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}, CreatedAt: fixedNow}); err != nil {
		t.Fatal(err)
	}
	local.ok("", "keys", "rotate", "--alg", "ES256")
	seen := len(srv.stderr.String())

	type outcome struct {
		code           int
		stdout, stderr string
		events         []map[string]any
	}
	runLocal := func(stdin string, args []string) outcome {
		r := local.run(stdin, args...)
		return outcome{r.code, r.stdout, withoutAudit(r.stderr), auditEvents(t, r.stderr, manage.ActorCLI)}
	}
	runRemote := func(stdin string, args []string) outcome {
		r := remote.exec(stdin, append(args, "--server", server)...)
		log := srv.stderr.String()
		events := auditEvents(t, log[seen:], manage.ActorAdminAPI)
		seen = len(log)
		return outcome{r.code, r.stdout, r.stderr, events}
	}

	const pw, pw2 = "correct horse battery staple", "another long password"
	steps := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"client", "create", "--id", "spa", "--public", "--redirect-uri", "https://app.example.com/cb"}},
		{"", []string{"client", "create", "--id", "web", "--confidential", "--redirect-uri", "https://web.example.com/cb", "--scope", "openid,profile", "--refresh-idle", "12h"}},
		{"", []string{"client", "create", "--id", "web", "--public", "--redirect-uri", "https://web.example.com/cb"}}, // exists
		{"", []string{"client", "update", "web", "--name", "Web", "--rotate-secret"}},
		{"", []string{"client", "update", "spa", "--allowed-origin", "https://app.example.com"}},
		{"", []string{"client", "update", "spa", "--confidential"}},
		{"", []string{"client", "update", "spa", "--public"}},
		{"", []string{"client", "update", "spa", "--rotate-secret"}}, // public: no secret
		{"", []string{"client", "update", "nosuch", "--name", "x"}},
		{"", []string{"client", "show", "web"}},
		{"", []string{"client", "list", "--json"}},
		{"", []string{"client", "delete", "spa"}},
		{"", []string{"client", "delete", "spa"}}, // gone
		{pw + "\n", []string{"user", "create", "--username", "Bob", "--email", "bob@example.com", "--name", "Bob", "--password-stdin"}},
		{pw + "\n", []string{"user", "create", "--username", "bob", "--password-stdin"}}, // exists
		{pw2 + "\n", []string{"user", "set-password", "bob", "--password-stdin"}},
		{pw2 + "\n", []string{"user", "set-password", "bob", "--password-stdin", "--logout"}},
		{pw2 + "\n", []string{"user", "set-password", "nobody", "--password-stdin"}},
		{"", []string{"user", "show", "bob"}},
		{"", []string{"user", "delete", "bob"}},
		{"", []string{"user", "delete", "bob"}}, // gone
		{"", []string{"keys", "rotate", "--alg", "ES256"}},
		{"", []string{"keys", "prune"}},
		{"s3cret-at-upstream\n", []string{"idp", "add", "corp", "--issuer", "https://login.corp.example", "--client-id", "latch", "--client-secret-stdin", "--link", "verified-email", "--display-name", "Corp"}},
		{"", []string{"idp", "add", "corp", "--issuer", "https://login.corp.example", "--client-id", "latch", "--link", "jit"}}, // exists
		{"", []string{"idp", "add", "plain", "--issuer", "http://login.corp.example", "--client-id", "latch", "--link", "jit"}}, // http
		{"", []string{"idp", "update", "corp", "--no-client-secret", "--scope", "email", "--link", "explicit"}},
		{"", []string{"idp", "update", "nosuch", "--link", "jit"}},
		{"", []string{"idp", "list", "--json"}},
		{"", []string{"idp", "delete", "corp"}},
		{"", []string{"idp", "delete", "corp"}}, // gone
	}
	for _, st := range steps {
		name := strings.Join(st.args, " ")
		l, r := runLocal(st.stdin, st.args), runRemote(st.stdin, st.args)
		if l.code != r.code {
			t.Errorf("%s: exit %d locally, %d through the admin API (stderr %q, %q)", name, l.code, r.code, l.stderr, r.stderr)
		}
		if lo, ro := normalizeOutput(l.stdout), normalizeOutput(r.stdout); lo != ro {
			t.Errorf("%s: stdout differs\nlocal:  %s\nremote: %s", name, lo, ro)
		}
		if le, re := normalizeOutput(l.stderr), normalizeOutput(r.stderr); le != re {
			t.Errorf("%s: stderr differs\nlocal:  %q\nremote: %q", name, le, re)
		}
		lj, _ := json.Marshal(l.events)
		rj, _ := json.Marshal(r.events)
		if string(lj) != string(rj) {
			t.Errorf("%s: audit events differ\nlocal:  %s\nremote: %s", name, lj, rj)
		}
		if l.code == 0 && !slices.Contains([]string{"show", "list", "prune"}, st.args[1]) && len(l.events) == 0 {
			t.Errorf("%s: a change without an audit event", name)
		}
	}
}

// auditEvents returns the audit events in log lines, each without the
// attributes that differ between runs (time, and the values of IDs made
// at random), after checking each names actor.
func auditEvents(t *testing.T, log, actor string) []map[string]any {
	t.Helper()
	events := []map[string]any{}
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `"msg":"audit"`) {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if ev["actor"] != actor || ev["log"] != "audit" {
			t.Errorf("audit event %s: want actor %q and log audit", line, actor)
		}
		maps.DeleteFunc(ev, func(k string, _ any) bool {
			return k == "time" || k == "actor" || k == "request_id"
		})
		for _, k := range []string{"sub", "kid", "retired", "activate_at"} {
			if v, ok := ev[k].(string); ok && v != "" {
				ev[k] = "<" + k + ">"
			}
		}
		events = append(events, ev)
	}
	return events
}

// volatile matches what two runs make differently: secrets, user IDs,
// kids, creation times, a key's activation and publication times (each
// road has its own clock), and the admin API's status suffix on errors.
var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`"client_secret": "[^"]*"`), `"client_secret": "<secret>"`},
	{regexp.MustCompile(`"(created_at|updated_at|id)": "[^"]*"`), `"$1": "<$1>"`},
	{regexp.MustCompile(`key [A-Za-z0-9_-]{20,}`), `key <kid>`},
	{regexp.MustCompile(`[A-Za-z0-9_-]{20,} stops signing then`), `<kid> stops signing then`},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), `<time>`},
	{regexp.MustCompile(` \(admin API: [^)]*\)`), ``},
}

func normalizeOutput(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.repl)
	}
	return s
}
