package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/token"
)

func TestClientCreate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup [][]string // commands run first, must succeed
		args  []string
		code  int
		err   string                          // substring of the error line when code != 0
		check func(t *testing.T, v clientOut) // when code == 0
	}{
		{
			name: "public",
			args: []string{"--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1:5173/callback", "--name", "My SPA"},
			check: func(t *testing.T, v clientOut) {
				if v.ClientType != "public" || v.ClientSecret != "" {
					t.Errorf("type %q secret %q, want public and no secret", v.ClientType, v.ClientSecret)
				}
				if !slices.Equal(v.GrantTypes, []string{"authorization_code", "refresh_token"}) {
					t.Errorf("grant_types = %v, want the default authorization_code, refresh_token", v.GrantTypes)
				}
				if v.ClientName != "My SPA" || !slices.Equal(v.RedirectURIs, []string{"http://127.0.0.1:5173/callback"}) {
					t.Errorf("name %q redirect_uris %v", v.ClientName, v.RedirectURIs)
				}
				if !v.CreatedAt.Equal(fixedNow) {
					t.Errorf("created_at = %v, want %v", v.CreatedAt, fixedNow)
				}
			},
		},
		{
			name: "confidential with every option",
			args: []string{
				"--id", "web", "--confidential",
				"--redirect-uri", "https://app.example/cb,https://app.example/cb2", "--redirect-uri", "com.example.app:/cb",
				"--post-logout-redirect-uri", "https://app.example/bye",
				"--allowed-origin", "HTTPS://App.Example:443", "--allowed-origin", "http://localhost:3000",
				"--grant-type", "authorization_code", "--grant-type", "refresh_token,client_credentials",
				"--scope", "openid profile", "--scope", "email",
				"--audience", "https://api.example",
				"--first-party", "--require-dpop", "--id-token-alg", "ES256",
				"--refresh-grace", "30s", "--refresh-idle", "24h", "--refresh-absolute", "720h",
				"--access-token-ttl", "5m", "--revoke-refresh-on-logout", "--resource-server",
				"--backchannel-logout-uri", "https://app.example/bcl", "--backchannel-logout-session-required", "--require-fresh-challenge",
			},
			check: func(t *testing.T, v clientOut) {
				if v.ClientType != "confidential" || len(v.ClientSecret) != 43 {
					t.Errorf("type %q secret %q, want confidential and a 43-character secret", v.ClientType, v.ClientSecret)
				}
				for _, c := range []struct {
					name      string
					got, want []string
				}{
					{"redirect_uris", v.RedirectURIs, []string{"https://app.example/cb", "https://app.example/cb2", "com.example.app:/cb"}},
					{"post_logout_redirect_uris", v.PostLogoutRedirectURIs, []string{"https://app.example/bye"}},
					{"allowed_origins", v.AllowedOrigins, []string{"https://app.example", "http://localhost:3000"}},
					{"grant_types", v.GrantTypes, []string{"authorization_code", "refresh_token", "client_credentials"}},
					{"scopes", v.Scopes, []string{"openid", "profile", "email"}},
					{"audiences", v.Audiences, []string{"https://api.example"}},
				} {
					if !slices.Equal(c.got, c.want) {
						t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
					}
				}
				if !v.FirstParty || !v.RequireDPoP || !v.RevokeRefreshOnLogout || !v.ResourceServer || !v.RequireFreshChallenge || v.IDTokenAlg != "ES256" {
					t.Errorf("flags not stored: %+v", v)
				}
				if v.BackchannelLogoutURI != "https://app.example/bcl" || !v.BackchannelLogoutSessionRequired {
					t.Errorf("backchannel_logout_uri %q, session_required %v", v.BackchannelLogoutURI, v.BackchannelLogoutSessionRequired)
				}
				if v.RefreshGrace != "30s" || v.RefreshIdle != "24h" || v.RefreshAbsolute != "720h" || v.AccessTokenTTL != "5m" {
					t.Errorf("durations = %q %q %q %q", v.RefreshGrace, v.RefreshIdle, v.RefreshAbsolute, v.AccessTokenTTL)
				}
			},
		},
		{
			name: "client credentials only needs no redirect URI",
			args: []string{"--id", "svc", "--confidential", "--grant-type", "client_credentials"},
			check: func(t *testing.T, v clientOut) {
				if len(v.RedirectURIs) != 0 || v.ClientSecret == "" {
					t.Errorf("redirect_uris %v secret %q", v.RedirectURIs, v.ClientSecret)
				}
			},
		},
		{
			// RFC 8628: a device client has no redirect URI; it may have
			// rotating refresh tokens.
			name: "device authorization grant enabled",
			args: []string{"--id", "tv", "--public", "--grant-type", "urn:ietf:params:oauth:grant-type:device_code,refresh_token"},
			check: func(t *testing.T, v clientOut) {
				if len(v.RedirectURIs) != 0 || strings.Join(v.GrantTypes, " ") != "urn:ietf:params:oauth:grant-type:device_code refresh_token" {
					t.Errorf("redirect_uris %v grant_types %v", v.RedirectURIs, v.GrantTypes)
				}
			},
		},
		{name: "public and confidential", args: []string{"--id", "x", "--public", "--confidential", "--redirect-uri", "https://a.example/cb"}, code: 2, err: "exactly one of --public and --confidential"},
		{name: "neither public nor confidential", args: []string{"--id", "x", "--redirect-uri", "https://a.example/cb"}, code: 2, err: "exactly one of --public and --confidential"},
		{name: "missing id", args: []string{"--public", "--redirect-uri", "https://a.example/cb"}, code: 2, err: "--id is required"},
		{name: "id with a space", args: []string{"--id", "my app", "--public", "--redirect-uri", "https://a.example/cb"}, code: 1, err: "without spaces"},
		{name: "http redirect to a non-loopback host", args: []string{"--id", "x", "--public", "--redirect-uri", "http://evil.example/cb"}, code: 1, err: `invalid --redirect-uri "http://evil.example/cb"`},
		{name: "redirect with a fragment", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb#x"}, code: 1, err: "fragment"},
		{name: "relative redirect", args: []string{"--id", "x", "--public", "--redirect-uri", "/cb"}, code: 1, err: "invalid --redirect-uri"},
		{name: "bad post-logout redirect", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--post-logout-redirect-uri", "javascript:alert(1)"}, code: 1, err: "invalid --post-logout-redirect-uri"},
		{name: "http back-channel logout URI", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--backchannel-logout-uri", "http://a.example/bcl"}, code: 1, err: `invalid --backchannel-logout-uri "http://a.example/bcl"`},
		{name: "missing redirect for authorization_code", args: []string{"--id", "x", "--public"}, code: 1, err: "--redirect-uri is required"},
		{name: "unknown grant type", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--grant-type", "implicit"}, code: 1, err: `unknown grant type "implicit"`},
		{name: "password grant", args: []string{"--id", "x", "--confidential", "--redirect-uri", "https://a.example/cb", "--grant-type", "password"}, code: 1, err: `unknown grant type "password"`},
		{name: "public with client_credentials", args: []string{"--id", "x", "--public", "--grant-type", "client_credentials"}, code: 1, err: "public client cannot use the client_credentials grant"},
		{name: "refresh_token without authorization_code", args: []string{"--id", "x", "--confidential", "--grant-type", "client_credentials,refresh_token"}, code: 1, err: "refresh_token grant needs authorization_code"},
		{name: "origin with a path", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--allowed-origin", "https://a.example/app"}, code: 1, err: "invalid --allowed-origin"},
		{name: "http origin", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--allowed-origin", "http://a.example"}, code: 1, err: "loopback"},
		{name: "bad scope", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--scope", `a"b`}, code: 1, err: "scope"},
		{name: "relative audience", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--audience", "api"}, code: 1, err: "absolute URI"},
		{name: "unknown id token alg", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--id-token-alg", "HS256"}, code: 1, err: `unknown ID token algorithm "HS256"`},
		{name: "none id token alg", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--id-token-alg", "none"}, code: 1, err: "unknown ID token algorithm"},
		{name: "public resource server", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--resource-server"}, code: 1, err: "a public client cannot be a resource server (--resource-server)"},
		{name: "refresh grace above 30s", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--refresh-grace", "1m"}, code: 1, err: "--refresh-grace (1m0s) is longer than the maximum of 30s"},
		{name: "negative duration", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--refresh-idle", "-1h"}, code: 1, err: "--refresh-idle must not be negative"},
		{name: "idle over absolute", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--refresh-idle", "48h", "--refresh-absolute", "24h"}, code: 1, err: "longer than --refresh-absolute"},
		{name: "control character in name", args: []string{"--id", "x", "--public", "--redirect-uri", "https://a.example/cb", "--name", "a\x1b[31mb"}, code: 1, err: "control characters"},
		{
			name:  "duplicate id",
			setup: [][]string{{"client", "create", "--id", "spa", "--public", "--redirect-uri", "https://a.example/cb"}},
			args:  []string{"--id", "spa", "--confidential", "--redirect-uri", "https://b.example/cb"},
			code:  1, err: `latch: client "spa" already exists`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for _, s := range tc.setup {
				h.ok("", s...)
			}
			r := h.run("", append([]string{"client", "create"}, tc.args...)...)
			if tc.code != 0 {
				wantFailure(t, "client create "+strings.Join(tc.args, " "), r, tc.code, tc.err)
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing", r.stdout)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("client create: exit %d, stderr %q", r.code, r.stderr)
			}
			tc.check(t, decodeJSON[clientOut](t, r.stdout))
		})
	}
}

// clientOut decodes clientView with the secret.
type clientOut = clientView

func TestClientSecretShownOnce(t *testing.T) {
	h := newHarness(t)
	r := h.run("", "client", "create", "--id", "web", "--confidential", "--redirect-uri", "https://app.example/cb")
	if r.code != 0 {
		t.Fatalf("client create: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "shown only once") {
		t.Errorf("client create: stderr = %q, want a reminder that the secret is shown once", r.stderr)
	}
	secret := decodeJSON[clientOut](t, r.stdout).ClientSecret
	if secret == "" {
		t.Fatal("client create --confidential printed no client_secret")
	}
	stored, err := h.store().GetClient(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if stored.SecretHash != token.Hash(secret) {
		t.Errorf("stored SecretHash = %q, want token.Hash(secret)", stored.SecretHash)
	}
	for _, args := range [][]string{
		{"client", "show", "web"},
		{"client", "list"},
		{"client", "list", "--json"},
	} {
		out := h.ok("", args...)
		for _, leak := range []string{secret, stored.SecretHash, "client_secret", "secret_hash"} {
			if strings.Contains(out, leak) {
				t.Errorf("latch %v printed %q:\n%s", args, leak, out)
			}
		}
		if !strings.Contains(out, "web") {
			t.Errorf("latch %v does not show the client:\n%s", args, out)
		}
	}
}

func TestClientList(t *testing.T) {
	h := newHarness(t)
	if out := h.ok("", "client", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("client list --json on an empty database = %q, want []", out)
	}
	h.ok("", "client", "create", "--id", "b-web", "--confidential", "--redirect-uri", "https://app.example/cb", "--name", "Web")
	h.ok("", "client", "create", "--id", "a-spa", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	out := h.ok("", "client", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") ||
		!strings.HasPrefix(lines[1], "a-spa ") || !strings.Contains(lines[1], "public") ||
		!strings.HasPrefix(lines[2], "b-web ") || !strings.Contains(lines[2], "confidential") {
		t.Errorf("client list =\n%s\nwant a header and a-spa (public), b-web (confidential) in ID order", out)
	}
	views := decodeJSON[[]clientOut](t, h.ok("", "client", "list", "--json"))
	if len(views) != 2 || views[0].ClientID != "a-spa" || views[1].ClientName != "Web" {
		t.Errorf("client list --json = %+v", views)
	}
}

func TestClientUpdate(t *testing.T) {
	h := newHarness(t)
	created := decodeJSON[clientOut](t, h.ok("", "client", "create", "--id", "web", "--confidential",
		"--redirect-uri", "https://app.example/cb", "--name", "Web", "--scope", "openid,profile"))

	// Only the given settings change.
	v := decodeJSON[clientOut](t, h.ok("", "client", "update", "web", "--redirect-uri", "https://app.example/new", "--first-party"))
	if !slices.Equal(v.RedirectURIs, []string{"https://app.example/new"}) || !v.FirstParty {
		t.Errorf("update: redirect_uris %v first_party %v", v.RedirectURIs, v.FirstParty)
	}
	if v.ClientName != "Web" || !slices.Equal(v.Scopes, []string{"openid", "profile"}) || v.ClientType != "confidential" {
		t.Errorf("update changed settings it was not given: %+v", v)
	}
	if v.ClientSecret != "" {
		t.Errorf("update without --rotate-secret printed a secret")
	}
	stored, err := h.store().GetClient(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if stored.SecretHash != token.Hash(created.ClientSecret) {
		t.Errorf("update without --rotate-secret changed the secret")
	}

	// An empty list value clears the list; --first-party=false unsets.
	v = decodeJSON[clientOut](t, h.ok("", "client", "update", "web", "--scope", "", "--first-party=false"))
	if len(v.Scopes) != 0 || v.FirstParty {
		t.Errorf("update --scope '' --first-party=false: scopes %v first_party %v", v.Scopes, v.FirstParty)
	}

	// --rotate-secret prints a new secret once and stores its hash.
	v = decodeJSON[clientOut](t, h.ok("", "client", "update", "web", "--rotate-secret"))
	if v.ClientSecret == "" || v.ClientSecret == created.ClientSecret {
		t.Fatalf("--rotate-secret printed %q, want a new secret", v.ClientSecret)
	}
	stored, err = h.store().GetClient(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if stored.SecretHash != token.Hash(v.ClientSecret) {
		t.Errorf("--rotate-secret did not store the new secret's hash")
	}

	// An invalid change is refused and nothing is stored.
	r := h.run("", "client", "update", "web", "--redirect-uri", "http://evil.example/cb", "--name", "Evil")
	wantFailure(t, "update to a bad redirect URI", r, 1, "invalid --redirect-uri")
	if got := decodeJSON[clientOut](t, h.ok("", "client", "show", "web")); got.ClientName != "Web" {
		t.Errorf("a refused update changed the name to %q", got.ClientName)
	}

	// Turning it public drops the secret; rotating a public secret fails.
	v = decodeJSON[clientOut](t, h.ok("", "client", "update", "web", "--public"))
	if v.ClientType != "public" {
		t.Errorf("update --public: type %q", v.ClientType)
	}
	if stored, _ := h.store().GetClient(t.Context(), "web"); stored.SecretHash != "" || !stored.Public {
		t.Errorf("update --public kept SecretHash %q", stored.SecretHash)
	}
	wantFailure(t, "rotate a public client's secret", h.run("", "client", "update", "web", "--rotate-secret"), 1, "public client")
	// And back to confidential: a fresh secret.
	v = decodeJSON[clientOut](t, h.ok("", "client", "update", "web", "--confidential"))
	if v.ClientType != "confidential" || v.ClientSecret == "" {
		t.Errorf("update --confidential: type %q secret %q", v.ClientType, v.ClientSecret)
	}

	wantFailure(t, "update an unknown client", h.run("", "client", "update", "nope", "--name", "x"), 1, `client "nope" not found`)
}

func TestClientDelete(t *testing.T) {
	h := newHarness(t)
	h.ok("", "client", "create", "--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	if out := h.ok("", "client", "delete", "spa"); out != "deleted client \"spa\"\n" {
		t.Errorf("client delete: stdout %q", out)
	}
	wantFailure(t, "show a deleted client", h.run("", "client", "show", "spa"), 1, `client "spa" not found`)
	wantFailure(t, "delete twice", h.run("", "client", "delete", "spa"), 1, `client "spa" not found`)
}

func TestNormalizeOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means an error
	}{
		{"https://app.example", "https://app.example"},
		{"https://app.example/", "https://app.example"},
		{"HTTPS://APP.Example:443", "https://app.example"},
		{"https://app.example:8443", "https://app.example:8443"},
		{"http://localhost:3000", "http://localhost:3000"},
		{"http://127.0.0.1:80", "http://127.0.0.1"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://app.example", ""},
		{"https://app.example/path", ""},
		{"https://app.example?q", ""},
		{"https://app.example#f", ""},
		{"https://user@app.example", ""},
		{"ftp://app.example", ""},
		{"app.example", ""},
		{"https://", ""},
		{"null", ""},
	} {
		got, err := registration.NormalizeOrigin(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("normalizeOrigin(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestListFlag(t *testing.T) {
	var l listFlag
	for _, v := range []string{"a,b", "c d", " a ", "", "e,,f"} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"a", "b", "c", "d", "e", "f"}; !slices.Equal(l.vals, want) {
		t.Errorf("listFlag values = %q, want %q", l.vals, want)
	}
}

func TestFmtDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""}, {30 * time.Second, "30s"}, {10 * time.Minute, "10m"}, {24 * time.Hour, "24h"}, {90 * time.Minute, "1h30m"},
	} {
		if got := registration.FormatDuration(tc.d); got != tc.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestClientCreateWarnsSPAWithoutOrigin: a public client with https
// redirect URIs and no --allowed-origin is a SPA whose token requests the
// browser will refuse (CORS): client create still succeeds, but says so on
// stderr with the flag to add.
func TestClientCreateWarnsSPAWithoutOrigin(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		args []string
		warn string // "" for no warning
	}{
		{"spa without origin", []string{"--id", "spa", "--public", "--redirect-uri", "https://app.example.com/callback", "--redirect-uri", "https://App.example.com:443/silent"},
			`public client "spa" has https redirect URIs but no allowed origin: if it is a browser app (SPA), its token requests from https://app.example.com are refused by the browser (CORS) and it sees only "Failed to fetch". Add the origin: latch client update spa --allowed-origin https://app.example.com (a native app with https redirect URIs can ignore this)`},
		{"two origins", []string{"--id", "spa2", "--public", "--redirect-uri", "https://a.example.com/cb,https://b.example.com:8443/cb"},
			"latch client update spa2 --allowed-origin https://a.example.com --allowed-origin https://b.example.com:8443 "},
		{"spa with origin", []string{"--id", "spa3", "--public", "--redirect-uri", "https://app.example.com/callback", "--allowed-origin", "https://app.example.com"}, ""},
		{"native loopback", []string{"--id", "cli", "--public", "--redirect-uri", "http://127.0.0.1/callback"}, ""},
		{"native private-use scheme", []string{"--id", "mobile", "--public", "--redirect-uri", "com.example.app:/cb"}, ""},
		{"confidential", []string{"--id", "web", "--confidential", "--redirect-uri", "https://app.example.com/callback"}, ""},
	} {
		r := h.run("", append([]string{"client", "create"}, tc.args...)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", tc.name, r.code, r.stderr)
		}
		decodeJSON[clientView](t, r.stdout)
		var warnings []string
		for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
			if w, ok := strings.CutPrefix(l, "latch: warning: "); ok {
				warnings = append(warnings, w)
			}
		}
		switch {
		case tc.warn == "" && len(warnings) > 0:
			t.Errorf("%s: unexpected warning %q", tc.name, warnings)
		case tc.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warn)):
			t.Errorf("%s: stderr = %q, want one warning containing %q", tc.name, r.stderr, tc.warn)
		}
	}
	// Following the advice silences it.
	r := h.run("", "client", "update", "spa", "--allowed-origin", "https://app.example.com")
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Errorf("client update spa --allowed-origin: exit %d, stderr %q; want 0 and no warning", r.code, r.stderr)
	}
}
