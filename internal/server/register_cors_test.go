package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
)

// corsAnswers sends, from origin, a CORS preflight for POST /token and a
// POST /token naming clientID (a made-up code: the invalid_grant answer
// is narrowed to the client's origins like a success), and returns the
// Access-Control-Allow-Origin of each.
func corsAnswers(t *testing.T, e *latchtest.Env, clientID, origin string) (pre, post string) {
	t.Helper()
	pre = preflight(t, e, origin)
	resp, body := e.PostForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {"made-up"}, "client_id": {clientID},
		"redirect_uri": {"https://app.example/cb"}, "code_verifier": {strings.Repeat("v", 43)},
	}, func(r *http.Request) { r.Header.Set("Origin", origin) })
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("POST /token with a made-up code = %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
	return pre, resp.Header.Get("Access-Control-Allow-Origin")
}

// preflight returns the Access-Control-Allow-Origin of a CORS preflight
// for POST /token from origin.
func preflight(t *testing.T, e *latchtest.Env, origin string) string {
	t.Helper()
	req := mustRequest(t, http.MethodOptions, e.Issuer+"/token")
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Access-Control-Allow-Origin")
}

// wantCORS checks that origin gets CORS for clientID's token requests
// exactly when allowed.
func wantCORS(t *testing.T, e *latchtest.Env, clientID, origin string, allowed bool) {
	t.Helper()
	want := ""
	if allowed {
		want = origin
	}
	pre, post := corsAnswers(t, e, clientID, origin)
	if pre != want || post != want {
		t.Errorf("Origin %s: Access-Control-Allow-Origin on the preflight = %q, on POST /token = %q; want %q", origin, pre, post, want)
	}
}

func registerClient(t *testing.T, e *latchtest.Env, md map[string]any) (id, rat string) {
	t.Helper()
	resp, reg := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", md, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %v = %d %v, want 201", md, resp.StatusCode, reg)
	}
	for _, k := range []string{"allowed_origins", "origins"} {
		if _, ok := reg[k]; ok {
			t.Errorf("registration response has the non-standard member %s: %v", k, reg)
		}
	}
	id, _ = reg["client_id"].(string)
	rat, _ = reg["registration_access_token"].(string)
	return id, rat
}

func storedOrigins(t *testing.T, e *latchtest.Env, id string) []string {
	t.Helper()
	c, err := e.Store.GetClient(t.Context(), id)
	if err != nil {
		t.Fatalf("GetClient(%q): %v", id, err)
	}
	return c.AllowedOrigins
}

// TestDCRPublicClientCORS: a public client registered with RFC 7591 gets
// CORS at /token for the origins of its https and loopback http redirect
// URIs (preflight and response), for no other origin, and not for the
// issuer's own origin, on both stores.
func TestDCRPublicClientCORS(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		e := latchtest.StartWith(t, latchtest.Options{Store: st, Config: []func(*config.Config){openRegistration}})
		// The origin cache is loaded (the clock stands still): the
		// registration must still take effect at once.
		if pre := preflight(t, e, "https://app.example"); pre != "" {
			t.Fatalf("preflight from an origin nobody registered: Access-Control-Allow-Origin = %q", pre)
		}
		id, _ := registerClient(t, e, map[string]any{
			"redirect_uris": []string{"https://app.example/cb", "https://app.example/other", "http://localhost:6274/cb",
				"http://[::1]:8080/cb", e.Issuer + "/cb"},
			"token_endpoint_auth_method": "none",
		})
		want := []string{"https://app.example", "http://localhost:6274", "http://[::1]:8080"}
		if got := storedOrigins(t, e, id); !slices.Equal(got, want) {
			t.Errorf("AllowedOrigins = %q, want %q (distinct, not the issuer's)", got, want)
		}
		for _, o := range want {
			wantCORS(t, e, id, o, true)
		}
		for _, o := range []string{"https://evil.example", "http://localhost:6275", "https://app.example:8443", "http://app.example"} {
			wantCORS(t, e, id, o, false)
		}
	})
}

// TestDCRConfidentialClientNoCORS: a client registered with a secret is
// a backend: it gets no origins, so its redirect URI's origin gets no
// CORS.
func TestDCRConfidentialClientNoCORS(t *testing.T) {
	e := latchtest.Start(t, openRegistration)
	id, _ := registerClient(t, e, map[string]any{"redirect_uris": []string{"https://app.example/cb"}})
	if got := storedOrigins(t, e, id); len(got) != 0 {
		t.Errorf("confidential client AllowedOrigins = %q, want none", got)
	}
	if pre := preflight(t, e, "https://app.example"); pre != "" {
		t.Errorf("preflight from a confidential client's redirect origin: Access-Control-Allow-Origin = %q, want none", pre)
	}
}

// TestDCRClientCannotChooseOrigins: registration metadata cannot add an
// origin that is not one of the client's redirect URIs' origins (RFC 7591
// has no origins member; an allowed_origins member is ignored like any
// unknown one, RFC 7591 §2), neither at registration nor in an RFC 7592
// update; an update that changes the redirect URIs recomputes the
// origins, so the old origin loses CORS.
func TestDCRClientCannotChooseOrigins(t *testing.T) {
	e := latchtest.Start(t, openRegistration)
	md := map[string]any{
		"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "none",
		"allowed_origins": []string{"https://evil.example"}, "origins": []string{"https://evil.example"},
	}
	id, rat := registerClient(t, e, md)
	if got := storedOrigins(t, e, id); !slices.Equal(got, []string{"https://app.example"}) {
		t.Errorf("AllowedOrigins = %q, want only the redirect URI's origin", got)
	}
	wantCORS(t, e, id, "https://evil.example", false)

	md["client_id"] = id
	md["redirect_uris"] = []string{"https://new.example/cb"}
	md["allowed_origins"] = []string{"https://evil.example", "https://app.example"}
	resp, body := registrationRequest(t, e, http.MethodPut, e.Issuer+"/register/"+id, md, rat)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update = %d %v, want 200", resp.StatusCode, body)
	}
	if got := storedOrigins(t, e, id); !slices.Equal(got, []string{"https://new.example"}) {
		t.Errorf("AllowedOrigins after the update = %q, want [https://new.example]", got)
	}
	wantCORS(t, e, id, "https://new.example", true)
	wantCORS(t, e, id, "https://app.example", false)
	wantCORS(t, e, id, "https://evil.example", false)
}

// TestCIMDClientCORS: a public client loaded from its client ID metadata
// document gets CORS for its redirect URIs' origins, on both stores,
// also when it was stored before (without origins).
func TestCIMDClientCORS(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		h := latchtest.NewDocumentHost(t)
		id := h.Base + "/oauth/client.json"
		doc := func(redirects string) string {
			return `{"client_id":"` + id + `","client_name":"Inspector","redirect_uris":[` + redirects + `],"token_endpoint_auth_method":"none"}`
		}
		h.Document("/oauth/client.json", doc(`"https://app.example/cb","http://localhost:6274/cb"`))
		e := latchtest.StartWith(t, latchtest.Options{
			Store:  st,
			Config: []func(*config.Config){func(c *config.Config) { c.CIMDPolicy = "allow-all" }},
			Server: []func(*server.Options){h.ServerOption()},
		})
		authorize := func() {
			conf := e.OAuthConfig(id, "https://app.example/cb", "openid")
			if p := e.Browser().Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); !latchtest.IsLoginPage(p) {
				t.Fatalf("authorize with the document client = %d, want the login page:\n%s", p.Status, p.Body)
			}
		}
		// Load the origin cache first (the clock stands still): storing
		// the document's client must still take effect at once.
		if pre := preflight(t, e, "https://app.example"); pre != "" {
			t.Fatalf("preflight before the document was loaded: Access-Control-Allow-Origin = %q", pre)
		}
		// Stored before documents got origins: the same client but for
		// AllowedOrigins; loading the document must update it.
		if err := e.Store.CreateClient(t.Context(), store.Client{ID: id, Name: "Inspector", Public: true, Origin: store.OriginCIMD,
			RedirectURIs: []string{"https://app.example/cb", "http://localhost:6274/cb"}, GrantTypes: []string{"authorization_code"}}); err != nil {
			t.Fatal(err)
		}
		authorize()
		want := []string{"https://app.example", "http://localhost:6274"}
		if got := storedOrigins(t, e, id); !slices.Equal(got, want) {
			t.Errorf("AllowedOrigins = %q, want %q", got, want)
		}
		wantCORS(t, e, id, "https://app.example", true)
		wantCORS(t, e, id, "http://localhost:6274", true)
		wantCORS(t, e, id, "https://evil.example", false)

	})
}
