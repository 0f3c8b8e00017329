package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// TestCIMDSignIn: a client nobody registered signs a user in with its
// client ID metadata document (an https URL as client_id, fetched from a
// test server with a test CA): the hosted login page, a consent page
// that names the redirect host and warns about localhost-only redirects,
// then golang.org/x/oauth2's code exchange with PKCE and a refresh.
// Consent is asked again on the next sign-in, and the client is listed
// with origin cimd.
func TestCIMDSignIn(t *testing.T) {
	h := latchtest.NewDocumentHost(t)
	id := h.Base + "/oauth/client.json"
	h.Document("/oauth/client.json", `{"client_id":"`+id+`","client_name":"Example CLI",
		"redirect_uris":["http://127.0.0.1/callback"],"grant_types":["authorization_code","refresh_token"],
		"token_endpoint_auth_method":"none"}`)
	e := latchtest.StartWith(t, latchtest.Options{
		Config: []func(*config.Config){func(c *config.Config) { c.CIMDPolicy = "allow-all" }},
		Server: []func(*server.Options){h.ServerOption()},
	})
	conf := e.OAuthConfig(id, "http://127.0.0.1:53682/callback", "openid", "offline_access")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	b := e.Browser()

	signIn := func() *oauth2.Token {
		t.Helper()
		verifier := oauth2.GenerateVerifier()
		p := b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		if latchtest.IsLoginPage(p) {
			p = b.Login(p, "alice", latchtest.AlicePassword)
		}
		if !latchtest.IsConsentPage(p) {
			t.Fatalf("a client ID metadata document client got no consent page: %d\n%s", p.Status, p.Body)
		}
		for _, want := range []string{"<strong>127.0.0.1:53682</strong>", "only returns to localhost", "Example CLI", id} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("consent page lacks %q:\n%s", want, p.Body)
			}
		}
		q := latchtest.Callback(t, b.Consent(p, "allow"))
		tok, err := conf.Exchange(latchtest.ClientContext(t.Context()), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		return tok
	}
	tok := signIn()
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	refreshed, err := conf.TokenSource(latchtest.ClientContext(t.Context()), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || refreshed.AccessToken == "" {
		t.Fatalf("refresh: %v", err)
	}
	signIn() // consent again: the document may have changed since

	c, err := e.Store.GetClient(t.Context(), id)
	if err != nil || c.Origin != store.OriginCIMD || !c.Public || c.FirstParty {
		t.Errorf("stored client = %+v, %v; want a public third-party client of origin cimd", c, err)
	}
	var md map[string]any
	resp, md := e.DoJSON(mustRequest(t, http.MethodGet, e.Issuer+"/.well-known/openid-configuration"))
	if resp.StatusCode != http.StatusOK || md["client_id_metadata_document_supported"] != true {
		t.Errorf("discovery client_id_metadata_document_supported = %v, want true", md["client_id_metadata_document_supported"])
	}
}

// TestCIMDOff: by default a URL client_id is an unknown client, nothing
// is fetched, and discovery does not advertise documents.
func TestCIMDOff(t *testing.T) {
	h := latchtest.NewDocumentHost(t)
	id := h.Base + "/oauth/client.json"
	h.Document("/oauth/client.json", `{"client_id":"`+id+`","redirect_uris":["http://127.0.0.1/callback"]}`)
	e := latchtest.Start(t)
	p := e.Browser().Get(e.OAuthConfig(id, "http://127.0.0.1:5000/callback").AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not registered") {
		t.Errorf("authorize with a document URL, policy off = %d, want the unknown-client page:\n%s", p.Status, p.Body)
	}
	if len(h.AllowedDials()) != 0 {
		t.Errorf("policy off fetched the document: %v", h.AllowedDials())
	}
	_, md := e.DoJSON(mustRequest(t, http.MethodGet, e.Issuer+"/.well-known/openid-configuration"))
	if _, ok := md["client_id_metadata_document_supported"]; ok {
		t.Error("discovery advertises client_id_metadata_document_supported with cimd-policy off")
	}
	if _, ok := md["registration_endpoint"]; ok {
		t.Error("discovery advertises registration_endpoint with registration off")
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestCIMDClientRefusedWhenPolicyOff: a client stored from a metadata
// document cannot redeem a code (or refresh) once documents are no longer
// accepted; an operator's public client can (the control).
func TestCIMDClientRefusedWhenPolicyOff(t *testing.T) {
	e := latchtest.Start(t) // cimd-policy off
	const id = "https://app.example/client.json"
	e.MustClient(store.Client{ID: id, Public: true, Origin: store.OriginCIMD, RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"}})
	now := e.Clock.Now()
	code := func(clientID, redirect string) string {
		c := token.NewOpaque()
		err := e.Store.CreateAuthCode(t.Context(), store.AuthCode{
			Hash: token.Hash(c), ClientID: clientID, UserID: "user-alice", GrantID: token.NewOpaque(), RedirectURI: redirect,
			Scopes: []string{"openid"}, CodeChallenge: oauth2.S256ChallengeFromVerifier(testVerifier), CodeChallengeMethod: "S256",
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	form := func(clientID, redirect string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "redirect_uri": {redirect},
			"code": {code(clientID, redirect)}, "code_verifier": {testVerifier}}
	}
	resp, body := e.PostForm("/token", form(id, "https://app.example/cb"))
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("token for a document client with cimd-policy off = %d %v, want 401 invalid_client", resp.StatusCode, body)
	}
	if resp, body := e.PostForm("/token", form("native", "http://127.0.0.1/callback")); resp.StatusCode != http.StatusOK {
		t.Errorf("control: token for an operator's public client = %d %v", resp.StatusCode, body)
	}
	// Every other endpoint that authenticates clients refuses it alike.
	for path, f := range map[string]url.Values{
		"/par": {"client_id": {id}, "response_type": {"code"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"openid"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(testVerifier)}, "code_challenge_method": {"S256"}},
		"/revoke": {"client_id": {id}, "token": {"some-token"}},
	} {
		if resp, body := e.PostForm(path, f); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%s for a document client with cimd-policy off = %d %v, want 401 invalid_client", path, resp.StatusCode, body)
		}
	}
}

const testVerifier = "dBjftJeZ4CVP-mJ92K9bmmxZp5y1bOBT7qnYpNf2z3Q" // RFC 7636 App. B
