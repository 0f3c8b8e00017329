package verify

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const testResource = "https://mcp.example.test/mcp"

// resourceVerifier is a verifier for testResource with metadata.
func resourceVerifier(t *testing.T, ti *testIssuer, edit func(*Config)) *Verifier {
	t.Helper()
	return ti.verifier(t, func(c *Config) {
		c.Audience = ""
		c.ResourceMetadata = &ResourceMetadata{Resource: testResource, ScopesSupported: []string{"mcp:tools"}, ResourceName: "Test MCP"}
		if edit != nil {
			edit(c)
		}
	})
}

// RFC 9728 §3.1: the well-known path goes between host and path, a
// terminating slash removed.
func TestResourceMetadataURL(t *testing.T) {
	ti := newTestIssuer(t)
	tests := []struct{ resource, wantURL, wantPath string }{
		{"https://api.example.test", "https://api.example.test/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.test/", "https://api.example.test/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.test/mcp", "https://api.example.test/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/mcp"},
		{"https://api.example.test:8443/a/b/", "https://api.example.test:8443/.well-known/oauth-protected-resource/a/b", "/.well-known/oauth-protected-resource/a/b"},
	}
	for _, tt := range tests {
		v := ti.verifier(t, func(c *Config) { c.Audience = ""; c.ResourceMetadata = &ResourceMetadata{Resource: tt.resource} })
		if got := v.ResourceMetadataURL(); got != tt.wantURL {
			t.Errorf("Resource %q: ResourceMetadataURL() = %q, want %q", tt.resource, got, tt.wantURL)
		}
		if got := v.ResourceMetadataPath(); got != tt.wantPath {
			t.Errorf("Resource %q: ResourceMetadataPath() = %q, want %q", tt.resource, got, tt.wantPath)
		}
	}
	if v := ti.verifier(t, nil); v.ResourceMetadataURL() != "" || v.ResourceMetadataPath() != "" {
		t.Errorf("without ResourceMetadata: URL %q, path %q, want both empty", v.ResourceMetadataURL(), v.ResourceMetadataPath())
	}
}

// The document has exactly what the verifier enforces (RFC 9728 §2).
func TestResourceMetadataHandler(t *testing.T) {
	ti := newTestIssuer(t)
	v := resourceVerifier(t, ti, nil)
	mux := http.NewServeMux()
	mux.Handle(v.ResourceMetadataPath(), v.ResourceMetadataHandler())
	mux.Handle(WellKnownProtectedResource, v.ResourceMetadataHandler())

	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s = %d, want 200", path, rec.Code)
		}
		for h, want := range map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"} {
			if got := rec.Header().Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("GET %s: body %q: %v", path, rec.Body, err)
		}
		want := map[string]any{
			"resource":                          testResource,
			"authorization_servers":             []any{ti.issuer()},
			"scopes_supported":                  []any{"mcp:tools"},
			"bearer_methods_supported":          []any{"header"},
			"resource_name":                     "Test MCP",
			"dpop_signing_alg_values_supported": []any{"ES256", "EdDSA", "RS256", "PS256"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s = %v, want %v", path, got, want)
		}
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", v.ResourceMetadataPath(), nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", rec.Code)
	}
	rec = httptest.NewRecorder()
	ti.verifier(t, nil).ResourceMetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", WellKnownProtectedResource, nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without ResourceMetadata: GET = %d, want 404", rec.Code)
	}
}

// RFC 9728 §5.1: every challenge names the metadata; RFC 6750 §3: a 401
// hints at the route's scopes, a 403 names the scope to step up to.
func TestResourceMetadataChallenges(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := resourceVerifier(t, ti, nil)
	meta := `resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"`
	realm := `realm="` + testResource + `"`
	valid := mint(t, k, edit(ti.claims(), "aud", []string{testResource}))
	other := mint(t, k, ti.claims()) // aud: another API

	tests := []struct {
		name, auth, scope string
		wantStatus        int
		wantChallenge     string
	}{
		{"no token", "", "mcp:tools", 401, `Bearer ` + realm + `, scope="mcp:tools", ` + meta},
		{"no token, no route scope", "", "", 401, `Bearer ` + realm + `, ` + meta},
		{"token for another resource", "Bearer " + other, "mcp:tools", 401,
			`Bearer ` + realm + `, error="invalid_token", error_description="wrong audience", scope="mcp:tools", ` + meta},
		{"missing scope", "Bearer " + valid, "mcp:admin", 403,
			`Bearer ` + realm + `, error="insufficient_scope", error_description="the token lacks a required scope", scope="mcp:admin", ` + meta},
		{"ok", "Bearer " + valid, "orders:read", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			var scopes []string
			if tt.scope != "" {
				scopes = []string{tt.scope}
			}
			got := serve(t, v, r, scopes...)
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", got.status, tt.wantStatus, got.challenges)
			}
			if tt.wantChallenge == "" {
				return
			}
			if len(got.challenges) == 0 || got.challenges[0] != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want first %q", got.challenges, tt.wantChallenge)
			}
			for _, c := range got.challenges {
				if !strings.Contains(c, meta) {
					t.Errorf("challenge %q lacks %s", c, meta)
				}
			}
		})
	}
}

// RFC 8707 §2: a token is for the resource it names in aud. With
// metadata, the verifier accepts exactly the published identifier, so a
// token a client obtained for another resource (another MCP server on
// the same issuer) is refused here.
func TestResourceRefusesTokenForAnotherResource(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := resourceVerifier(t, ti, nil)
	for _, aud := range [][]string{{testAudience}, {"https://mcp.example.test/mcp/"}, {"https://mcp.example.test"}, {"https://mcp.example.test/other"}} {
		if _, err := v.Verify(t.Context(), mint(t, k, edit(ti.claims(), "aud", aud))); err == nil {
			t.Errorf("Verify(token with aud %q) succeeded, want ErrAudience (resource %s)", aud, testResource)
		}
	}
	if _, err := v.Verify(t.Context(), mint(t, k, edit(ti.claims(), "aud", []string{"urn:x", testResource}))); err != nil {
		t.Errorf("Verify(token with aud including the resource) = %v, want success", err)
	}
}

func TestResourceMetadataConfigErrors(t *testing.T) {
	ti := newTestIssuer(t)
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"audience differs", func(c *Config) { c.ResourceMetadata = &ResourceMetadata{Resource: testResource} }, "differs"},
		{"skip audience", func(c *Config) {
			c.Audience, c.SkipAudienceCheck = "", true
			c.ResourceMetadata = &ResourceMetadata{Resource: testResource}
		}, "SkipAudienceCheck"},
		{"fragment", func(c *Config) {
			c.Audience = ""
			c.ResourceMetadata = &ResourceMetadata{Resource: testResource + "#x"}
		}, "fragment"},
		{"query", func(c *Config) {
			c.Audience = ""
			c.ResourceMetadata = &ResourceMetadata{Resource: testResource + "?a=b"}
		}, "query"},
		{"plain http", func(c *Config) {
			c.Audience = ""
			c.ResourceMetadata = &ResourceMetadata{Resource: "http://mcp.example.test/mcp"}
		}, "https"},
		{"not a URL", func(c *Config) { c.Audience = ""; c.ResourceMetadata = &ResourceMetadata{Resource: "urn:mcp"} }, "absolute URL"},
		{"other issuer", func(c *Config) {
			c.Audience = ""
			c.ResourceMetadata = &ResourceMetadata{Resource: testResource, AuthorizationServers: []string{"https://other.example"}}
		}, "AuthorizationServers"},
	}
	for _, tt := range tests {
		cfg := Config{Issuer: ti.issuer(), Audience: testAudience, Now: ti.clock.Now}
		tt.cfg(&cfg)
		_, err := New(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}
