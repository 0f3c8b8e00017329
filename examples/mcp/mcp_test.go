package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/auth"
	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/examples/mcp"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/verify"
)

// env is Latch (CIMD over https with a test CA, open DCR), a document
// host, and the example MCP server protected by verify.
type env struct {
	latch    *latchtest.Env
	docs     *latchtest.DocumentHost
	mcpURL   string // the MCP endpoint and resource identifier
	verifier *verify.Verifier
}

func start(t *testing.T) *env {
	t.Helper()
	docs := latchtest.NewDocumentHost(t)
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	mcpURL := "http://" + ts.Listener.Addr().String() + "/mcp"
	e := latchtest.StartWith(t, latchtest.Options{
		Config: []func(*config.Config){func(c *config.Config) {
			c.Registration = "open"
			c.RegistrationResources = []string{mcpURL}
		}},
		Server: []func(*server.Options){docs.ServerOption()},
	})
	v, err := verify.New(t.Context(), verify.Config{
		Issuer: e.Issuer, Now: e.Clock.Now,
		ResourceMetadata: &verify.ResourceMetadata{Resource: mcpURL, ScopesSupported: []string{mcp.ScopeTools}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = mcp.Handler(v, "/mcp")
	ts.Start()
	t.Cleanup(ts.Close)
	return &env{latch: e, docs: docs, mcpURL: mcpURL, verifier: v}
}

const redirect = "http://127.0.0.1:40123/callback"

// signIn is the user's part: the browser opens the authorization URL the
// SDK built, alice signs in and consents, and the code comes back.
func (e *env) signIn(t *testing.T, authURLs *[]string) auth.AuthorizationCodeFetcher {
	return func(_ context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		*authURLs = append(*authURLs, args.URL)
		q := e.latch.Browser().SignIn(args.URL)
		if q.Get("code") == "" {
			return nil, fmt.Errorf("no code in the callback: %v", q)
		}
		return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

// connect runs the SDK client with handler against the MCP server and
// calls both tools.
func (e *env) connect(t *testing.T, h auth.OAuthHandler) (mcp.WhoAmI, *gomcp.ClientSession) {
	t.Helper()
	client := gomcp.NewClient(&gomcp.Implementation{Name: "latch-test-client", Version: "1.0.0"}, nil)
	session, err := client.Connect(t.Context(), &gomcp.StreamableClientTransport{Endpoint: e.mcpURL, OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("Connect: %v\n%s", err, e.latch.OperationalLog())
	}
	t.Cleanup(func() { session.Close() })
	res, err := session.CallTool(t.Context(), &gomcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami = %v, %v", res, err)
	}
	var who mcp.WhoAmI
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &who); err != nil {
		t.Fatalf("whoami result %s: %v", b, err)
	}
	res, err = session.CallTool(t.Context(), &gomcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hello"}})
	if err != nil || res.IsError {
		t.Fatalf("echo = %v, %v", res, err)
	}
	if b, _ := json.Marshal(res.StructuredContent); string(b) != `{"text":"hello"}` {
		t.Errorf("echo = %s, want {\"text\":\"hello\"}", b)
	}
	return who, session
}

// checkFlow checks what the authorization request and the token carried.
func (e *env) checkFlow(t *testing.T, who mcp.WhoAmI, clientID string, authURLs []string) {
	t.Helper()
	if len(authURLs) != 1 {
		t.Fatalf("the SDK opened %d authorization URLs, want 1", len(authURLs))
	}
	u, err := url.Parse(authURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("resource") != e.mcpURL || q.Get("code_challenge_method") != "S256" || !slices.Contains(strings.Fields(q.Get("scope")), mcp.ScopeTools) {
		t.Errorf("authorization URL %s: want resource %s, S256 and scope %s", authURLs[0], e.mcpURL, mcp.ScopeTools)
	}
	if who.Sub != "user-alice" || who.ClientID != clientID || !slices.Equal(who.Audience, []string{e.mcpURL}) || !slices.Contains(who.Scopes, mcp.ScopeTools) {
		t.Errorf("whoami = %+v, want sub user-alice, client_id %s, aud [%s], scope %s", who, clientID, e.mcpURL, mcp.ScopeTools)
	}
}

// refresh redeems the handler's refresh token with resource (RFC 8707
// §2.2) and checks the new access token works at the MCP server.
func (e *env) refresh(t *testing.T, h *auth.AuthorizationCodeHandler, clientID string) {
	t.Helper()
	ts, err := h.TokenSource(t.Context())
	if err != nil || ts == nil {
		t.Fatalf("TokenSource = %v, %v", ts, err)
	}
	tok, err := ts.Token()
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("the SDK holds no refresh token: %v %v", tok, err)
	}
	conf := e.latch.OAuthConfig(clientID, redirect)
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	fresh, err := conf.TokenSource(latchtest.ClientContext(t.Context()), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	c, err := e.verifier.Verify(t.Context(), fresh.AccessToken)
	if err != nil || c.ClientID != clientID {
		t.Fatalf("the refreshed access token: %+v, %v", c, err)
	}
}

// TestGoSDKClientWithMetadataDocument: the Go SDK's client, given only
// the MCP server's URL and its client ID metadata document URL (https,
// served with a test CA), gets 401, finds Latch through RFC 9728 and
// RFC 8414, signs in with code + PKCE + resource, calls the tools, and
// refreshes.
func TestGoSDKClientWithMetadataDocument(t *testing.T) {
	e := start(t)
	docURL := e.docs.Base + "/mcp-client.json"
	e.docs.Document("/mcp-client.json", fmt.Sprintf(`{"client_id":%q,"client_name":"Go MCP client","redirect_uris":[%q],
		"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none","scope":"mcp:tools offline_access"}`, docURL, redirect))
	var urls []string
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: docURL},
		RedirectURL:                    redirect,
		AuthorizationCodeFetcher:       e.signIn(t, &urls),
		RequestRefreshToken:            true,
	})
	if err != nil {
		t.Fatal(err)
	}
	who, _ := e.connect(t, h)
	e.checkFlow(t, who, docURL, urls)
	e.refresh(t, h, docURL)
	e.docs.CheckNoInternalConnection(t)
}

// TestGoSDKClientWithDynamicRegistration: the same through RFC 7591.
func TestGoSDKClientWithDynamicRegistration(t *testing.T) {
	e := start(t)
	var urls []string
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Go MCP client", RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none",
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scope: "mcp:tools offline_access",
		}},
		AuthorizationCodeFetcher: e.signIn(t, &urls),
		RequestRefreshToken:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	who, _ := e.connect(t, h)
	if who.ClientID == "" || strings.HasPrefix(who.ClientID, "https://") {
		t.Fatalf("whoami client_id = %q, want a registered client ID", who.ClientID)
	}
	e.checkFlow(t, who, who.ClientID, urls)
	e.refresh(t, h, who.ClientID)
}

// postTool calls whoami over raw HTTP in session with the access token.
func (e *env) postTool(t *testing.T, session, accessToken string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.mcpURL,
		strings.NewReader(`{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Header.Get("WWW-Authenticate"))
	return resp.StatusCode, b.String()
}

// TestSessionHijackRefused: an MCP session is bound to the user whose
// token opened it (MCP security best practices, "Session Hijacking").
// Bob's valid token with Alice's session ID is refused; Alice's own
// token in her session works (so the refusal is the binding, not a
// broken request).
func TestSessionHijackRefused(t *testing.T) {
	e := start(t)
	var urls []string
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none", Scope: "mcp:tools",
		}},
		AuthorizationCodeFetcher: e.signIn(t, &urls),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, session := e.connect(t, h)
	ts, _ := h.TokenSource(t.Context())
	alice, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	bob := e.bobToken(t)

	if status, _ := e.postTool(t, session.ID(), alice.AccessToken); status != http.StatusOK {
		t.Fatalf("alice in her own session = %d, want 200", status)
	}
	if status, _ := e.postTool(t, session.ID(), bob); status != http.StatusForbidden {
		t.Errorf("bob's token in alice's session = %d, want 403", status)
	}
	status, challenge := e.postTool(t, session.ID(), "")
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `resource_metadata="`+e.verifier.ResourceMetadataURL()+`"`) {
		t.Errorf("no token = %d %q, want 401 with resource_metadata", status, challenge)
	}
}

// bobToken signs bob in through an operator's client allowed the MCP
// resource and returns his access token for it.
func (e *env) bobToken(t *testing.T) string {
	t.Helper()
	hash, err := password.Hash("bob-password-123", password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.latch.MustUser(store.User{ID: "user-bob", Username: "bob", Email: "bob@example.com", PasswordHash: hash})
	e.latch.MustClient(store.Client{ID: "mcp-operator", Public: true, FirstParty: true, RedirectURIs: []string{"http://127.0.0.1/callback"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{mcp.ScopeTools}, Audiences: []string{e.mcpURL}})
	conf := e.latch.OAuthConfig("mcp-operator", "http://127.0.0.1/callback", mcp.ScopeTools)
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	v := oauth2.GenerateVerifier()
	resource := oauth2.SetAuthURLParam("resource", e.mcpURL)
	b := e.latch.Browser()
	p := b.Login(b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v), resource)), "bob", "bob-password-123")
	q := latchtest.Callback(t, p)
	tok, err := conf.Exchange(latchtest.ClientContext(t.Context()), q.Get("code"), oauth2.VerifierOption(v), resource)
	if err != nil {
		t.Fatalf("bob's exchange: %v", err)
	}
	return tok.AccessToken
}

// TestDPoPTokenAccepted: the metadata advertises DPoP
// (dpop_signing_alg_values_supported), so a DPoP-bound token with its
// proof must open a session; a proof for another URL must not.
func TestDPoPTokenAccepted(t *testing.T) {
	e := start(t)
	e.latch.MustClient(store.Client{ID: "mcp-dpop", Public: true, FirstParty: true, RedirectURIs: []string{"http://127.0.0.1/callback"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", mcp.ScopeTools}, Audiences: []string{e.mcpURL}})
	issued := e.latch.IssueCode(e.latch.Browser(), "mcp-dpop", "http://127.0.0.1/callback",
		oauth2.SetAuthURLParam("scope", "openid "+mcp.ScopeTools), oauth2.SetAuthURLParam("resource", e.mcpURL))
	k := latchtest.NewDPoPKey(t, jose.ES256)
	resp, body := e.latch.PostFormDPoP("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {issued.Code}, "redirect_uri": {"http://127.0.0.1/callback"},
		"client_id": {"mcp-dpop"}, "code_verifier": {issued.Verifier}, "resource": {e.mcpURL},
	}, e.latch.DPoPProof(k, http.MethodPost, "/token", nil))
	tok, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("token = %d %v, want a DPoP-bound token", resp.StatusCode, body)
	}
	initialize := func(htu string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.mcpURL, strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"dpop","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", k.Proof(t, http.MethodPost, htu, e.latch.Clock.Now(), map[string]any{"ath": latchtest.ATH(tok)}))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := initialize(e.mcpURL); got != http.StatusOK {
		t.Errorf("initialize with a DPoP-bound token = %d, want 200", got)
	}
	if got := initialize(strings.TrimSuffix(e.mcpURL, "/mcp") + "/other"); got != http.StatusUnauthorized {
		t.Errorf("initialize with a proof for another URL = %d, want 401", got)
	}
}
