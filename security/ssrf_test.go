package security

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
)

// Server-side request forgery through client ID metadata documents
// (draft-ietf-oauth-client-id-metadata-document-03 §6.6): the client_id
// of an authorization request is a URL Latch fetches, so whoever sends a
// user to /authorize chooses where Latch connects. Each hostile URL must
// make no connection to a non-public address (asserted by the fetcher's
// dial hook and by an internal service on 127.0.0.1 that counts its
// connections), end on Latch's error page with a description a developer
// can act on, and never be a 5xx.

// startCIMD starts Latch (development mode, so the error page shows the
// description) with a DocumentHost's fetcher.
func startCIMD(t *testing.T) (*latchtest.Env, *latchtest.DocumentHost) {
	t.Helper()
	h := latchtest.NewDocumentHost(t)
	e := latchtest.StartWith(t, latchtest.Options{
		Config: []func(*config.Config){func(c *config.Config) { c.Dev = true; c.CIMDPolicy = "allow-all" }},
		Server: []func(*server.Options){h.ServerOption()},
	})
	return e, h
}

func TestSSRFClientIDMetadataDocument(t *testing.T) {
	e, h := startCIMD(t)
	ip := func(s string) []netip.Addr { return []netip.Addr{netip.MustParseAddr(s)} }
	h.Resolve["loopback.attacker.example"] = ip("127.0.0.1")
	h.Resolve["private.attacker.example"] = ip("10.0.0.1")
	h.Resolve["metadata.attacker.example"] = ip("169.254.169.254")
	h.Resolve["mapped.attacker.example"] = ip("::ffff:127.0.0.1")
	h.Resolve["cgnat.attacker.example"] = ip("100.64.0.1")
	h.Resolve["ula.attacker.example"] = ip("fd00::1")
	// One public address and one private: the name is refused whole.
	h.Resolve["mixed.attacker.example"] = []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}
	port := h.InternalPort()

	doc := func(id string) string {
		return fmt.Sprintf(`{"client_id":%q,"client_name":"Evil","redirect_uris":["https://app.example/cb"]}`, id)
	}
	// Documents that reach the document server but are hostile.
	h.Handle("/redirect.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1:"+port+"/latest/meta-data/", http.StatusFound)
	})
	h.Handle("/huge.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"client_id":"` + strings.Repeat("a", 1<<20) + `"}`))
	})
	h.Handle("/huge-chunked.json", func(w http.ResponseWriter, r *http.Request) {
		for range 64 { // no Content-Length: the limit must hold while reading
			w.Write([]byte(strings.Repeat(" ", 1024)))
			w.(http.Flusher).Flush()
		}
	})
	h.Handle("/slow.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"client_id":`))
		w.(http.Flusher).Flush()
		select { // the body never ends: the fetch's deadline must
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	wrongID := h.Document("/wrong-id.json", doc("https://other.example/client.json"))
	notJSON := h.Document("/not-json.json", `<html>hello</html>`)
	secret := h.Document("/secret.json", `{"client_id":"`+h.Base+`/secret.json","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)

	for _, tt := range []struct {
		name, clientID, want string
	}{
		{"loopback after DNS", "https://loopback.attacker.example:" + port + "/client.json", "non-public address"},
		{"RFC 1918 after DNS", "https://private.attacker.example/client.json", "non-public address"},
		{"cloud metadata after DNS", "https://metadata.attacker.example/latest/meta-data", "non-public address"},
		{"IPv4-mapped loopback after DNS", "https://mapped.attacker.example:" + port + "/client.json", "non-public address"},
		{"CGNAT after DNS", "https://cgnat.attacker.example/client.json", "non-public address"},
		{"ULA after DNS", "https://ula.attacker.example/client.json", "non-public address"},
		{"one private address among public ones", "https://mixed.attacker.example:" + port + "/client.json", "non-public address"},
		{"IP literal loopback", "https://127.0.0.1:" + port + "/client.json", "non-public address"},
		{"IP literal metadata", "https://169.254.169.254/latest/meta-data", "non-public address"},
		{"redirect to an internal address", h.Base + "/redirect.json", "redirects are not followed"},
		{"huge body", h.Base + "/huge.json", "allowed"},
		{"huge chunked body", h.Base + "/huge-chunked.json", "larger than the 5120 bytes allowed"},
		{"slow body", h.Base + "/slow.json", "not received within"},
		{"wrong client_id", wrongID, "does not equal the URL it was fetched from"},
		{"not JSON", notJSON, "not a JSON object"},
		{"shared secret", secret, "client_secret"},
		{"no path", "https://loopback.attacker.example:" + port, "must have a path"},
		{"dot segments", h.Base + "/a/../client.json", "path segments"},
		{"user info", "https://user@loopback.attacker.example:" + port + "/c.json", "user name"},
		{"http scheme", "http://127.0.0.1:" + port + "/client.json", "not registered"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			p := e.Browser().Get(authorizeURL(e, authParams(tt.clientID, "https://app.example/cb", v)))
			requireErrorPage(t, p)
			if p.Status >= 500 {
				t.Fatalf("status %d, want a 4xx error page", p.Status)
			}
			if !strings.Contains(p.Body, tt.want) {
				t.Errorf("error page does not say %q:\n%s", tt.want, p.Body)
			}
			h.CheckNoInternalConnection(t)
		})
	}
}

// TestSSRFAmplificationBurst: 30 authorization requests at once naming one
// fresh document URL (an attacker using Latch to hammer a host, or racing
// the client's first store write) cause one fetch, no 5xx, and one stored
// client, on SQLite and PostgreSQL.
func TestSSRFAmplificationBurst(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			h := latchtest.NewDocumentHost(t)
			var st store.Store
			if b.open != nil {
				st = b.open(t)
			}
			e := latchtest.StartWith(t, latchtest.Options{
				Config: []func(*config.Config){func(c *config.Config) { c.CIMDPolicy = "allow-all" }},
				Server: []func(*server.Options){h.ServerOption()},
				Store:  st,
			})
			id := h.Base + "/burst.json"
			var fetches atomic.Int64
			h.Handle("/burst.json", func(w http.ResponseWriter, r *http.Request) {
				fetches.Add(1)
				w.Write([]byte(`{"client_id":"` + id + `","redirect_uris":["https://app.example/cb"]}`))
			})
			const n = 30
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, authorizeURL(e, authParams(id, "https://app.example/cb", oauth2.GenerateVerifier())), nil)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				})
			}
			close(start)
			wg.Wait()
			for i, s := range statuses {
				if s != http.StatusOK {
					t.Errorf("request %d: status %d, want 200 (the login page)", i, s)
				}
			}
			if got := fetches.Load(); got != 1 {
				t.Errorf("%d concurrent requests fetched the document %d times, want 1", n, got)
			}
			clients, err := e.Store.ListClients(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			stored := 0
			for _, c := range clients {
				if c.ID == id {
					stored++
				}
			}
			if stored != 1 {
				t.Errorf("%d stored clients for the document, want 1", stored)
			}
		})
	}
}
