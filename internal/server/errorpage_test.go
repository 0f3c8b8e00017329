package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
)

// authorizeURL is an authorization request for the test clients with
// the given client_id and redirect_uri ("" leaves a parameter out).
func authorizeURL(e *latchtest.Env, clientID, redirectURI string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "scope": {"openid"}, "state": {"st"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	if clientID != "" {
		q.Set("client_id", clientID)
	}
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	for k, v := range extra {
		q[k] = v
	}
	return e.Issuer + "/authorize?" + q.Encode()
}

// logLine returns the operational log line with msg "request failed" and
// the given request_id, decoded.
func logLine(t *testing.T, e *latchtest.Env, requestID string) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(e.OperationalLog(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request failed" && m["request_id"] == requestID {
			return m
		}
	}
	t.Fatalf("no \"request failed\" log line with request_id %s in:\n%s", requestID, e.OperationalLog())
	return nil
}

// TestAuthorizeErrorPage: an authorization request that cannot be
// redirected (unknown client, unregistered redirect URI, no client_id)
// gets Latch's error page, never a redirect. In development mode the page
// shows the client ID, the redirect URI received, those registered and
// the fix; in production only a plain message and the request ID, which
// the log line carries too, with the client ID and redirect URI.
func TestAuthorizeErrorPage(t *testing.T) {
	const badRedirect = "http://spa.test:3000/callbak"
	cases := []struct {
		name, clientID, redirectURI string
		plain                       string   // production message
		dev                         []string // also on the dev page
	}{
		{"unregistered redirect URI", "spa", badRedirect,
			"The application asked to send you back to an address it has not registered.",
			[]string{badRedirect, latchtest.SPARedirect, "latch client update spa --redirect-uri " + latchtest.SPARedirect + "," + badRedirect}},
		{"unknown client", "ghost-app", latchtest.SPARedirect,
			"The application that sent you here is not registered with this server.",
			[]string{"ghost-app", latchtest.SPARedirect, "latch client create --id ghost-app"}},
		{"no client_id", "", latchtest.SPARedirect,
			"The application sent an invalid sign-in request.",
			[]string{latchtest.SPARedirect, "Send client_id"}},
	}
	for _, mode := range []string{"production", "dev"} {
		e := latchtest.Start(t, func(c *config.Config) { c.Dev = mode == "dev" })
		for _, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				p := e.Browser().Get(authorizeURL(e, tc.clientID, tc.redirectURI, nil))
				if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" || p.URL.Host != strings.TrimPrefix(e.Issuer, "http://") {
					t.Fatalf("status %d, Location %q, URL %s: want Latch's 400 error page", p.Status, p.Header.Get("Location"), p.URL)
				}
				id := p.Header.Get("X-Request-Id")
				if id == "" || !strings.Contains(p.Body, "<code>"+id+"</code>") {
					t.Errorf("the page does not show the request ID %q", id)
				}
				line := logLine(t, e, id)
				if line["client_id"] != tc.clientID || line["redirect_uri"] != tc.redirectURI {
					t.Errorf("log line client_id=%v redirect_uri=%v, want %q %q", line["client_id"], line["redirect_uri"], tc.clientID, tc.redirectURI)
				}
				html := strings.ReplaceAll(p.Body, "&#43;", "+")
				if mode == "dev" {
					for _, want := range append(tc.dev, "Details for developers", "Likely fix") {
						if !strings.Contains(html, want) {
							t.Errorf("dev page lacks %q:\n%s", want, p.Body)
						}
					}
					return
				}
				if !strings.Contains(html, tc.plain) {
					t.Errorf("production page lacks the plain message %q:\n%s", tc.plain, p.Body)
				}
				// Nothing from the request or the registration is echoed.
				for _, leak := range []string{"spa.test", "ghost-app", "Details for developers", "latch client", "invalid_request", "redirect_uri"} {
					if strings.Contains(html, leak) {
						t.Errorf("production page shows %q:\n%s", leak, p.Body)
					}
				}
			})
		}
	}
}

// TestPagesFollowLanguage: the hosted pages are in the language of
// ui_locales (OIDC Core §3.1.2.1), carried through the sealed interaction
// to the pages after the first, else of Accept-Language, else English.
func TestPagesFollowLanguage(t *testing.T) {
	e := latchtest.Start(t)
	get := func(b *latchtest.Browser, u, acceptLanguage string) latchtest.Page {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if acceptLanguage != "" {
			req.Header.Set("Accept-Language", acceptLanguage)
		}
		return b.Do(req)
	}
	lang := func(p latchtest.Page) string {
		_, rest, _ := strings.Cut(p.Body, `<html lang="`)
		l, _, _ := strings.Cut(rest, `"`)
		return l
	}
	b := e.Browser()
	tests := []struct {
		name, uiLocales, accept, want, text string
	}{
		{"default", "", "", "en", ">Sign in</button>"},
		{"accept-language", "", "de-DE,de;q=0.9,en;q=0.5", "de", ">Anmelden</button>"},
		{"ui_locales wins", "fr-CA de", "de", "fr", ">Se connecter</button>"},
		{"unsupported ui_locales", "ja", "de", "de", ">Anmelden</button>"},
	}
	for _, tt := range tests {
		extra := url.Values{}
		if tt.uiLocales != "" {
			extra.Set("ui_locales", tt.uiLocales)
		}
		p := get(b, authorizeURL(e, "spa", latchtest.SPARedirect, extra), tt.accept)
		if !latchtest.IsLoginPage(p) || lang(p) != tt.want || !strings.Contains(p.Body, tt.text) {
			t.Errorf("%s: login page lang %q (want %q), has %q: %v", tt.name, lang(p), tt.want, tt.text, strings.Contains(p.Body, tt.text))
		}
		if !strings.Contains(p.Header.Get("Vary"), "Accept-Language") {
			t.Errorf("%s: Vary = %q, want Accept-Language", tt.name, p.Header.Get("Vary"))
		}
	}

	// ui_locales travels in the sealed interaction: the page after a
	// failed sign-in (a POST without Accept-Language) is still French,
	// and so is the server's message on it.
	p := get(b, authorizeURL(e, "spa", latchtest.SPARedirect, url.Values{"ui_locales": {"fr"}}), "")
	p = b.Login(p, "alice", "wrong password")
	if lang(p) != "fr" || !strings.Contains(p.Body, "Nom d’utilisateur ou mot de passe incorrect.") {
		t.Errorf("after a failed sign-in: lang %q, want fr with the translated error:\n%s", lang(p), p.Body)
	}

	// The consent page after signing in keeps ui_locales too.
	b2 := e.Browser()
	p = get(b2, authorizeURL(e, "web", latchtest.WebRedirect, url.Values{"ui_locales": {"de"}}), "fr")
	p = b2.Login(p, "alice", latchtest.AlicePassword)
	if !latchtest.IsConsentPage(p) || lang(p) != "de" || !strings.Contains(p.Body, ">Erlauben</button>") {
		t.Errorf("consent page: lang %q, want de:\n%s", lang(p), p.Body)
	}

	// Error pages follow Accept-Language.
	p = get(b, authorizeURL(e, "ghost-app", latchtest.SPARedirect, nil), "fr;q=0.4, de")
	if lang(p) != "de" || !strings.Contains(p.Body, "Die Anwendung, die Sie hierher geschickt hat, ist bei diesem Server nicht registriert.") {
		t.Errorf("error page: lang %q, want German:\n%s", lang(p), p.Body)
	}
	// ... unless the refused authorization request named ui_locales.
	p = get(b, authorizeURL(e, "spa", "http://spa.test:3000/other", url.Values{"ui_locales": {"fr"}}), "de")
	if lang(p) != "fr" || !strings.Contains(p.Body, "L’application a demandé à vous renvoyer vers une adresse qu’elle n’a pas enregistrée.") {
		t.Errorf("error page with ui_locales=fr: lang %q:\n%s", lang(p), p.Body)
	}
}

// acceptLanguage sends every request of a latchtest.Browser with one
// Accept-Language header, as a browser does.
type acceptLanguage struct {
	base  http.RoundTripper
	value string
}

func (a acceptLanguage) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Accept-Language", a.value)
	base := a.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// TestLockoutAndLogoutFollowUILocales: the login page's lockout notice
// (HTTP 429) and the RP-Initiated Logout pages are in the language of the
// request's ui_locales (OIDC Core §3.1.2.1; RP-Initiated Logout 1.0 §2)
// before the browser's English Accept-Language, like every other hosted
// page; the logout request's ui_locales is carried through the
// confirmation to the signed-out page.
func TestLockoutAndLogoutFollowUILocales(t *testing.T) {
	e := startLifecycle(t)
	english := func() *latchtest.Browser {
		b := e.Browser()
		b.Client.Transport = acceptLanguage{base: b.Client.Transport, value: "en-US,en;q=0.9"}
		return b
	}
	htmlLang := func(p latchtest.Page) string {
		_, rest, _ := strings.Cut(p.Body, `<html lang="`)
		l, _, _ := strings.Cut(rest, `"`)
		return l
	}

	// The lockout: five failures with ui_locales=de.
	f := &loginFlow{t: t, e: e, b: english(), authURL: authorizeURL(e, "spa", latchtest.SPARedirect, url.Values{"ui_locales": {"de"}})}
	var p latchtest.Page
	for range 5 {
		p = f.attempt("alice", "wrong", "")
	}
	wantLocked(t, "lockout with ui_locales=de", p, 900)
	if htmlLang(p) != "de" || !strings.Contains(p.Body, "Anmeldung vorübergehend gesperrt") || !strings.Contains(p.Body, ">Anmelden</button>") {
		t.Errorf("lockout page with ui_locales=de and an English Accept-Language: lang %q, want German:\n%s", htmlLang(p), p.Body)
	}

	// RP-Initiated Logout: the confirmation page and, after it, the
	// signed-out page (once alice's lockout has passed).
	e.Clock.Advance(16 * time.Minute)
	endpoint := endSession(t, e)
	b := english()
	signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	p = b.Get(logoutURL(endpoint, "ui_locales", "de"))
	if p.Status != http.StatusOK || htmlLang(p) != "de" || !strings.Contains(p.Body, ">Abmelden?</h1>") {
		t.Errorf("logout confirmation with ui_locales=de: %d, lang %q, want German:\n%s", p.Status, htmlLang(p), p.Body)
	}
	p = b.Post(e.Issuer+"/logout/confirm", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"logout"}})
	if p.Status != http.StatusOK || htmlLang(p) != "de" || !strings.Contains(p.Body, "Sie sind abgemeldet") {
		t.Errorf("signed-out page after confirming with ui_locales=de: %d, lang %q, want German:\n%s", p.Status, htmlLang(p), p.Body)
	}
	// Signed out already: the signed-out page at once, in German too.
	p = b.Get(logoutURL(endpoint, "ui_locales", "fr-CA de"))
	if p.Status != http.StatusOK || htmlLang(p) != "fr" {
		t.Errorf("signed-out page with ui_locales=fr-CA de: %d, lang %q, want fr", p.Status, htmlLang(p))
	}
	// Without ui_locales the Accept-Language decides.
	if p = b.Get(logoutURL(endpoint)); htmlLang(p) != "en" {
		t.Errorf("signed-out page without ui_locales: lang %q, want en (Accept-Language)", htmlLang(p))
	}
}
