package security

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

// TestRefererLeakage is RFC 9700 §4.2: a page whose URL or body holds an
// authorization request or a code must not hand it to other sites in the
// Referer header, nor leave it in caches. Every page says
// Referrer-Policy: no-referrer and Cache-Control: no-store; so does the
// redirect that carries the code.
func TestRefererLeakage(t *testing.T) {
	e := start(t)
	for name, p := range hostedPages(t, e) {
		t.Run(name, func(t *testing.T) {
			if got := p.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer", got)
			}
			// A <meta name="referrer"> replaces the header's policy for
			// the document. It may let requests carry Latch's origin,
			// never a path or query to another site.
			for _, m := range metaReferrerRE.FindAllStringSubmatch(p.Body, -1) {
				if !safeReferrerPolicies[m[1]] {
					t.Errorf("<meta name=referrer content=%q> lets URLs with codes or requests leak to other sites", m[1])
				}
			}
			if got := p.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
	t.Run("authorization response redirect", func(t *testing.T) {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
		requireCodeRedirect(t, p, latchtest.SPARedirect)
		if got := p.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy = %q, want no-referrer", got)
		}
		if got := p.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
	})
	t.Run("token response", func(t *testing.T) {
		c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
		resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier))
		if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("exchange: %d %v", resp.StatusCode, body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Errorf("token response Cache-Control %q Pragma %q, want no-store, no-cache (RFC 6749 §5.1)",
				resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
		}
	})
}

var metaReferrerRE = regexp.MustCompile(`<meta name="referrer" content="([^"]*)"`)

// safeReferrerPolicies send no path or query to another origin.
var safeReferrerPolicies = map[string]bool{
	"no-referrer": true, "same-origin": true, "origin": true,
	"strict-origin": true, "origin-when-cross-origin": true, "strict-origin-when-cross-origin": true,
}

// TestAccessTokenOutsideAuthorizationHeader is RFC 9700 §4.2 and RFC 6750
// §2.3/§5.3: an access token in a URL ends up in logs, history and
// Referer headers. Userinfo reads the Authorization header only, so a
// token in the query or the form body is as good as none.
func TestAccessTokenOutsideAuthorizationHeader(t *testing.T) {
	e := start(t)
	tok, _ := e.CodeFlow(e.Browser(), "openid")
	if e.UserinfoStatus(tok.AccessToken) != http.StatusOK {
		t.Fatal("control: the access token is refused in the header")
	}
	p := get(t, e.Issuer+"/userinfo?access_token="+url.QueryEscape(tok.AccessToken), nil)
	if p.Status != http.StatusUnauthorized || strings.Contains(p.Body, "user-alice") {
		t.Errorf("token in the query: %d %s, want 401 and no user data", p.Status, p.Body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/userinfo", strings.NewReader("access_token="+url.QueryEscape(tok.AccessToken)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p = do(t, req)
	if p.Status != http.StatusUnauthorized || strings.Contains(p.Body, "user-alice") {
		t.Errorf("token in the form body: %d %s, want 401 and no user data", p.Status, p.Body)
	}
}

// TestSecretsNotLogged: codes, tokens, passwords and client secrets never
// reach the audit or operational logs, where they would leak to whoever
// reads them (RFC 9700 §4.2, in spirit).
func TestSecretsNotLogged(t *testing.T) {
	e := start(t)
	b := e.Browser()
	c := e.IssueCode(b, "app", appRedirect)
	resp, body := e.PostForm("/token", exchangeForm("app", c.Code, appRedirect, c.Verifier), withSecret(e, "app"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, body)
	}
	e.PostForm("/token", exchangeForm("app", c.Code, appRedirect, c.Verifier), withSecret(e, "app")) // a replay, logged
	// The device grant (RFC 8628): the codes, a wrong code entered, a
	// replayed device_code, all logged events.
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	db := e.Browser()
	dp := db.Login(db.Get(da["verification_uri_complete"].(string)), "alice", latchtest.AlicePassword)
	dp = db.EnterUserCode(dp, "BBBB-BBBB")
	db.DecideDevice(db.EnterUserCode(dp, da["user_code"].(string)), "allow")
	_, dbody := pollDevice(e, da["device_code"].(string))
	pollDevice(e, da["device_code"].(string))
	secrets := map[string]string{
		"code": c.Code, "verifier": c.Verifier, "password": latchtest.AlicePassword,
		"client secret": e.Secrets["app"],
		"access token":  body["access_token"].(string), "ID token": body["id_token"].(string),
		"device_code": da["device_code"].(string), "user_code": da["user_code"].(string),
		"user_code (canonical)": strings.ReplaceAll(da["user_code"].(string), "-", ""), "wrong user code": "BBBBBBBB",
		"device access token": dbody["access_token"].(string),
	}
	logs := e.AuditLog() + e.OperationalLog()
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
}
