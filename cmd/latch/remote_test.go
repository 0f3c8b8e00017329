package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// TestRemoteAdminCommands runs the client, user and keys commands with
// --server against a running Latch and checks each change through the
// database directly: the CLI and the admin API are two roads to the same
// records.
func TestRemoteAdminCommands(t *testing.T) {
	const token = "remote-admin-token-0123456789abcdef"
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer, cfg.DB, cfg.AdminToken = "http://"+ln.Addr().String(), h.db, token
	srv := serveInProcess(t, cfg, ln, "https://app.example/cb")
	server := "http://" + srv.adminAddr
	h.env["LATCH_ADMIN_TOKEN"] = token
	remote := func(stdin string, args ...string) result {
		t.Helper()
		return h.exec(stdin, append(args, "--server", server)...)
	}
	ok := func(stdin string, args ...string) string {
		t.Helper()
		r := remote(stdin, args...)
		if r.code != 0 {
			t.Fatalf("latch %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}

	// Clients.
	r := remote("", "client", "create", "--id", "rweb", "--confidential", "--redirect-uri", "https://r.example/cb", "--scope", "openid,profile", "--refresh-idle", "12h")
	var v clientView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 {
		t.Fatalf("remote client create: %v %+v", err, r)
	}
	if v.ClientSecret == "" || v.RefreshIdle != "12h" || strings.Join(v.Scopes, " ") != "openid profile" || !strings.Contains(r.stderr, "shown only once") {
		t.Errorf("remote client create printed %+v, stderr %q", v, r.stderr)
	}
	local := decodeJSON[clientView](t, h.ok("", "client", "show", "rweb"))
	if local.ClientID != "rweb" || local.ClientType != "confidential" || local.RefreshIdle != "12h" {
		t.Errorf("the database holds %+v", local)
	}
	v = decodeJSON[clientView](t, ok("", "client", "update", "rweb", "--name", "Remote Web", "--rotate-secret"))
	if v.ClientName != "Remote Web" || v.ClientSecret == "" {
		t.Errorf("remote update: %+v", v)
	}
	// Back-channel logout metadata through the admin API, and its removal.
	v = decodeJSON[clientView](t, ok("", "client", "update", "rweb", "--backchannel-logout-uri", "https://r.example/bcl", "--backchannel-logout-session-required"))
	if v.BackchannelLogoutURI != "https://r.example/bcl" || !v.BackchannelLogoutSessionRequired {
		t.Errorf("remote update of the back-channel logout URI: %+v", v)
	}
	wantFailure(t, "remote http back-channel logout URI", remote("", "client", "update", "rweb", "--backchannel-logout-uri", "http://r.example/bcl"), 1, "backchannel_logout_uri")
	v = decodeJSON[clientView](t, ok("", "client", "update", "rweb", "--backchannel-logout-uri", "", "--backchannel-logout-session-required=false"))
	if v.BackchannelLogoutURI != "" || v.BackchannelLogoutSessionRequired {
		t.Errorf("remote removal of the back-channel logout URI: %+v", v)
	}
	if out := ok("", "client", "list"); !strings.Contains(out, "rweb") || !strings.Contains(out, "Remote Web") || !strings.Contains(out, "app") {
		t.Errorf("remote client list:\n%s", out)
	}
	if v := decodeJSON[clientView](t, ok("", "client", "show", "app")); v.ClientType != "public" {
		t.Errorf("remote client show app: %+v", v)
	}
	r = remote("", "client", "create", "--id", "app", "--public", "--redirect-uri", "https://a.example/cb")
	wantFailure(t, "remote duplicate client", r, 1, `client "app" already exists`)
	if out := ok("", "client", "delete", "rweb"); !strings.Contains(out, `deleted client "rweb"`) {
		t.Errorf("remote delete: %q", out)
	}
	wantFailure(t, "local show of a remotely deleted client", h.run("", "client", "show", "rweb"), 1, "not found")
	wantFailure(t, "remote show of an unknown client", remote("", "client", "show", "rweb"), 1, `client "rweb" not found`)

	// Users.
	u := decodeJSON[userView](t, ok("first password\n", "user", "create", "--username", "rbob", "--email", "bob@example.com", "--password-stdin"))
	if u.Username != "rbob" || len(u.ID) != 36 {
		t.Errorf("remote user create: %+v", u)
	}
	if got := decodeJSON[userView](t, h.ok("", "user", "show", "rbob")); got.ID != u.ID {
		t.Errorf("the database holds %+v", got)
	}
	if got := decodeJSON[userView](t, ok("", "user", "show", "rbob")); got.ID != u.ID {
		t.Errorf("remote user show: %+v", got)
	}
	out := ok("second password\n", "user", "set-password", "rbob", "--password-stdin", "--logout")
	if !strings.Contains(out, `password of "rbob" updated`) || !strings.Contains(out, "ended 0 sessions, revoked 0 grants") {
		t.Errorf("remote set-password: %q", out)
	}
	wantFailure(t, "remote short password", remote("short\n", "user", "set-password", "rbob", "--password-stdin"), 1, "shorter than 8")
	if out := ok("", "user", "list"); !strings.Contains(out, "rbob") || !strings.Contains(out, "alice") {
		t.Errorf("remote user list:\n%s", out)
	}
	ok("", "user", "delete", "rbob")
	wantFailure(t, "remote show of a deleted user", remote("", "user", "show", "rbob"), 1, `user "rbob" not found`)

	// Keys: the running server rotates its own keys.
	var keys []map[string]any
	json.Unmarshal([]byte(ok("", "keys", "list", "--json")), &keys)
	if len(keys) == 0 {
		t.Fatal("remote keys list is empty")
	}
	out = ok("", "keys", "rotate", "--alg", "ES256")
	if !strings.HasPrefix(out, "new ES256 key ") || !strings.Contains(out, "activates at") || !strings.Contains(out, "stays published until") {
		t.Errorf("remote keys rotate: %q", out)
	}
	if r := remote("", "keys", "rotate", "--alg", "ES256", "--now"); r.code != 0 || !strings.HasPrefix(r.stdout, "new active ES256 key ") || !strings.Contains(r.stderr, "warning: ") {
		t.Errorf("remote keys rotate --now: %+v", r)
	}
	if out := ok("", "keys", "prune"); out != "pruned 0 keys\n" {
		t.Errorf("remote keys prune: %q", out)
	}

	// LATCH_SERVER instead of the flag.
	h.env[serverEnv] = server
	if r := h.exec("", "client", "list", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"client_id": "app"`) {
		t.Errorf("client list with LATCH_SERVER: %+v", r)
	}
	delete(h.env, serverEnv)

	// Failures: one line, the right exit code, never the token.
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		err  string
	}{
		{"wrong token", map[string]string{"LATCH_ADMIN_TOKEN": "wrong-token-0123456789abcdef0123"}, []string{"client", "list", "--server", server}, 1, "not valid"},
		{"no token", map[string]string{"LATCH_ADMIN_TOKEN": ""}, []string{"client", "list", "--server", server}, 1, "needs the admin token"},
		{"server and db", nil, []string{"client", "list", "--server", server, "--db", h.db}, 2, "not both"},
		{"bad server URL", nil, []string{"client", "list", "--server", "127.0.0.1:9090"}, 2, "base URL"},
		{"token without server", nil, []string{"client", "list", "--admin-token-file", "x", "--db", h.db}, 2, "needs --server"},
		{"nothing listening", nil, []string{"keys", "list", "--server", "http://127.0.0.1:1"}, 1, "admin API"},
	} {
		saved := map[string]string{}
		for k, v := range tc.env {
			saved[k] = h.env[k]
			h.env[k] = v
		}
		r := h.exec("", tc.args...)
		wantFailure(t, tc.name, r, tc.code, tc.err)
		if strings.Contains(r.stderr, token) || strings.Contains(r.stderr, "wrong-token") {
			t.Errorf("%s: stderr shows a token: %q", tc.name, r.stderr)
		}
		for k, v := range saved {
			h.env[k] = v
		}
	}
}
