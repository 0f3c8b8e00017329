package verify

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestRequireAuthentication: RFC 9470 §3. A valid token whose acr is not
// acceptable, or whose auth_time is older than the route's max age, is
// answered 401 with error="insufficient_user_authentication" and the
// acr_values / max_age a step-up must reach; a token that meets the
// requirement reaches the handler.
func TestRequireAuthentication(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, nil)
	now := ti.clock.Now()
	const pwd, mfa = "urn:latch:acr:pwd", "urn:latch:acr:mfa"
	token := func(acr string, authAge time.Duration) string {
		c := ti.claims()
		if acr != "" {
			c["acr"] = acr
		}
		delete(c, "auth_time")
		if authAge >= 0 {
			c["auth_time"] = now.Add(-authAge).Unix()
		}
		return mint(t, k, c)
	}
	realm := `realm="` + testAudience + `"`
	stepUp := Requirement{ACR: []string{mfa}, MaxAge: 10 * time.Minute}
	tests := []struct {
		name          string
		token         string
		req           Requirement
		wantStatus    int
		wantChallenge string
	}{
		{"mfa, recent", token(mfa, time.Minute), stepUp, 200, ""},
		{"nothing required", token("", -1), Requirement{}, 200, ""},
		{"pwd where mfa is required", token(pwd, time.Minute), stepUp, 401,
			`Bearer ` + realm + `, error="insufficient_user_authentication", error_description="a stronger authentication is required", acr_values="` + mfa + `", max_age="600"`},
		{"no acr", token("", time.Minute), Requirement{ACR: []string{mfa, "urn:latch:acr:phr"}}, 401,
			`Bearer ` + realm + `, error="insufficient_user_authentication", error_description="a stronger authentication is required", acr_values="` + mfa + ` urn:latch:acr:phr"`},
		{"too old", token(mfa, time.Hour), stepUp, 401,
			`Bearer ` + realm + `, error="insufficient_user_authentication", error_description="a more recent authentication is required", acr_values="` + mfa + `", max_age="600"`},
		{"no auth_time", token(mfa, -1), Requirement{MaxAge: time.Minute}, 401,
			`Bearer ` + realm + `, error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age="60"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reached := false
			h := v.Middleware()(v.RequireAuthentication(tc.req)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })))
			r := httptest.NewRequest("GET", "https://api.example/orders", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.wantStatus || reached != (tc.wantStatus == 200) {
				t.Fatalf("status %d (handler reached: %v), want %d", rec.Code, reached, tc.wantStatus)
			}
			if got := rec.Header().Values("WWW-Authenticate"); tc.wantChallenge != "" && (len(got) == 0 || got[0] != tc.wantChallenge) {
				t.Errorf("WWW-Authenticate = %q\nwant first %q", got, tc.wantChallenge)
			}
		})
	}
	t.Run("without Middleware", func(t *testing.T) {
		rec := httptest.NewRecorder()
		v.RequireAuthentication(stepUp)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("no claims in context: %d, want 401", rec.Code)
		}
	})
	t.Run("claims carry acr", func(t *testing.T) {
		c, err := v.Verify(t.Context(), token(mfa, 0))
		if err != nil || c.ACR != mfa {
			t.Errorf("Verify: ACR = %q, %v; want %q", c.ACR, err, mfa)
		}
	})
}
