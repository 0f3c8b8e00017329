package security

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

var hiddenFieldRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// responseParams extracts the authorization response parameters from p
// whatever the response mode: the query or fragment of a redirect, or
// the hidden fields of a form_post page.
func responseParams(t *testing.T, p latchtest.Page, mode string) url.Values {
	t.Helper()
	switch mode {
	case "form_post":
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `method="post"`) {
			t.Fatalf("want a form_post page, got %d:\n%s", p.Status, p.Body)
		}
		q := url.Values{}
		for _, m := range hiddenFieldRE.FindAllStringSubmatch(p.Body, -1) {
			q.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
		return q
	case "fragment":
		u, err := url.Parse(p.Header.Get("Location"))
		if err != nil || (p.Status != http.StatusFound && p.Status != http.StatusSeeOther) || u.RawQuery != "" {
			t.Fatalf("want a fragment redirect, got %d %q", p.Status, p.Header.Get("Location"))
		}
		q, _ := url.ParseQuery(u.EscapedFragment())
		return q
	default:
		u, err := url.Parse(p.Header.Get("Location"))
		if err != nil || (p.Status != http.StatusFound && p.Status != http.StatusSeeOther) {
			t.Fatalf("want a query redirect, got %d %q", p.Status, p.Header.Get("Location"))
		}
		return u.Query()
	}
}

// TestMixUpIssuerInEveryResponse is RFC 9700 §4.4: a client that talks to
// several authorization servers learns which one answered from the iss
// parameter (RFC 9207 §2). It must be in every authorization response —
// success and error, in each response mode — and equal the issuer.
func TestMixUpIssuerInEveryResponse(t *testing.T) {
	e := start(t)
	signedIn := e.Browser()
	e.IssueCode(signedIn, "spa", latchtest.SPARedirect)
	v := oauth2.GenerateVerifier()
	for _, mode := range []string{"query", "fragment", "form_post"} {
		t.Run(mode+"/success", func(t *testing.T) {
			q := authParams("spa", latchtest.SPARedirect, v)
			q.Set("response_mode", mode)
			got := responseParams(t, signedIn.Get(authorizeURL(e, q)), mode)
			if got.Get("code") == "" || got["iss"] == nil || got.Get("iss") != e.Issuer || got.Get("state") != "st-123" {
				t.Errorf("response %v, want code, state and iss=%s", got, e.Issuer)
			}
		})
		t.Run(mode+"/error before login (prompt=none)", func(t *testing.T) {
			q := authParams("spa", latchtest.SPARedirect, v)
			q.Set("response_mode", mode)
			q.Set("prompt", "none")
			got := responseParams(t, e.Browser().Get(authorizeURL(e, q)), mode)
			if got.Get("error") != "login_required" || got.Get("iss") != e.Issuer || got.Has("code") {
				t.Errorf("response %v, want error=login_required with iss=%s", got, e.Issuer)
			}
		})
		t.Run(mode+"/error after consent denied", func(t *testing.T) {
			b := e.Browser()
			q := authParams("app", appRedirect, v)
			q.Set("response_mode", mode)
			p := b.Get(authorizeURL(e, q))
			p = b.Consent(b.Login(p, "alice", latchtest.AlicePassword), "deny")
			got := responseParams(t, p, mode)
			if got.Get("error") != "access_denied" || got.Get("iss") != e.Issuer || got.Has("code") {
				t.Errorf("response %v, want error=access_denied with iss=%s", got, e.Issuer)
			}
		})
		t.Run(mode+"/error in the request", func(t *testing.T) {
			q := authParams("spa", latchtest.SPARedirect, v)
			q.Set("response_mode", mode)
			q.Set("scope", "openid admin")
			got := responseParams(t, signedIn.Get(authorizeURL(e, q)), mode)
			if got.Get("error") != "invalid_scope" || got.Get("iss") != e.Issuer {
				t.Errorf("response %v, want error=invalid_scope with iss=%s", got, e.Issuer)
			}
		})
	}
}

// TestMixUpIssuerCannotBeInjected: a client-supplied iss parameter in the
// request never replaces Latch's own.
func TestMixUpIssuerCannotBeInjected(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect)
	q := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())
	q.Set("iss", "https://attacker.example")
	got := responseParams(t, b.Get(authorizeURL(e, q)), "query")
	if got["iss"] == nil || len(got["iss"]) != 1 || got.Get("iss") != e.Issuer {
		t.Errorf("iss = %v, want exactly [%s]", got["iss"], e.Issuer)
	}
}

// TestMixUpDiscoveryAndIDToken: discovery tells clients to expect iss
// (RFC 9207 §3), and names this issuer; ID tokens carry the same iss and
// the client as aud, as go-oidc checks (OIDC Core §3.1.3.7).
func TestMixUpDiscoveryAndIDToken(t *testing.T) {
	e := start(t)
	var meta map[string]any
	getJSON(t, e.Issuer+"/.well-known/openid-configuration", &meta)
	if meta["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v, want true", meta["authorization_response_iss_parameter_supported"])
	}
	if meta["issuer"] != e.Issuer {
		t.Errorf("issuer = %v, want %s", meta["issuer"], e.Issuer)
	}
	var asMeta map[string]any
	getJSON(t, e.Issuer+"/.well-known/oauth-authorization-server", &asMeta)
	if asMeta["issuer"] != e.Issuer || asMeta["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("RFC 8414 metadata: issuer %v iss_parameter %v", asMeta["issuer"], asMeta["authorization_response_iss_parameter_supported"])
	}

	ctx := latchtest.ClientContext(t.Context())
	tok, _ := e.CodeFlow(e.Browser(), oidc.ScopeOpenID)
	raw, _ := tok.Extra("id_token").(string)
	provider := e.Provider()
	if _, err := provider.Verifier(&oidc.Config{ClientID: "spa", Now: e.Clock.Now}).Verify(ctx, raw); err != nil {
		t.Fatalf("control: ID token does not verify for spa: %v", err)
	}
	// The same ID token presented to another client (another audience).
	if _, err := provider.Verifier(&oidc.Config{ClientID: "app", Now: e.Clock.Now}).Verify(ctx, raw); err == nil {
		t.Error("spa's ID token verified for client app: aud is not checked")
	}
}
