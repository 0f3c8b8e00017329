package doctor

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// cleanInput is a production deployment that follows every rule: each
// case below breaks exactly one thing.
func cleanInput() Input {
	cfg := config.Default()
	cfg.Issuer = "https://id.example.com"
	cfg.KeyEncryptionSecret = strings.Repeat("s", 40)
	cfg.SigningAlg = token.ES256
	cfg.DPoPNonce = true
	code := []string{"authorization_code", "refresh_token"}
	return Input{
		Config: cfg,
		Clients: []store.Client{
			{ID: "spa", Public: true, RedirectURIs: []string{"https://app.example.com/callback"},
				AllowedOrigins: []string{"https://app.example.com"}, GrantTypes: code, RequireDPoP: true, RevokeRefreshOnLogout: true},
			{ID: "native", Public: true, RedirectURIs: []string{"http://127.0.0.1/callback", "com.example.app:/cb"}, GrantTypes: code, RequireDPoP: true},
			{ID: "web", RedirectURIs: []string{"https://web.example.com/callback"}, GrantTypes: code, RefreshGrace: 10 * time.Second},
			{ID: "service", GrantTypes: []string{"client_credentials"}},
		},
		Keys: []token.KeyInfo{
			{ID: "es", Alg: token.ES256, Status: token.StatusActive, CreatedAt: now.Add(-10 * 24 * time.Hour)},
			{ID: "rs", Alg: token.RS256, Status: token.StatusActive, CreatedAt: now.Add(-10 * 24 * time.Hour)},
			{ID: "old", Alg: token.RS256, Status: token.StatusExpired, CreatedAt: now.Add(-400 * 24 * time.Hour)},
		},
		Now: now,
	}
}

// client returns a pointer to the client of in with that ID.
func client(t *testing.T, in *Input, id string) *store.Client {
	t.Helper()
	i := slices.IndexFunc(in.Clients, func(c store.Client) bool { return c.ID == id })
	if i < 0 {
		t.Fatalf("no client %q", id)
	}
	return &in.Clients[i]
}

func TestCleanDeploymentHasNoFindings(t *testing.T) {
	if got := Check(cleanInput()); len(got) != 0 {
		t.Fatalf("Check(clean) = %s, want none", dump(got))
	}
}

// TestRules breaks one thing per case and expects exactly n findings of
// the rule (0: the rule must stay quiet, e.g. a near miss).
func TestRules(t *testing.T) {
	tests := []struct {
		rule, name string
		mutate     func(t *testing.T, in *Input)
		want       int
	}{
		{"issuer-not-https", "http public host", func(t *testing.T, in *Input) { in.Config.Issuer = "http://id.example.com:8080" }, 1},
		{"issuer-not-https", "http loopback is dev", func(t *testing.T, in *Input) { in.Config.Issuer = "http://localhost:8080" }, 0},
		{"issuer-not-https", "http 127.0.0.1 is dev", func(t *testing.T, in *Input) { in.Config.Issuer = "http://127.0.0.1:8080" }, 0},

		{"admin-listener-open", "all interfaces without token", func(t *testing.T, in *Input) { in.Config.AdminAddr = ":9090" }, 1},
		{"admin-listener-open", "public address without token", func(t *testing.T, in *Input) { in.Config.AdminAddr = "10.0.0.5:9090" }, 1},
		{"admin-listener-open", "with token", func(t *testing.T, in *Input) {
			in.Config.AdminAddr, in.Config.AdminToken = ":9090", strings.Repeat("t", 32)
		}, 0},
		{"admin-listener-open", "disabled", func(t *testing.T, in *Input) { in.Config.AdminAddr = "" }, 0},
		{"admin-listener-open", "localhost", func(t *testing.T, in *Input) { in.Config.AdminAddr = "localhost:9090" }, 0},

		{"config-invalid", "short secret", func(t *testing.T, in *Input) { in.Config.KeyEncryptionSecret = "short" }, 1},
		{"config-invalid", "two problems", func(t *testing.T, in *Input) { in.Config.CodeTTL, in.Config.LogLevel = 5*time.Minute, "loud" }, 2},
		{"config-invalid", "http issuer is its own rule", func(t *testing.T, in *Input) { in.Config.Issuer = "http://id.example.com" }, 0},
		{"config-invalid", "open admin is its own rule", func(t *testing.T, in *Input) { in.Config.AdminAddr = ":9090" }, 0},
		{"config-invalid", "issuer with a slash is not", func(t *testing.T, in *Input) { in.Config.Issuer = "https://id.example.com/" }, 1},

		{"refresh-rotation-defeated", "grace equals idle at the bound", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, registration.MaxRefreshGrace, registration.MaxRefreshGrace
		}, 1},
		{"refresh-rotation-defeated", "grace above a short idle", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, 20*time.Second, 10*time.Second
		}, 1},
		{"refresh-rotation-defeated", "legacy grace, capped, still covers the idle", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, 48*time.Hour, registration.MaxRefreshGrace
		}, 1},
		{"refresh-rotation-defeated", "legacy grace above the default idle is capped", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace = false, 48*time.Hour
		}, 0},
		{"refresh-rotation-defeated", "legacy grace, idle just above the cap", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, 48*time.Hour, registration.MaxRefreshGrace+time.Second
		}, 0},
		{"refresh-rotation-defeated", "grace just below idle", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, registration.MaxRefreshGrace-time.Second, registration.MaxRefreshGrace
		}, 0},
		{"refresh-rotation-defeated", "DPoP binds the tokens", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RefreshGrace, c.RefreshIdle = registration.MaxRefreshGrace, registration.MaxRefreshGrace
		}, 0},
		{"refresh-rotation-defeated", "confidential client", func(t *testing.T, in *Input) {
			c := client(t, in, "web")
			c.RefreshGrace, c.RefreshIdle = registration.MaxRefreshGrace, registration.MaxRefreshGrace
		}, 0},
		{"refresh-rotation-defeated", "no grace", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, 0, time.Second
		}, 0},

		// The base input's issuer is https on a domain name: passkeys work.
		{"passkey-policy-locks-out", "server policy, passkeys on", func(t *testing.T, in *Input) { in.Config.AuthenticationPolicy = "passkey" }, 0},
		{"passkey-policy-locks-out", "server policy, issuer on an IP address", func(t *testing.T, in *Input) {
			in.Config.Issuer, in.Config.AuthenticationPolicy = "https://192.0.2.10", "passkey"
		}, 1},
		{"passkey-policy-locks-out", "a client's policy, RP ID that does not fit", func(t *testing.T, in *Input) {
			in.Config.WebAuthnRPID = "other.example.org"
			client(t, in, "web").AuthenticationPolicy = "passkey"
		}, 1},
		{"passkey-policy-locks-out", "second factor", func(t *testing.T, in *Input) {
			in.Config.AuthenticationPolicy = "second_factor"
			client(t, in, "web").AuthenticationPolicy = "second_factor"
		}, 0},

		{"spa-no-allowed-origin", "SPA without origin", func(t *testing.T, in *Input) { client(t, in, "spa").AllowedOrigins = nil }, 1},
		{"spa-no-allowed-origin", "served from the issuer's origin", func(t *testing.T, in *Input) {
			c := client(t, in, "spa")
			c.AllowedOrigins, c.RedirectURIs = nil, []string{"https://id.example.com/app/callback"}
		}, 0},
		{"spa-no-allowed-origin", "one redirect elsewhere", func(t *testing.T, in *Input) {
			c := client(t, in, "spa")
			c.AllowedOrigins, c.RedirectURIs = nil, []string{"https://id.example.com/app/callback", "https://app.example.com/cb"}
		}, 1},
		{"spa-no-allowed-origin", "native app with loopback", func(t *testing.T, in *Input) { client(t, in, "native").AllowedOrigins = nil }, 0},
		{"spa-no-allowed-origin", "confidential https client", func(t *testing.T, in *Input) { client(t, in, "web").AllowedOrigins = nil }, 0},

		{"public-client-no-dpop", "SPA", func(t *testing.T, in *Input) { client(t, in, "spa").RequireDPoP = false }, 1},
		{"public-client-no-dpop", "native", func(t *testing.T, in *Input) { client(t, in, "native").RequireDPoP = false }, 1},
		{"public-client-no-dpop", "confidential", func(t *testing.T, in *Input) { client(t, in, "web").RequireDPoP = false }, 0},

		{"spa-refresh-outlives-logout", "SPA", func(t *testing.T, in *Input) { client(t, in, "spa").RevokeRefreshOnLogout = false }, 1},
		{"spa-refresh-outlives-logout", "SPA without refresh tokens", func(t *testing.T, in *Input) {
			c := client(t, in, "spa")
			c.RevokeRefreshOnLogout, c.GrantTypes = false, []string{"authorization_code"}
		}, 0},

		{"refresh-lifetime-long", "public absolute default", func(t *testing.T, in *Input) { in.Config.PublicRefreshAbsolute = 60 * 24 * time.Hour }, 1},
		{"refresh-lifetime-long", "public at the bound", func(t *testing.T, in *Input) { in.Config.PublicRefreshAbsolute = MaxPublicRefreshAbsolute }, 0},
		{"refresh-lifetime-long", "confidential defaults", func(t *testing.T, in *Input) {
			in.Config.ConfidentialRefreshIdle, in.Config.ConfidentialRefreshAbsolute = 100*24*time.Hour, 400*24*time.Hour
		}, 2},
		{"refresh-lifetime-long", "SPA's own idle and absolute", func(t *testing.T, in *Input) {
			c := client(t, in, "spa")
			c.RefreshIdle, c.RefreshAbsolute = 8*24*time.Hour, 31*24*time.Hour
		}, 2},
		{"refresh-lifetime-long", "confidential client within its bounds", func(t *testing.T, in *Input) {
			client(t, in, "web").RefreshAbsolute = 31 * 24 * time.Hour
		}, 0},
		{"refresh-lifetime-long", "no refresh grant", func(t *testing.T, in *Input) {
			client(t, in, "service").RefreshAbsolute = 1000 * 24 * time.Hour
		}, 0},

		{"refresh-grace-long", "legacy web 5m", func(t *testing.T, in *Input) { client(t, in, "web").RefreshGrace = 5 * time.Minute }, 1},
		{"refresh-grace-long", "just above the bound", func(t *testing.T, in *Input) {
			client(t, in, "web").RefreshGrace = registration.MaxRefreshGrace + time.Second
		}, 1},
		{"refresh-grace-long", "at the bound", func(t *testing.T, in *Input) { client(t, in, "web").RefreshGrace = registration.MaxRefreshGrace }, 0},
		{"refresh-grace-long", "legacy public client, capped grace below its idle", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace = false, 48*time.Hour
		}, 1},
		{"refresh-grace-long", "defeated rotation is reported once", func(t *testing.T, in *Input) {
			c := client(t, in, "native")
			c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, 48*time.Hour, registration.MaxRefreshGrace
		}, 0},
		{"refresh-grace-long", "no refresh grant", func(t *testing.T, in *Input) { client(t, in, "service").RefreshGrace = 5 * time.Minute }, 0},

		{"client-credentials-mixed", "code plus client credentials", func(t *testing.T, in *Input) {
			c := client(t, in, "web")
			c.GrantTypes = append(c.GrantTypes, "client_credentials")
		}, 1},

		{"confidential-loopback-redirect", "in production", func(t *testing.T, in *Input) {
			c := client(t, in, "web")
			c.RedirectURIs = append(c.RedirectURIs, "http://localhost:8000/cb")
		}, 1},
		{"confidential-loopback-redirect", "no issuer: unknown", func(t *testing.T, in *Input) {
			in.Config.Issuer = ""
			c := client(t, in, "web")
			c.RedirectURIs = append(c.RedirectURIs, "http://localhost:8000/cb")
		}, 0},
		{"confidential-loopback-redirect", "in development", func(t *testing.T, in *Input) {
			in.Config.Issuer = "http://localhost:8080"
			c := client(t, in, "web")
			c.RedirectURIs = append(c.RedirectURIs, "http://localhost:8000/cb")
		}, 0},

		{"backchannel-logout-http", "http loopback in production", func(t *testing.T, in *Input) {
			client(t, in, "web").BackchannelLogoutURI = "http://localhost:3002/backchannel-logout"
		}, 1},
		{"backchannel-logout-http", "https", func(t *testing.T, in *Input) {
			client(t, in, "web").BackchannelLogoutURI = "https://web.example.com/backchannel-logout"
		}, 0},
		{"backchannel-logout-http", "http under a dev issuer (latch dev delivers it)", func(t *testing.T, in *Input) {
			in.Config.Issuer = "http://localhost:8080"
			client(t, in, "web").BackchannelLogoutURI = "http://localhost:3002/backchannel-logout"
		}, 0},

		{"cimd-allow-all", "in production", func(t *testing.T, in *Input) { in.Config.CIMDPolicy = "allow-all" }, 1},
		{"cimd-allow-all", "allow-list", func(t *testing.T, in *Input) {
			in.Config.CIMDPolicy, in.Config.CIMDAllowedHosts = "allow-list", []string{"claude.ai"}
		}, 0},
		{"cimd-allow-all", "in development", func(t *testing.T, in *Input) {
			in.Config.Issuer, in.Config.CIMDPolicy = "http://localhost:8080", "allow-all"
		}, 0},

		{"registration-open", "in production", func(t *testing.T, in *Input) { in.Config.Registration = "open" }, 1},
		{"registration-open", "initial access token", func(t *testing.T, in *Input) { in.Config.Registration = "initial-access-token" }, 0},
		{"registration-open", "in development", func(t *testing.T, in *Input) {
			in.Config.Issuer, in.Config.Registration = "http://localhost:8080", "open"
		}, 0},

		{"admin-listener-exposed", "token on all interfaces", func(t *testing.T, in *Input) {
			in.Config.AdminAddr, in.Config.AdminToken = "0.0.0.0:9090", strings.Repeat("t", 32)
		}, 1},
		{"admin-listener-exposed", "loopback with token", func(t *testing.T, in *Input) {
			in.Config.AdminToken = strings.Repeat("t", 32)
		}, 0},
		{"admin-listener-exposed", "IPv6 loopback", func(t *testing.T, in *Input) {
			in.Config.AdminAddr, in.Config.AdminToken = "[::1]:9090", strings.Repeat("t", 32)
		}, 0},

		{"key-rotation-overdue", "active key 100 days old", func(t *testing.T, in *Input) {
			in.Keys[0].CreatedAt = now.Add(-100 * 24 * time.Hour)
		}, 1},
		{"key-rotation-overdue", "threshold from the flag", func(t *testing.T, in *Input) { in.KeyMaxAge = 5 * 24 * time.Hour }, 2},
		{"key-rotation-overdue", "expired keys do not count", func(t *testing.T, in *Input) { in.Keys = in.Keys[2:] }, 0},

		{"rs256-default", "RS256", func(t *testing.T, in *Input) { in.Config.SigningAlg = token.RS256 }, 1},
		{"rs256-default", "EdDSA", func(t *testing.T, in *Input) { in.Config.SigningAlg = token.EdDSA }, 0},

		{"dpop-nonce-off", "DPoP clients, no nonce", func(t *testing.T, in *Input) { in.Config.DPoPNonce = false }, 1},
		{"dpop-nonce-off", "no DPoP client", func(t *testing.T, in *Input) {
			in.Config.DPoPNonce = false
			client(t, in, "spa").RequireDPoP = false
			client(t, in, "native").RequireDPoP = false
		}, 0},

		{"no-active-key", "no keys at all", func(t *testing.T, in *Input) { in.Keys = nil }, 1},
		{"no-active-key", "only another alg", func(t *testing.T, in *Input) { in.Config.SigningAlg = token.EdDSA }, 1},

		{"dev-issuer", "localhost", func(t *testing.T, in *Input) { in.Config.Issuer = "http://localhost:8080" }, 1},
		{"dev-issuer", "public https", func(t *testing.T, in *Input) {}, 0},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			in := cleanInput()
			tt.mutate(t, &in)
			got := Check(in)
			n := 0
			for _, f := range got {
				if f.Rule == tt.rule {
					n++
				}
			}
			if n != tt.want {
				t.Errorf("%d findings of %s, want %d; all findings: %s", n, tt.rule, tt.want, dump(got))
			}
		})
		if tt.want > 0 {
			covered[tt.rule] = true
		}
	}
	for _, r := range Rules() {
		if !covered[r.ID] {
			t.Errorf("rule %s has no case that fires it", r.ID)
		}
	}
}

func TestFindingFields(t *testing.T) {
	in := cleanInput()
	c := client(t, &in, "spa")
	c.AllowedOrigins = nil
	c.RedirectURIs = []string{"https://app.example.com/callback", "https://APP.example.com:443/other", "https://beta.example.com:8443/cb"}
	got := Check(in)
	if len(got) != 1 {
		t.Fatalf("Check = %s, want one finding", dump(got))
	}
	want := Finding{
		Severity: Warning, Rule: "spa-no-allowed-origin", Ref: "RFC 10017 §6.3.3.4", Subject: "client spa",
		Fix: "latch client update spa --allowed-origin https://app.example.com,https://beta.example.com:8443",
	}
	f := got[0]
	f.Message = ""
	if f != want {
		t.Errorf("finding = %+v, want %+v", f, want)
	}
}

// TestGraceMessages: a legacy grace window is reported as stored and as
// the server enforces it (registration.MaxRefreshGrace).
func TestGraceMessages(t *testing.T) {
	in := cleanInput()
	client(t, &in, "web").RefreshGrace = 5 * time.Minute
	c := client(t, &in, "native")
	c.RequireDPoP, c.RefreshGrace, c.RefreshIdle = false, 48*time.Hour, 20*time.Second
	got := map[string]Finding{}
	for _, f := range Check(in) {
		got[f.Rule+" "+f.Subject] = f
	}
	long := got["refresh-grace-long client web"]
	for _, want := range []string{"5m is stored", "caps the window at 30s"} {
		if !strings.Contains(long.Message, want) {
			t.Errorf("refresh-grace-long message %q does not say %q", long.Message, want)
		}
	}
	if want := "latch client update web --refresh-grace 10s"; !strings.HasPrefix(long.Fix, want) {
		t.Errorf("refresh-grace-long fix %q, want it to start with %q", long.Fix, want)
	}
	defeated := got["refresh-rotation-defeated client native"]
	if want := "refresh grace 48h (stored; the server caps it at 30s) is not shorter than the refresh idle timeout 20s"; !strings.HasPrefix(defeated.Message, want) {
		t.Errorf("refresh-rotation-defeated message %q, want it to start with %q", defeated.Message, want)
	}
}

func TestOrderErrorsFirst(t *testing.T) {
	in := cleanInput()
	in.Config.SigningAlg = token.RS256                     // info
	client(t, &in, "spa").AllowedOrigins = nil             // warning
	in.Config.Issuer = "http://id.example.com"             // error
	client(t, &in, "native").RevokeRefreshOnLogout = false // not a SPA: nothing
	got := Check(in)
	var sev []Severity
	for _, f := range got {
		sev = append(sev, f.Severity)
	}
	if !slices.IsSortedFunc(sev, func(a, b Severity) int { return int(b - a) }) || len(sev) != 3 {
		t.Errorf("severities %v: want 3 findings, errors first", sev)
	}
	if !HasErrors(got) || HasErrors(got[1:]) {
		t.Errorf("HasErrors wrong for %s", dump(got))
	}
}

func TestClientOrderDoesNotMatter(t *testing.T) {
	in := cleanInput()
	for i := range in.Clients {
		in.Clients[i].RequireDPoP = false
	}
	a := dump(Check(in))
	slices.Reverse(in.Clients)
	if b := dump(Check(in)); a != b {
		t.Errorf("findings depend on client order:\n%s\n%s", a, b)
	}
}

// TestREADMEListsEveryRule keeps the rule table of docs/cli.md ("latch
// doctor") in step with the rules: each id, its severity and its reference
// appear on one row.
func TestREADMEListsEveryRule(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, r := range Rules() {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "| `"+r.ID+"` |") })
		if i < 0 {
			t.Errorf("docs/cli.md: no row for rule %s", r.ID)
			continue
		}
		if !strings.Contains(lines[i], "| "+r.Severity.String()+" |") || !strings.Contains(lines[i], r.Ref) {
			t.Errorf("docs/cli.md row for %s does not say %s and %q: %s", r.ID, r.Severity, r.Ref, lines[i])
		}
	}
}

func dump(fs []Finding) string {
	b, _ := json.MarshalIndent(fs, "", "  ")
	return string(b)
}
