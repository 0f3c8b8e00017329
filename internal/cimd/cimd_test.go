package cimd_test

import (
	"errors"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

func TestIsPublic(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"64:ff9b::5db8:d822", true}, // NAT64 of 93.184.216.34
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fd00::1", false},
		{"fc00::1", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:93.184.216.34", false}, // mapped: refused outright
		{"64:ff9b::a00:1", false},       // NAT64 of 10.0.0.1
		{"64:ff9b::7f00:1", false},      // NAT64 of 127.0.0.1
		{"2002:7f00:1::", false},        // 6to4 of 127.0.0.1
		{"2001:db8::1", false},
		{"198.18.0.1", false},
		{"192.0.2.1", false},
	} {
		if got := cimd.IsPublic(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("IsPublic(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestCheckClientIDURL(t *testing.T) {
	for _, tt := range []struct {
		url, wantErr string
	}{
		{"https://app.example/client.json", ""},
		{"https://App.Example:8443/oauth/client", ""},
		{"http://app.example/client.json", "https"},
		{"https://app.example", "path"},
		{"https://app.example/", "path"},
		{"https://app.example/a/./b", ". or .."},
		{"https://app.example/a/%2E%2E/b", ". or .."},
		{"https://app.example/c.json#x", "fragment"},
		{"https://u:p@app.example/c.json", "user name"},
		{"https://app.example/c.json?x=1", "query"},
		{"https://app.example/c json", "printable ASCII"},
		{"https://app.example/" + strings.Repeat("a", 300), "longer"},
		{"https:///c.json", "absolute https URL"},
		{"https://:/0", "absolute https URL"}, // a port separator and no host (found by FuzzCheckClientIDURL)
		{"https://:443/c.json", "absolute https URL"},
		{"https://app.example:/c.json", "empty port"},
	} {
		_, err := cimd.CheckClientIDURL(tt.url)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckClientIDURL(%q) = %v, want nil", tt.url, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckClientIDURL(%q) = %v, want an error containing %q", tt.url, err, tt.wantErr)
		}
	}
}

func TestParseDocument(t *testing.T) {
	const id = "https://app.example/client.json"
	c, err := cimd.ParseDocument(id, []byte(`{"client_id":"`+id+`","client_name":"App","redirect_uris":["http://127.0.0.1/cb"],
		"grant_types":["refresh_token","authorization_code"],"scope":"openid profile","logo_uri":"https://x/y.png"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Public || c.FirstParty || c.Origin != store.OriginCIMD || c.Name != "App" || len(c.Scopes) != 2 ||
		strings.Join(c.GrantTypes, ",") != "authorization_code,refresh_token" || c.SecretHash != "" {
		t.Errorf("ParseDocument = %+v", c)
	}
	if !cimd.OnlyLoopbackRedirects(c) {
		t.Error("OnlyLoopbackRedirects = false for a 127.0.0.1 redirect")
	}
	for _, tt := range []struct{ doc, wantErr string }{
		{`{"client_id":"https://app.example/client.json/","redirect_uris":["https://a.example/cb"]}`, "does not equal"},
		{`{"client_id":"https://APP.example/client.json","redirect_uris":["https://a.example/cb"]}`, "does not equal"},
		{`{"client_id":"` + id + `"}`, "no redirect_uris"},
		{`{"client_id":"` + id + `","redirect_uris":["https://a.example/*"]}`, "wildcard"},
		{`{"client_id":"` + id + `","redirect_uris":["http://a.example/cb"]}`, "redirect_uris"},
		{`{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"client_secret":"s"}`, "client_secret"},
		{`{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_post"}`, "shared secret"},
		{`{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://a.example/jwks"}`, "not supported"},
		{`{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"grant_types":["client_credentials"]}`, "grant_types"},
		{`{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"response_types":["token"]}`, "response_types"},
		{`{"client_id":"` + id + `","redirect_uris":"https://a.example/cb"}`, "wrong JSON type"},
		{`[1,2]`, "not a JSON object"},
	} {
		_, err := cimd.ParseDocument(id, []byte(tt.doc))
		var ce *cimd.Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Description, tt.wantErr) {
			t.Errorf("ParseDocument(%s) = %v, want a *cimd.Error containing %q", tt.doc, err, tt.wantErr)
		}
	}
}

// TestFetcherCacheAndSingleFlight: a burst of resolutions of one URL
// fetches once; a fresh document is served from the cache; a failure is
// cached too (negative cache); the allow-list refuses other hosts
// without a fetch.
func TestFetcherCacheAndSingleFlight(t *testing.T) {
	h := latchtest.NewDocumentHost(t)
	var hits, badHits atomic.Int64
	release := make(chan struct{})
	id := h.Base + "/client.json"
	h.Handle("/client.json", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte(`{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"]}`))
	})
	h.Handle("/bad.json", func(w http.ResponseWriter, r *http.Request) {
		badHits.Add(1)
		w.Write([]byte(`{}`))
	})
	f := h.Fetcher(cimd.Policy{Mode: cimd.ModeAllowList, Hosts: []string{"EXAMPLE.com"}})
	ctx := t.Context()

	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = f.Resolve(ctx, id) })
	}
	for hits.Load() == 0 {
		runtime.Gosched() // until the one fetch is in flight
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Resolve #%d: %v", i, err)
		}
	}
	if _, err := f.Resolve(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := hits.Load(); got != 1 {
		t.Errorf("%d resolutions made %d fetches, want 1 (single flight, then the cache)", n+1, got)
	}
	for range 3 {
		if _, err := f.Resolve(ctx, h.Base+"/bad.json"); err == nil {
			t.Fatal("Resolve(bad document) = nil error")
		}
	}
	if got := badHits.Load(); got != 1 {
		t.Errorf("3 resolutions of a bad document made %d fetches, want 1 (negative cache)", got)
	}
	if _, err := f.Resolve(ctx, "https://other.example/client.json"); !errors.Is(err, cimd.ErrDisabled) {
		t.Errorf("Resolve(host not on the allow-list) = %v, want ErrDisabled", err)
	}
	off := h.Fetcher(cimd.Policy{Mode: cimd.ModeOff})
	if _, err := off.Resolve(ctx, id); !errors.Is(err, cimd.ErrDisabled) {
		t.Errorf("Resolve(policy off) = %v, want ErrDisabled", err)
	}
}
