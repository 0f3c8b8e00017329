package latchtest

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/server"
)

// DocumentHostName is the name a DocumentHost's documents are served
// under: httptest's certificate is valid for it, and the host's resolver
// maps it to the server's loopback address.
const DocumentHostName = "example.com"

// DocumentHost serves client ID metadata documents over https from
// 127.0.0.2 with httptest's test CA, and builds fetchers that may reach
// it — and only it — through cimd.Options.InsecureTest. Internal is a
// second https server on 127.0.0.1 standing for an internal service that
// a hostile document URL aims at: it must never see a connection.
type DocumentHost struct {
	t        testing.TB
	Server   *httptest.Server
	Base     string // https://example.com:PORT
	Internal *httptest.Server
	// InternalConns counts connections the internal service accepted.
	InternalConns atomic.Int64
	// Resolve maps host names to addresses for the fetcher's resolver;
	// DocumentHostName is preset. Tests add hostile names.
	Resolve map[string][]netip.Addr

	mu      sync.Mutex
	allowed []netip.AddrPort // connections the fetcher's dial hook allowed
	mux     *http.ServeMux
}

// NewDocumentHost starts the document server and the internal service.
func NewDocumentHost(t testing.TB) *DocumentHost {
	t.Helper()
	h := &DocumentHost{t: t, mux: http.NewServeMux(), Resolve: map[string][]netip.Addr{}}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	h.Server = httptest.NewUnstartedServer(h.mux)
	h.Server.Listener.Close()
	h.Server.Listener = ln
	h.Server.StartTLS()
	t.Cleanup(h.Server.Close)
	h.Base = "https://" + DocumentHostName + ":" + portOf(ln.Addr())
	h.Resolve[DocumentHostName] = []netip.Addr{netip.MustParseAddr("127.0.0.2")}

	h.Internal = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"secret":"internal"}`))
	}))
	h.Internal.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			h.InternalConns.Add(1)
		}
	}
	h.Internal.StartTLS()
	t.Cleanup(h.Internal.Close)
	return h
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// InternalPort is the internal service's port on 127.0.0.1.
func (h *DocumentHost) InternalPort() string { return portOf(h.Internal.Listener.Addr()) }

// Handle serves path (e.g. "/client.json") with fn.
func (h *DocumentHost) Handle(path string, fn http.HandlerFunc) { h.mux.HandleFunc(path, fn) }

// Document serves body as application/json at path and returns its URL.
func (h *DocumentHost) Document(path, body string) string {
	h.Handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	})
	return h.Base + path
}

// Fetcher returns a fetcher with policy that trusts the test CA and may
// connect to 127.0.0.2/32 only (plus every public address).
func (h *DocumentHost) Fetcher(policy cimd.Policy) *cimd.Fetcher {
	pool := x509.NewCertPool()
	pool.AddCert(h.Server.Certificate())
	return cimd.New(cimd.Options{
		Policy:   policy,
		Resolver: resolver{h},
		Timeout:  time.Second, // the slow-body attack waits for it
		InsecureTest: &cimd.InsecureTest{
			RootCAs:       pool,
			AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
			OnDial: func(a netip.AddrPort, ok bool) {
				if ok {
					h.mu.Lock()
					h.allowed = append(h.allowed, a)
					h.mu.Unlock()
				}
			},
		},
	})
}

// ServerOption installs h.Fetcher(allow-all) as the server's fetcher.
func (h *DocumentHost) ServerOption() func(*server.Options) {
	return func(o *server.Options) { o.ClientDocuments = h.Fetcher(cimd.Policy{Mode: cimd.ModeAllowAll}) }
}

// AllowedDials returns every address the fetchers' dial hook let a
// connection go to.
func (h *DocumentHost) AllowedDials() []netip.AddrPort {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]netip.AddrPort(nil), h.allowed...)
}

// CheckNoInternalConnection fails the test if a connection was allowed
// to anything but the document server, or the internal service saw one.
func (h *DocumentHost) CheckNoInternalConnection(t testing.TB) {
	t.Helper()
	for _, a := range h.AllowedDials() {
		if a.Addr() != netip.MustParseAddr("127.0.0.2") && !cimd.IsPublic(a.Addr()) {
			t.Errorf("the fetcher connected to the non-public address %v", a)
		}
	}
	if n := h.InternalConns.Load(); n != 0 {
		t.Errorf("the internal service on 127.0.0.1 received %d connections", n)
	}
}

type resolver struct{ h *DocumentHost }

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r.h.Resolve[strings.ToLower(host)]; ok {
		return a, nil
	}
	return nil, errors.New("no such host (test resolver)")
}
