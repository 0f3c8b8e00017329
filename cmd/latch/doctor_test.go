package main

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/doctor"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// badDeployment registers, through the CLI, a fixture of clients that
// each break some rules, under a configuration (LATCH_* variables) that
// breaks others, with an RS256 key created at fixedNow; the clock is
// then moved 120 days on, so the key is overdue. One client gets, in the
// store, a grace window registration no longer accepts (a record from
// before registration.MaxRefreshGrace).
func badDeployment(t *testing.T, db string) *harness {
	h := newHarness(t)
	if db != "" {
		h.db = db
	}
	for k, v := range map[string]string{
		"LATCH_ISSUER":                  "http://id.example.com:8080", // issuer-not-https
		"LATCH_KEY_ENCRYPTION_SECRET":   testSecret,
		"LATCH_ADMIN_ADDR":              ":9090",     // admin-listener-open
		"LATCH_CODE_TTL":                "5m",        // config-invalid
		"LATCH_PUBLIC_REFRESH_ABSOLUTE": "1440h",     // refresh-lifetime-long
		"LATCH_CIMD_POLICY":             "allow-all", // cimd-allow-all
		"LATCH_REGISTRATION":            "open",      // registration-open
	} {
		h.env[k] = v
	}
	for _, args := range [][]string{
		// A SPA registered the minimal way: no origin, no DPoP, refresh
		// tokens that outlive logout.
		{"--id", "spa-minimal", "--public", "--redirect-uri", "https://app.example.com/callback"},
		// A native app whose grace window, within the bound, swallows its
		// short idle timeout.
		{"--id", "native-grace", "--public", "--redirect-uri", "http://127.0.0.1/callback", "--refresh-grace", "30s", "--refresh-idle", "30s"},
		// A web app that is also a machine client, keeps a development
		// redirect and a long refresh lifetime (and, below, a legacy
		// grace window).
		{"--id", "web-mixed", "--confidential", "--redirect-uri", "https://web.example.com/cb,http://localhost:8000/cb",
			"--grant-type", "authorization_code,refresh_token,client_credentials", "--refresh-absolute", "9600h",
			"--backchannel-logout-uri", "http://localhost:8000/bcl"},
		// A client whose users must sign in with a passkey, which this
		// version does not offer.
		{"--id", "passkey-only", "--confidential", "--redirect-uri", "https://keys.example.com/cb", "--authentication-policy", "passkey"},
		// A careful SPA but for a 10-day idle timeout; it requires DPoP
		// while dpop-nonce is off.
		{"--id", "spa-dpop", "--public", "--redirect-uri", "https://dpop.example.com/cb", "--allowed-origin", "https://dpop.example.com",
			"--require-dpop", "--revoke-refresh-on-logout", "--refresh-idle", "240h"},
		// Clean.
		{"--id", "service", "--confidential", "--grant-type", "client_credentials"},
	} {
		h.ok("", append([]string{"client", "create"}, args...)...)
	}
	setLegacyGrace(t, h, "web-mixed", 5*time.Minute)
	h.ok("", "keys", "rotate", "--alg", "RS256")
	h.now = fixedNow.Add(120 * 24 * time.Hour)
	return h
}

// setLegacyGrace stores grace as the refresh grace window of client id,
// bypassing registration, which refuses a window above
// registration.MaxRefreshGrace: the record of a client registered before
// that bound existed.
func setLegacyGrace(t *testing.T, h *harness, id string, grace time.Duration) {
	t.Helper()
	if grace <= registration.MaxRefreshGrace {
		t.Fatalf("setLegacyGrace(%s): %s is within the bound; use latch client update", id, grace)
	}
	st := h.store()
	c, err := st.GetClient(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c.RefreshGrace = grace
	if err := st.UpdateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// TestDoctorGolden runs latch doctor over the bad fixture, in SQLite and
// in PostgreSQL: the same text and JSON goldens, exit 1 with one line on
// stderr.
func TestDoctorGolden(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDoctorGolden(t, "") })
	t.Run("postgres", func(t *testing.T) { testDoctorGolden(t, pgtest.NewTestDB(t)) })
}

func testDoctorGolden(t *testing.T, db string) {
	h := badDeployment(t, db)
	// Key IDs are random: the goldens say KID.
	keys := decodeJSON[[]struct{ KID string }](t, h.ok("", "keys", "list", "--json"))
	if len(keys) != 1 {
		t.Fatalf("keys list: %+v", keys)
	}
	stable := func(s string) string { return strings.ReplaceAll(s, keys[0].KID, "KID") }

	r := h.run("", "doctor")
	wantFailure(t, "doctor", r, 1, "latch: doctor: 5 errors")
	golden(t, "doctor.golden", stable(r.stdout))

	r = h.run("", "doctor", "--json")
	wantFailure(t, "doctor --json", r, 1, "latch: doctor: 5 errors")
	golden(t, "doctor.json.golden", stable(r.stdout))
	rep := decodeJSON[struct {
		Findings []struct{ Rule, Severity, Subject string }
		Errors   int
	}](t, r.stdout)
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.Rule] = true
	}
	// Every rule the fixture is built to break, whatever the golden says.
	for _, rule := range []string{
		"issuer-not-https", "admin-listener-open", "config-invalid", "refresh-rotation-defeated",
		"spa-no-allowed-origin", "public-client-no-dpop", "spa-refresh-outlives-logout", "refresh-lifetime-long",
		"refresh-grace-long", "client-credentials-mixed", "confidential-loopback-redirect", "key-rotation-overdue",
		"rs256-default", "dpop-nonce-off",
	} {
		if !got[rule] {
			t.Errorf("no %s finding in %s", rule, r.stdout)
		}
	}
	for _, f := range rep.Findings {
		if f.Subject == "client service" {
			t.Errorf("the clean client has a finding: %+v", f)
		}
	}

	// A longer --key-max-age silences the key finding.
	r = h.run("", "doctor", "--json", "--key-max-age", "121d")
	if strings.Contains(r.stdout, "key-rotation-overdue") {
		t.Errorf("--key-max-age 121d still reports the 120-day-old key")
	}
	wantFailure(t, "bad --key-max-age", h.run("", "doctor", "--key-max-age", "soon"), 2, "want a number of days such as 90d")

	// The fix for a legacy grace window goes through registration and
	// silences the finding.
	h.ok("", "client", "update", "web-mixed", "--refresh-grace", "10s")
	if r = h.run("", "doctor", "--json"); strings.Contains(r.stdout, "refresh-grace-long") {
		t.Errorf("after latch client update web-mixed --refresh-grace 10s, still a refresh-grace-long finding:\n%s", r.stdout)
	}
}

// TestDoctorHelp: `latch help doctor` and `latch doctor -h` print the
// same help (golden), exit 0.
func TestDoctorHelp(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{"help", "doctor"}, {"doctor", "-h"}, {"doctor", "--help"}} {
		r := h.exec("", args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("latch %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		golden(t, "help-doctor.golden", r.stdout)
	}
}

// TestDoctorCleanDeployment: the demo clients of latch dev, registered for
// https origins, under a production-like configuration, have no
// error-severity finding, and doctor exits 0.
func TestDoctorCleanDeployment(t *testing.T) {
	h := newHarness(t)
	for k, v := range map[string]string{
		"LATCH_ISSUER":                "https://id.example.com",
		"LATCH_KEY_ENCRYPTION_SECRET": testSecret,
		"LATCH_SIGNING_ALG":           "ES256",
	} {
		h.env[k] = v
	}
	cfg := config.Default()
	cfg.Issuer, cfg.KeyEncryptionSecret = h.env["LATCH_ISSUER"], testSecret
	demo, err := demoClients(cfg, demoURLs{spa: "https://app.example.com", api: "https://api.example.com", bff: "https://web.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	st := h.store()
	for _, d := range demo {
		c := d.client
		c.CreatedAt = fixedNow
		if err := st.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		h.ok("", "keys", "rotate", "--alg", alg)
	}
	r := h.run("", "doctor", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("doctor on the demo deployment: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	rep := decodeJSON[struct {
		Findings []doctor.Finding
		Errors   int
		Clients  int `json:"clients_checked"`
	}](t, r.stdout)
	if rep.Errors != 0 || rep.Clients != len(demo) {
		t.Errorf("errors %d, clients checked %d (want 0, %d)", rep.Errors, rep.Clients, len(demo))
	}
	// What the demo SPA leaves to the developer (README: SPA) — and
	// nothing else.
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Rule+" "+f.Subject)
	}
	want := []string{
		"public-client-no-dpop client demo-native",
		"public-client-no-dpop client demo-spa",
		"spa-refresh-outlives-logout client demo-spa",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings on the demo deployment:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := h.ok("", "doctor"); !strings.HasSuffix(out, fmt.Sprintf("0 errors, 3 warnings, 0 infos (%d rules; 4 clients, 3 keys checked)\n", len(doctor.Rules()))) {
		t.Errorf("doctor text summary:\n%s", out)
	}
}

// TestDoctorRemote: with --server, the clients and keys come from the
// admin API of a running Latch; the findings are those of the database
// road.
func TestDoctorRemote(t *testing.T) {
	const token = "remote-admin-token-0123456789abcdef"
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer, cfg.DB, cfg.AdminToken = "http://"+ln.Addr().String(), h.db, token
	srv := serveInProcess(t, cfg, ln, "https://app.example/cb")
	h.env["LATCH_ADMIN_TOKEN"] = token
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
	h.env["LATCH_ISSUER"] = cfg.Issuer
	h.ok("", "client", "create", "--id", "graceful", "--public", "--redirect-uri", "https://g.example/cb", "--refresh-idle", "200h")
	setLegacyGrace(t, h, "graceful", 90*time.Second)
	h.now = time.Now()

	local := h.run("", "doctor", "--json")
	remote := h.exec("", "doctor", "--json", "--server", "http://"+srv.adminAddr)
	if local.code != 0 || remote.code != 0 {
		t.Fatalf("doctor: local exit %d %q, remote exit %d %q", local.code, local.stderr, remote.code, remote.stderr)
	}
	if local.stdout != remote.stdout {
		t.Errorf("local and remote findings differ:\nlocal:\n%s\nremote:\n%s", local.stdout, remote.stdout)
	}
	for _, rule := range []string{"refresh-grace-long", "refresh-lifetime-long", "spa-no-allowed-origin", "dev-issuer"} {
		if !strings.Contains(remote.stdout, `"rule": "`+rule+`"`) {
			t.Errorf("remote doctor: no %s finding:\n%s", rule, remote.stdout)
		}
	}
}

// TestClientFromView: every setting survives the view, so the admin API
// road checks what the database road checks.
func TestClientFromView(t *testing.T) {
	h := newHarness(t)
	v := decodeJSON[clientView](t, h.ok("", "client", "create", "--id", "all", "--public", "--redirect-uri", "https://a.example/cb",
		"--allowed-origin", "https://a.example", "--require-dpop", "--revoke-refresh-on-logout", "--refresh-grace", "25s",
		"--refresh-idle", "36h", "--refresh-absolute", "200h", "--access-token-ttl", "5m", "--id-token-alg", "EdDSA", "--first-party"))
	c, err := clientFromView(v)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.store().GetClient(t.Context(), "all")
	if err != nil {
		t.Fatal(err)
	}
	stored.CreatedAt = stored.CreatedAt.UTC()
	if got, want := mustJSON(t, c), mustJSON(t, stored); got != want {
		t.Errorf("clientFromView =\n%s\nwant (stored)\n%s", got, want)
	}
	v.RefreshIdle = "a while"
	if _, err := clientFromView(v); err == nil || !strings.Contains(err.Error(), "refresh_idle") {
		t.Errorf("clientFromView(bad duration) error = %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
