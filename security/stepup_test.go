package security

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/verify"
)

// TestStepUpRoundTrip is RFC 9470 end to end: a resource server built on
// verify requires acr mfa on one route. A token from a password-only
// sign-in gets 401 insufficient_user_authentication with the acr_values
// to ask for; the client sends them in a new authorization request,
// Latch steps the session up with the second factor, and the new token
// is accepted. A token older than the route's max_age gets the challenge
// with max_age, and max_age in the authorization request makes Latch
// ask again.
func TestStepUpRoundTrip(t *testing.T) {
	e := start(t)
	v := resourceServer(t, e, ordersAPI)
	api := httptest.NewServer(v.Middleware()(v.RequireAuthentication(verify.Requirement{
		ACR: []string{"urn:latch:acr:mfa", "urn:latch:acr:phr"}, MaxAge: 10 * time.Minute,
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))))
	t.Cleanup(api.Close)
	call := func(token string) (int, string) {
		req, _ := http.NewRequest("GET", api.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	var secret []byte // the TOTP secret, once enrolled
	tokenFor := func(b *latchtest.Browser, extra url.Values) string {
		verifier := oauth2.GenerateVerifier()
		q := authParams("api-client", apiClientRedirect, verifier)
		q.Set("resource", ordersAPI)
		for k, x := range extra {
			q[k] = x
		}
		p := signIn(b, authorizeURL(e, q))
		if isCodePage(p) {
			p = submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now()))
		}
		code := requireCodeRedirect(t, p, apiClientRedirect).Get("code")
		resp, body := e.PostForm("/token", exchangeForm("api-client", code, apiClientRedirect, verifier))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", resp.StatusCode, body)
		}
		return body["access_token"].(string)
	}

	b := e.Browser()
	accountPage(t, e, b) // a password-only session
	secret, _ = enrolTOTP(t, e, b)
	e.Clock.Advance(mfa.Period)

	status, challenge := call(tokenFor(b, nil))
	m := regexp.MustCompile(`error="insufficient_user_authentication".*acr_values="([^"]+)"`).FindStringSubmatch(challenge)
	if status != http.StatusUnauthorized || m == nil {
		t.Fatalf("password-only token: %d %q, want 401 with the RFC 9470 challenge", status, challenge)
	}
	// The client steps up with what the challenge asked for.
	if status, challenge = call(tokenFor(b, url.Values{"acr_values": {m[1]}})); status != http.StatusOK {
		t.Fatalf("after step-up: %d %q, want 200", status, challenge)
	}
	// Eleven minutes on, the session's sign-in is too old for the route.
	e.Clock.Advance(11 * time.Minute)
	tok := tokenFor(b, nil) // SSO: the old sign-in, acr mfa
	status, challenge = call(tok)
	if status != http.StatusUnauthorized || !regexp.MustCompile(`max_age="600"`).MatchString(challenge) {
		t.Fatalf("stale sign-in: %d %q, want 401 with max_age", status, challenge)
	}
	p := b.Get(authorizeURL(e, func() url.Values {
		q := authParams("api-client", apiClientRedirect, oauth2.GenerateVerifier())
		q.Set("max_age", "600")
		return q
	}()))
	if !latchtest.IsLoginPage(p) {
		t.Fatalf("max_age=600 after 11 minutes: want the login page, got %d", p.Status)
	}
	if status, _ = call(tokenFor(b, url.Values{"max_age": {"600"}})); status != http.StatusOK {
		t.Errorf("after a fresh sign-in: %d, want 200", status)
	}
}
