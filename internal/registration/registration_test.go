package registration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestValidateClientNamesFields: one policy, two vocabularies. The CLI
// and the admin API get the same verdict, each naming the offending
// field its own way.
func TestValidateClientNamesFields(t *testing.T) {
	tests := []struct {
		name  string
		c     store.Client
		field Field
		flag  string
		json  string
	}{
		{"http redirect", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"http://evil.example/cb"}}, FieldRedirectURIs, "invalid --redirect-uri", "invalid redirect_uris"},
		{"missing redirect", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes()}, FieldRedirectURIs, "--redirect-uri is required", "redirect_uris is required"},
		{"bad origin", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AllowedOrigins: []string{"https://a.example/path"}}, FieldAllowedOrigins, "--allowed-origin", "allowed_origins"},
		{"refresh grace above the maximum", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, RefreshGrace: MaxRefreshGrace + time.Second}, FieldRefreshGrace, "--refresh-grace (31s) is longer than the maximum of 30s", "refresh_grace (31s) is longer than the maximum of 30s"},
		{"public resource server", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, ResourceServer: true}, FieldResourceServer, "--resource-server", "resource_server"},
		{"unknown authentication policy", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AuthenticationPolicy: "sms"}, FieldAuthenticationPolicy, "--authentication-policy: authentication policy \"sms\" is not one of password, second_factor or passkey", "authentication_policy"},
		{"negative ttl", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AccessTokenTTL: -1}, FieldAccessTokenTTL, "--access-token-ttl must not be negative", "access_token_ttl must not be negative"},
		// Refused with the limit, not silently shortened to it at the
		// token endpoint.
		{"ttl over the cap", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AccessTokenTTL: 2 * time.Hour}, FieldAccessTokenTTL, "--access-token-ttl (2h) must be at most 1h", "access_token_ttl (2h) must be at most 1h"},
		{"public client_credentials", store.Client{ID: "x", Public: true, GrantTypes: []string{"client_credentials"}}, FieldGrantTypes, "public client", "public client"},
		{"space in id", store.Client{ID: "a b", GrantTypes: []string{"client_credentials"}}, FieldID, "without spaces", "without spaces"},
		// Latch matches exactly: a wildcard would be stored and never match.
		{"wildcard redirect host", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://*.example.com/cb"}}, FieldRedirectURIs, "invalid --redirect-uri \"https://*.example.com/cb\": wildcards (*) are not supported: Latch matches redirect URIs and origins exactly", "invalid redirect_uris"},
		{"wildcard redirect path", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://app.example.com/*"}}, FieldRedirectURIs, "matches redirect URIs and origins exactly", "matches redirect URIs and origins exactly"},
		{"wildcard loopback port", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"http://127.0.0.1:*/cb"}}, FieldRedirectURIs, "wildcards (*) are not supported", "wildcards (*) are not supported"},
		{"wildcard post-logout", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, PostLogoutRedirectURIs: []string{"https://a.example/*"}}, FieldPostLogoutRedirectURIs, "--post-logout-redirect-uri", "post_logout_redirect_uris"},
		{"wildcard origin", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AllowedOrigins: []string{"https://*.example.com"}}, FieldAllowedOrigins, "invalid --allowed-origin \"https://*.example.com\": wildcards (*) are not supported", "invalid allowed_origins"},
		{"wildcard origin alone", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AllowedOrigins: []string{"*"}}, FieldAllowedOrigins, "matches redirect URIs and origins exactly", "matches redirect URIs and origins exactly"},
		{"private_key_jwt without keys", store.Client{ID: "x", GrantTypes: []string{"client_credentials"}, AuthMethod: "private_key_jwt"}, FieldJWKSURI, "give --jwks-uri or --jwks-file", "give jwks_uri or jwks"},
		{"private_key_jwt with both", store.Client{ID: "x", GrantTypes: []string{"client_credentials"}, AuthMethod: "private_key_jwt", JWKS: `{"keys":[]}`, JWKSURI: "https://x.example/jwks"}, FieldJWKSURI, "not both", "not both"},
		{"private_key_jwt public", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AuthMethod: "private_key_jwt", JWKSURI: "https://x.example/jwks"}, FieldAuthMethod, "public client cannot use private_key_jwt", "public client cannot use private_key_jwt"},
		{"jwks of a secret client", store.Client{ID: "x", GrantTypes: []string{"client_credentials"}, JWKSURI: "https://x.example/jwks"}, FieldAuthMethod, "set --auth private_key_jwt", "set token_endpoint_auth_method private_key_jwt"},
		{"jwks_uri over http", store.Client{ID: "x", GrantTypes: []string{"client_credentials"}, AuthMethod: "private_key_jwt", JWKSURI: "http://x.example/jwks"}, FieldJWKSURI, "invalid --jwks-uri", "invalid jwks_uri"},
		{"jwks with a private key", store.Client{ID: "x", GrantTypes: []string{"client_credentials"}, AuthMethod: "private_key_jwt", JWKS: `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`}, FieldJWKS, "invalid --jwks-file: key 0", "invalid jwks: key 0"},
		{"unknown auth method", store.Client{ID: "x", GrantTypes: []string{"client_credentials"}, AuthMethod: "tls_client_auth"}, FieldAuthMethod, "unknown --auth", "unknown token_endpoint_auth_method"},
	}
	for _, tt := range tests {
		for _, v := range []struct {
			name   func(Field) string
			substr string
		}{{Field.Flag, tt.flag}, {Field.JSON, tt.json}} {
			c := tt.c
			err := ValidateClient(&c, v.name)
			var re *Error
			if !errors.As(err, &re) || re.Field != tt.field || !strings.Contains(err.Error(), v.substr) {
				t.Errorf("%s: ValidateClient = %v, want *Error on field %d mentioning %q", tt.name, err, tt.field, v.substr)
			}
		}
	}
	ok := store.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, AllowedOrigins: []string{"HTTPS://App.Example:443", "https://app.example"}}
	if err := ValidateClient(&ok, Field.JSON); err != nil {
		t.Fatalf("valid client refused: %v", err)
	}
	if len(ok.AllowedOrigins) != 1 || ok.AllowedOrigins[0] != "https://app.example" {
		t.Errorf("origins not normalised and deduplicated: %v", ok.AllowedOrigins)
	}
	for f := FieldID; f <= FieldResourceServer; f++ {
		if !strings.HasPrefix(f.Flag(), "--") || f.JSON() == "" {
			t.Errorf("field %d has no names: %q %q", f, f.Flag(), f.JSON())
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                                 false,
		"kq7!z":                            false,
		"1234567":                          false,
		"12345678":                         true,
		"pässwörd":                         true, // 8 runes, 10 bytes
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8": false,
		strings.Repeat("a", 1024):          true,
		strings.Repeat("a", 1025):          false,
	} {
		err := CheckPassword(pw)
		if (err == nil) != ok {
			t.Errorf("CheckPassword(%d bytes) = %v, want ok=%v", len(pw), err, ok)
		}
		if err != nil && len(pw) >= 4 && strings.Contains(err.Error(), pw) {
			t.Errorf("CheckPassword echoes the password: %v", err)
		}
	}
}

func TestNewUserID(t *testing.T) {
	a, b := NewUserID(), NewUserID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("NewUserID() = %q, %q: want distinct version 4 UUIDs", a, b)
	}
}

// TestNormalizeOriginLoopback: plain http origins are allowed exactly for
// oauth.IsLoopbackHost of the lower-cased host.
func TestNormalizeOriginLoopback(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means an error
	}{
		{"http://LOCALHOST:3000", "http://localhost:3000"},
		{"http://127.0.0.2:3000", "http://127.0.0.2:3000"},
		{"http://[::1]", "http://[::1]"},
		{"http://[::ffff:127.0.0.1]:3000", ""}, // IPv4-mapped: not a loopback spelling Latch accepts
		{"http://app.localhost:3000", ""},
		{"http://localhost.:3000", ""},
		{"http://0.0.0.0:3000", ""},
	} {
		got, err := NormalizeOrigin(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NormalizeOrigin(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCanonicalUsername(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"alice", "alice", true},
		{"Alice", "alice", true},
		{"ALICE", "alice", true},
		{"\uff21lice", "alice", true},   // full-width A
		{"A\u030asa", "\u00e5sa", true}, // NFD Å
		{"\u00c5sa", "\u00e5sa", true},  // NFC Å
		{" bob ", "bob", true},          // a stray blank typed in a form
		{"bob@example.com", "bob@example.com", true},
		{"bo b", "", false},
		{"bo\x00b", "", false},
		{"bo\x1bb", "", false},
		{"bo\u200bb", "", false}, // zero-width space
		{"\xff\xfe", "", false},
		{"", "", false},
	} {
		got, err := CanonicalUsername(tc.in)
		if (err == nil && got != "") != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("CanonicalUsername(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestClientWarnings: the one "browser app without an allowed origin"
// rule (the CLI prints it, the admin API returns it, latch doctor reports
// it as spa-no-allowed-origin).
func TestClientWarnings(t *testing.T) {
	spa := func(redirects ...string) store.Client {
		return store.Client{ID: "spa", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: redirects}
	}
	for _, tc := range []struct {
		name    string
		c       store.Client
		issuer  string
		browser bool
		missing []string
	}{
		{"spa", spa("https://App.example.com:443/cb", "https://app.example.com/silent"), "", true, []string{"https://app.example.com"}},
		{"two origins", spa("https://a.example/cb", "https://b.example:8443/cb"), "", true, []string{"https://a.example", "https://b.example:8443"}},
		{"served from the issuer", spa("https://id.example/app/cb"), "https://id.example", true, nil},
		{"one elsewhere", spa("https://id.example/app/cb", "https://app.example/cb"), "https://id.example", true, []string{"https://app.example"}},
		{"with an origin", func() store.Client {
			c := spa("https://app.example/cb")
			c.AllowedOrigins = []string{"https://app.example"}
			return c
		}(), "", true, nil},
		{"loopback native app", spa("http://127.0.0.1/cb"), "", false, nil},
		{"private-use scheme", spa("com.example.app:/cb"), "", false, nil},
		{"confidential", func() store.Client { c := spa("https://app.example/cb"); c.Public = false; return c }(), "", false, nil},
	} {
		if got := IsBrowserApp(tc.c); got != tc.browser {
			t.Errorf("%s: IsBrowserApp = %v, want %v", tc.name, got, tc.browser)
		}
		got := MissingOrigins(tc.c, tc.issuer)
		if strings.Join(got, " ") != strings.Join(tc.missing, " ") {
			t.Errorf("%s: MissingOrigins = %q, want %q", tc.name, got, tc.missing)
		}
		w := ClientWarnings(tc.c, tc.issuer)
		switch {
		case len(tc.missing) == 0 && w != nil:
			t.Errorf("%s: ClientWarnings = %q, want none", tc.name, w)
		case len(tc.missing) > 0 && (len(w) != 1 || !strings.Contains(w[0], "latch client update spa --allowed-origin "+tc.missing[0])):
			t.Errorf("%s: ClientWarnings = %q, want one naming --allowed-origin %s", tc.name, w, tc.missing[0])
		}
	}
}

// TestBackchannelLogoutURI: a backchannel_logout_uri is an absolute
// https URL without fragment or user info (Back-Channel Logout 1.0 §2.2);
// http only on a loopback host (latch dev delivers there, nothing else).
func TestBackchannelLogoutURI(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		session bool
		ok      bool
	}{
		{"https://rp.example/backchannel", false, true},
		{"https://rp.example:8443/bcl?tenant=a", true, true},
		{"http://127.0.0.1:8080/bcl", false, true},
		{"http://localhost/bcl", false, true},
		{"http://[::1]:9/bcl", false, true},
		{"http://rp.example/bcl", false, false},
		{"https://rp.example/bcl#frag", false, false},
		{"https://user:pw@rp.example/bcl", false, false},
		{"/relative", false, false},
		{"rp.example/bcl", false, false},
		{"javascript:alert(1)", false, false},
		{"", true, false}, // session required without a URI
		{"", false, true},
	} {
		c := store.Client{ID: "rp", GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"https://rp.example/cb"},
			BackchannelLogoutURI: tc.uri, BackchannelLogoutSessionRequired: tc.session}
		err := ValidateClient(&c, Field.JSON)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateClient(backchannel_logout_uri %q, session_required %v) = %v, want ok %v", tc.uri, tc.session, err, tc.ok)
		}
		var re *Error
		if err != nil && (!errors.As(err, &re) || re.Field != FieldBackchannelLogoutURI || !strings.Contains(err.Error(), "backchannel_logout_uri")) {
			t.Errorf("ValidateClient(%q) error %v: want one about backchannel_logout_uri", tc.uri, err)
		}
	}
}
