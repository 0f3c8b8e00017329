package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/token"
)

// TestStateReturnedUnchanged is RFC 9700 §4.7: the client's CSRF defence
// on its redirect endpoint is state (or PKCE), which only works if the
// server returns it byte for byte, in success and error responses and in
// every response mode (RFC 6749 §4.1.2). The example SPA and BFF then
// refuse a response whose state is not theirs (see their own tests).
func TestStateReturnedUnchanged(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect)
	states := []string{
		"plain",
		"with spaces & = ? # / + % ;",
		"&code=attacker-code&iss=https://attacker.example",
		"\u00e9tat-\u2713-\U0001F511",
		`{"json":"value","n":1}`,
		"padding==",
		strings.Repeat("s", 2000),
	}
	v := oauth2.GenerateVerifier()
	for _, st := range states {
		for _, mode := range []string{"query", "fragment", "form_post"} {
			name := mode + "/" + st
			if len(name) > 40 {
				name = name[:40]
			}
			t.Run(name, func(t *testing.T) {
				q := authParams("spa", latchtest.SPARedirect, v)
				q.Set("state", st)
				q.Set("response_mode", mode)
				got := responseParams(t, b.Get(authorizeURL(e, q)), mode)
				if len(got["state"]) != 1 || got.Get("state") != st || got.Get("code") == "" || len(got["code"]) != 1 || got.Get("iss") != e.Issuer {
					t.Errorf("response %v, want state %q returned once, one code and iss", got, st)
				}
				q.Set("scope", "openid admin") // an error response
				got = responseParams(t, b.Get(authorizeURL(e, q)), mode)
				if len(got["state"]) != 1 || got.Get("state") != st || got.Has("code") {
					t.Errorf("error response %v, want state %q returned once and no code", got, st)
				}
			})
		}
	}
	t.Run("no state sent, none invented", func(t *testing.T) {
		q := authParams("spa", latchtest.SPARedirect, v)
		q.Del("state")
		if got := responseParams(t, b.Get(authorizeURL(e, q)), "query"); got.Has("state") {
			t.Errorf("response %v has a state the client never sent", got)
		}
	})
}

// crossOrigin sets the headers a browser sends on a form posted from
// another site.
func crossOrigin(kind string) func(*http.Request) {
	return func(r *http.Request) {
		switch kind {
		case "Origin":
			r.Header.Set("Origin", "https://attacker.example")
		case "Origin null":
			r.Header.Set("Origin", "null")
		case "Sec-Fetch-Site cross-site":
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		case "Sec-Fetch-Site same-site":
			r.Header.Set("Sec-Fetch-Site", "same-site")
		}
	}
}

// postForm posts form to path from browser b with extra request changes.
func postForm(t *testing.T, b *latchtest.Browser, u string, form url.Values, mutate ...func(*http.Request)) latchtest.Page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mutate {
		m(req)
	}
	return b.Do(req)
}

// requireNotSignedIn asserts that b has no session: a fresh authorization
// request shows the login page.
func requireNotSignedIn(t *testing.T, e *latchtest.Env, b *latchtest.Browser) {
	t.Helper()
	p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	if !latchtest.IsLoginPage(p) {
		t.Fatalf("the browser is signed in after the attack (got %d, Location %q)", p.Status, p.Header.Get("Location"))
	}
}

// TestLoginFormCSRF: a hostile page cannot submit Latch's login form
// (RFC 9700 §4.7 applied to the server's own forms; login CSRF). Two
// independent defences: the standard library's cross-origin check
// (Origin / Sec-Fetch-Site), and the form's sealed interaction bound to a
// per-browser cookie. Each attack gets the error page and signs nobody in.
func TestLoginFormCSRF(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	fresh := func() (*latchtest.Browser, string) {
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
		return b, latchtest.Hidden(t, p.Body)
	}
	creds := func(in string) url.Values {
		return url.Values{"interaction": {in}, "username": {"alice"}, "password": {latchtest.AlicePassword}}
	}
	for _, kind := range []string{"Origin", "Origin null", "Sec-Fetch-Site cross-site", "Sec-Fetch-Site same-site"} {
		t.Run("cross-origin post: "+kind, func(t *testing.T) {
			b, in := fresh()
			p := postForm(t, b, e.Issuer+"/login", creds(in), crossOrigin(kind))
			requireErrorPage(t, p)
			if _, set := cookie(p, "latch_session"); set {
				t.Error("a session cookie was set")
			}
			requireNotSignedIn(t, e, b)
		})
	}
	t.Run("no CSRF cookie (interaction replayed from elsewhere)", func(t *testing.T) {
		_, in := fresh()
		victim := e.Browser() // has never visited Latch: no latch_csrf cookie
		requireErrorPage(t, postForm(t, victim, e.Issuer+"/login", creds(in)))
		requireNotSignedIn(t, e, victim)
	})
	t.Run("interaction of another browser", func(t *testing.T) {
		_, attackerIn := fresh()
		victim, _ := fresh() // has its own CSRF cookie
		requireErrorPage(t, postForm(t, victim, e.Issuer+"/login", creds(attackerIn)))
		requireNotSignedIn(t, e, victim)
	})
	t.Run("tampered interaction", func(t *testing.T) {
		b, in := fresh()
		for _, bad := range tamper(in) {
			requireErrorPage(t, postForm(t, b, e.Issuer+"/login", creds(bad)))
		}
		requireNotSignedIn(t, e, b)
	})
	t.Run("expired interaction", func(t *testing.T) {
		b, in := fresh()
		e.Clock.Advance(16 * time.Minute)
		requireErrorPage(t, postForm(t, b, e.Issuer+"/login", creds(in)))
		requireNotSignedIn(t, e, b)
	})
	t.Run("logout interaction posted to login", func(t *testing.T) {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		in := latchtest.Hidden(t, b.Get(e.Issuer+"/logout").Body)
		requireErrorPage(t, postForm(t, b, e.Issuer+"/login", creds(in)))
	})
	t.Run("GET with the form's fields", func(t *testing.T) {
		b, in := fresh()
		requireErrorPage(t, b.Get(e.Issuer+"/login?"+creds(in).Encode()))
		requireNotSignedIn(t, e, b)
	})
	t.Run("control: the genuine post signs in", func(t *testing.T) {
		b, in := fresh()
		requireCodeRedirect(t, postForm(t, b, e.Issuer+"/login", creds(in)), latchtest.SPARedirect)
	})
}

// TestCrossOriginAuthorizePOST: OIDC Core §3.1.2.1 requires the
// authorization endpoint to accept POST, which an RP sends from its own
// origin. The cross-origin guard belongs to Latch's own forms only: a
// cross-site POST /authorize is answered like the GET (here a code for
// the signed-in user), while the same headers on the login form are
// refused (TestLoginFormCSRF).
func TestCrossOriginAuthorizePOST(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect) // signed in
	for _, kind := range []string{"Origin", "Origin null", "Sec-Fetch-Site cross-site", "Sec-Fetch-Site same-site"} {
		t.Run(kind, func(t *testing.T) {
			p := postForm(t, b, e.Issuer+"/authorize", authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()), crossOrigin(kind))
			if p.Status != http.StatusSeeOther {
				t.Fatalf("cross-origin POST /authorize: status %d, want 303 to the client", p.Status)
			}
			requireCodeRedirect(t, p, latchtest.SPARedirect)
		})
	}
	t.Run("without a session: the login page", func(t *testing.T) {
		p := postForm(t, e.Browser(), e.Issuer+"/authorize", authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()), crossOrigin("Origin"))
		if !latchtest.IsLoginPage(p) {
			t.Fatalf("cross-origin POST /authorize without a session: status %d, want the login page", p.Status)
		}
	})
}

// tamper returns corrupted copies of a sealed interaction. (The last
// base64url character may carry unused bits, so changing it need not
// change the sealed bytes; the one before it always does.)
func tamper(in string) []string {
	flip := func(i int) string {
		b := []byte(in)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	return []string{"", "x", in[:len(in)-1], in + "A", flip(0), flip(len(in) / 2), flip(len(in) - 2), in + in}
}

// TestConsentFormCSRF: the consent form cannot be submitted cross-site,
// from another browser, by another user, or after expiry; no consent is
// recorded and no code issued.
func TestConsentFormCSRF(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	consentPage := func() (*latchtest.Browser, string) {
		b := e.Browser()
		p := b.Login(b.Get(authorizeURL(e, authParams("app", appRedirect, v))), "alice", latchtest.AlicePassword)
		if !latchtest.IsConsentPage(p) {
			t.Fatalf("setup: want the consent page, got %d", p.Status)
		}
		return b, latchtest.Hidden(t, p.Body)
	}
	allow := func(in string) url.Values { return url.Values{"interaction": {in}, "decision": {"allow"}} }
	requireNoConsent := func(t *testing.T) {
		t.Helper()
		if _, err := e.Store.GetConsent(t.Context(), "user-alice", "app"); err == nil {
			t.Fatal("a consent was recorded")
		}
	}
	for _, kind := range []string{"Origin", "Sec-Fetch-Site cross-site"} {
		t.Run("cross-origin post: "+kind, func(t *testing.T) {
			b, in := consentPage()
			requireErrorPage(t, postForm(t, b, e.Issuer+"/consent", allow(in), crossOrigin(kind)))
			requireNoConsent(t)
		})
	}
	t.Run("interaction of another browser", func(t *testing.T) {
		_, in := consentPage()
		other := e.Browser()
		e.IssueCode(other, "spa", latchtest.SPARedirect) // alice, signed in elsewhere
		requireErrorPage(t, postForm(t, other, e.Issuer+"/consent", allow(in)))
		requireNoConsent(t)
	})
	t.Run("tampered interaction", func(t *testing.T) {
		b, in := consentPage()
		for _, bad := range tamper(in) {
			requireErrorPage(t, postForm(t, b, e.Issuer+"/consent", allow(bad)))
		}
		requireNoConsent(t)
	})
	t.Run("expired interaction", func(t *testing.T) {
		b, in := consentPage()
		e.Clock.Advance(16 * time.Minute)
		requireErrorPage(t, postForm(t, b, e.Issuer+"/consent", allow(in)))
		requireNoConsent(t)
	})
	t.Run("signed out in between", func(t *testing.T) {
		b, in := consentPage()
		jar := b.Client.Jar
		u, _ := url.Parse(e.Issuer)
		jar.SetCookies(u, []*http.Cookie{{Name: "latch_session", Value: "", MaxAge: -1}})
		requireErrorPage(t, postForm(t, b, e.Issuer+"/consent", allow(in)))
		requireNoConsent(t)
	})
	t.Run("control: the genuine post", func(t *testing.T) {
		b, in := consentPage()
		requireCodeRedirect(t, postForm(t, b, e.Issuer+"/consent", allow(in)), appRedirect)
	})
}

// TestLogoutFormCSRF: a hostile page cannot sign the user out by posting
// the logout confirmation, nor by a bare link (without a valid
// id_token_hint Latch asks the user first).
func TestLogoutFormCSRF(t *testing.T) {
	e := start(t)
	var action string
	signedIn := func() (*latchtest.Browser, string) {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		p := b.Get(e.Issuer + "/logout")
		if strings.Contains(p.Body, `class="error-title"`) || p.Status != http.StatusOK {
			t.Fatalf("setup: logout page %d", p.Status)
		}
		action = formAction(t, p.Body)
		return b, latchtest.Hidden(t, p.Body)
	}
	requireSignedIn := func(t *testing.T, b *latchtest.Browser) {
		t.Helper()
		requireCodeRedirect(t, b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))), latchtest.SPARedirect)
	}
	confirm := func(in string) url.Values { return url.Values{"interaction": {in}, "decision": {"logout"}} }
	t.Run("a bare link asks first", func(t *testing.T) {
		b, _ := signedIn()
		requireSignedIn(t, b)
	})
	t.Run("cross-origin post to the end_session endpoint", func(t *testing.T) {
		// RP-Initiated Logout §2 lets an RP POST here; without a valid
		// id_token_hint it only leads to the confirmation page.
		b, _ := signedIn()
		p := postForm(t, b, e.Issuer+"/logout", url.Values{"client_id": {"spa"}}, crossOrigin("Origin"))
		if loc := p.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, e.Issuer+"/") && !strings.HasPrefix(loc, "/") {
			t.Errorf("redirects off Latch to %q", loc)
		}
		requireSignedIn(t, b)
	})
	t.Run("cross-origin post", func(t *testing.T) {
		b, in := signedIn()
		requireErrorPage(t, postForm(t, b, action, confirm(in), crossOrigin("Origin")))
		requireSignedIn(t, b)
	})
	t.Run("interaction of another browser", func(t *testing.T) {
		_, in := signedIn()
		victim, _ := signedIn()
		requireErrorPage(t, postForm(t, victim, action, confirm(in)))
		requireSignedIn(t, victim)
	})
	t.Run("login interaction posted to logout", func(t *testing.T) {
		b, _ := signedIn()
		other := e.Browser()
		in := latchtest.Hidden(t, other.Get(authorizeURL(e, authParams("app", appRedirect, oauth2.GenerateVerifier()))).Body)
		requireErrorPage(t, postForm(t, b, action, confirm(in)))
		requireSignedIn(t, b)
	})
	t.Run("control: the genuine confirmation signs out", func(t *testing.T) {
		b, in := signedIn()
		postForm(t, b, action, confirm(in))
		requireNotSignedIn(t, e, b)
	})
}

// TestLogoutCSRFWithStaleHint (RP-Initiated Logout 1.0 §2–3): a valid
// id_token_hint lets Latch sign out without asking, so a hostile page
// holding any genuine ID token of the victim — from a session that has
// since ended, from the victim's other browser, or issued to another
// client than the client_id it names — would sign the victim out by a
// bare link. Only a hint whose sid is the browser's current session (and
// whose aud is client_id when one is given) skips the confirmation;
// otherwise the victim is asked and stays signed in.
func TestLogoutCSRFWithStaleHint(t *testing.T) {
	e := start(t)
	idToken := func(tok *oauth2.Token) string { return tok.Extra("id_token").(string) }
	logout := func(params ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(params); i += 2 {
			q.Set(params[i], params[i+1])
		}
		return e.Issuer + "/logout?" + q.Encode()
	}
	requireSignedIn := func(t *testing.T, b *latchtest.Browser) {
		t.Helper()
		requireCodeRedirect(t, b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))), latchtest.SPARedirect)
	}
	requireAsked := func(t *testing.T, p latchtest.Page) {
		t.Helper()
		if p.Header.Get("Location") != "" || !strings.Contains(p.Body, `name="decision"`) {
			if !strings.Contains(p.Body, `class="error-title"`) {
				t.Fatalf("status %d Location %q: want the confirmation (or error) page, not a sign-out", p.Status, p.Header.Get("Location"))
			}
		}
	}

	t.Run("ID tokens carry a public sid, not the cookie or its hash", func(t *testing.T) {
		b := e.Browser()
		tok, _ := e.CodeFlow(b, "openid")
		_, claims := latchtest.DecodeJWT(t, idToken(tok))
		sid, _ := claims["sid"].(string)
		cookie := sessionOf(t, e, b)
		if sid == "" || sid == cookie || sid == token.Hash(cookie) {
			t.Fatalf("sid = %q (cookie %q): want a non-empty id unrelated to the cookie", sid, cookie)
		}
		thief := e.Browser()
		plant(t, e, thief, "latch_session", sid)
		requireNotSignedIn(t, e, thief)
	})
	t.Run("hint of a session that already ended", func(t *testing.T) {
		b := e.Browser()
		old, _ := e.CodeFlow(b, "openid")
		p := b.Get(logout("id_token_hint", idToken(old)))
		if strings.Contains(p.Body, `name="decision"`) {
			t.Fatal("setup: the current session's hint asked for confirmation")
		}
		requireNotSignedIn(t, e, b)
		e.CodeFlow(b, "openid") // the victim signs in again: a new session
		requireAsked(t, b.Get(logout("id_token_hint", idToken(old), "post_logout_redirect_uri", "http://spa.test:3000/")))
		requireSignedIn(t, b)
	})
	t.Run("hint of the same user's session in another browser", func(t *testing.T) {
		other := e.Browser()
		tok, _ := e.CodeFlow(other, "openid")
		victim := e.Browser()
		e.CodeFlow(victim, "openid")
		requireAsked(t, victim.Get(logout("id_token_hint", idToken(tok))))
		requireSignedIn(t, victim)
		requireSignedIn(t, other)
	})
	t.Run("hint issued to another client than client_id", func(t *testing.T) {
		b := e.Browser()
		e.CodeFlow(b, "openid")
		iss := e.IssueCode(b, "api-client", apiClientRedirect)
		tok, err := iss.Conf.Exchange(t.Context(), iss.Code, oauth2.VerifierOption(iss.Verifier))
		if err != nil {
			t.Fatal(err)
		}
		requireAsked(t, b.Get(logout("id_token_hint", idToken(tok), "client_id", "spa", "post_logout_redirect_uri", "http://spa.test:3000/")))
		requireSignedIn(t, b)
	})
	t.Run("control: this session's hint signs out at once", func(t *testing.T) {
		b := e.Browser()
		tok, _ := e.CodeFlow(b, "openid")
		p := b.Get(logout("id_token_hint", idToken(tok), "client_id", "spa", "post_logout_redirect_uri", "http://spa.test:3000/"))
		if !strings.HasPrefix(p.Header.Get("Location"), "http://spa.test:3000/") {
			t.Fatalf("status %d Location %q, want the post-logout redirect", p.Status, p.Header.Get("Location"))
		}
		requireNotSignedIn(t, e, b)
	})
}
