package verify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// response is what a middleware test observes.
type response struct {
	status     int
	challenges []string // WWW-Authenticate values, in order
	body       map[string]string
	claims     *Claims // what the handler saw, nil if not reached
}

// serve runs r through v.Middleware(scopes...) around a handler that
// records the claims from the context.
func serve(t *testing.T, v *Verifier, r *http.Request, scopes ...string) response {
	t.Helper()
	var got response
	h := v.Middleware(scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if !ok {
			t.Error("handler: FromContext found no claims")
		}
		got.claims = c
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	got.status = rec.Code
	got.challenges = rec.Header().Values("WWW-Authenticate")
	if rec.Code != http.StatusOK {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("error Cache-Control = %q, want no-store", cc)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got.body); err != nil {
			t.Errorf("error body %q is not a JSON object: %v", rec.Body.String(), err)
		}
	}
	return got
}

func TestMiddleware(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, nil)
	valid := mint(t, k, ti.claims()) // scope "openid orders:read"
	expired := mint(t, k, edit(ti.claims(), "exp", ti.clock.Now().Add(-30*time.Minute).Unix()))
	bound := mint(t, k, edit(ti.claims(), "cnf", map[string]any{"jkt": "abc"}))
	realm := `realm="` + testAudience + `"`
	dpopBare := `DPoP ` + realm + `, algs="ES256 EdDSA RS256 PS256"`

	tests := []struct {
		name          string
		auth          []string // Authorization header values
		scopes        []string
		wantStatus    int
		wantChallenge string // first WWW-Authenticate value
		wantSecond    string // second value, "" if none expected
		wantError     string // JSON error member
	}{
		{"valid", []string{"Bearer " + valid}, nil, 200, "", "", ""},
		{"scheme case-insensitive", []string{"bEaReR " + valid}, nil, 200, "", "", ""},
		{"has required scope", []string{"Bearer " + valid}, []string{"orders:read"}, 200, "", "", ""},
		{"missing header", nil, nil, 401, "Bearer " + realm, dpopBare, ""},
		{"unsupported scheme", []string{"Basic dXNlcjpwYXNz"}, nil, 401, "Bearer " + realm, dpopBare, ""},
		{"scheme without token", []string{"Bearer"}, nil, 400,
			`Bearer ` + realm + `, error="invalid_request", error_description="malformed Authorization header"`, dpopBare, "invalid_request"},
		{"token with a space", []string{"Bearer " + valid + " x"}, nil, 400,
			`Bearer ` + realm + `, error="invalid_request", error_description="malformed Authorization header"`, dpopBare, "invalid_request"},
		{"two Authorization headers", []string{"Bearer " + valid, "Bearer " + valid}, nil, 400,
			`Bearer ` + realm + `, error="invalid_request", error_description="more than one Authorization header"`, dpopBare, "invalid_request"},
		{"garbage token", []string{"Bearer abc.def.ghi"}, nil, 401,
			`Bearer ` + realm + `, error="invalid_token", error_description="malformed token"`, dpopBare, "invalid_token"},
		{"expired", []string{"Bearer " + expired}, nil, 401,
			`Bearer ` + realm + `, error="invalid_token", error_description="token expired"`, dpopBare, "invalid_token"},
		{"missing scope", []string{"Bearer " + valid}, []string{"orders:read", "orders:write"}, 403,
			`Bearer ` + realm + `, error="insufficient_scope", error_description="the token lacks a required scope", scope="orders:read orders:write"`,
			"", "insufficient_scope"},
		{"DPoP-bound token as Bearer", []string{"Bearer " + bound}, nil, 401,
			`DPoP ` + realm + `, error="invalid_token", error_description="token is DPoP-bound; a DPoP proof is required", algs="ES256 EdDSA RS256 PS256"`,
			"Bearer " + realm, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "https://api.example.test/orders", nil)
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			got := serve(t, v, r, tt.scopes...)
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (challenges %q, body %v)", got.status, tt.wantStatus, got.challenges, got.body)
			}
			if tt.wantStatus == 200 {
				if got.claims == nil || got.claims.Subject != "user-123" {
					t.Errorf("handler claims = %+v, want subject user-123", got.claims)
				}
				return
			}
			if got.claims != nil {
				t.Error("handler was called on a rejected request")
			}
			want := []string{tt.wantChallenge}
			if tt.wantSecond != "" {
				want = append(want, tt.wantSecond)
			}
			if strings.Join(got.challenges, "\n") != strings.Join(want, "\n") {
				t.Errorf("WWW-Authenticate =\n  %q\nwant\n  %q", got.challenges, want)
			}
			if got.body["error"] != tt.wantError {
				t.Errorf("body error = %q, want %q", got.body["error"], tt.wantError)
			}
			if tt.wantError == "" && strings.Contains(got.challenges[0], "error=") {
				t.Errorf("challenge %q has an error code; RFC 6750 §3.1 says none without credentials", got.challenges[0])
			}
		})
	}
}

func TestWriteErrorForeignError(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t, nil)
	rec := httptest.NewRecorder()
	v.WriteError(rec, errors.New("database password is hunter2"))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", rec.Code)
	}
	if body := rec.Body.String(); strings.Contains(body, "hunter2") || !strings.Contains(body, "invalid_token") {
		t.Errorf("body = %q, want invalid_token without the cause", body)
	}
}

func TestChallengeQuoting(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t, func(c *Config) { c.Realm = "a \"quoted\" \\ realm\n" })
	got := v.challenge(SchemeBearer, nil)
	want := `Bearer realm="a \"quoted\" \\ realm"`
	if got != want {
		t.Errorf("challenge() = %q, want %q", got, want)
	}
}

func TestIsB64Token(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"abc", true},
		{"a.b.c", true},
		{"A-Za-z0-9-._~+/", true},
		{"abc==", true},
		{"", false},
		{"=", false},
		{"ab=c", false},
		{"a b", false},
		{"a,b", false},
		{"a\tb", false},
		{"ä", false},
	}
	for _, tt := range tests {
		if got := isB64Token(tt.in); got != tt.want {
			t.Errorf("isB64Token(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFromContextEmpty(t *testing.T) {
	if c, ok := FromContext(t.Context()); ok || c != nil {
		t.Errorf("FromContext(empty) = %v, %v; want nil, false", c, ok)
	}
	want := &Claims{Subject: "s"}
	if c, ok := FromContext(NewContext(t.Context(), want)); !ok || c != want {
		t.Errorf("FromContext(NewContext(c)) = %v, %v; want c, true", c, ok)
	}
}
