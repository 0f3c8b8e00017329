package clientkeys

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/store"
)

func jwks(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1"}}})
	return string(b)
}

// TestHTTPFetcher: https only (http to loopback only when allowed), no
// redirects, 200 only, a size limit and a timeout.
func TestHTTPFetcher(t *testing.T) {
	doc := jwks(t)
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, doc) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/followed", http.StatusFound) })
	mux.HandleFunc("/followed", func(w http.ResponseWriter, r *http.Request) { followed.Add(1); fmt.Fprint(w, doc) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 2000)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tls := httptest.NewTLSServer(mux)
	t.Cleanup(tls.Close)
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	httpsF := NewHTTPFetcher(HTTPOptions{Transport: tls.Client().Transport, MaxBytes: 1000, Timeout: 200 * time.Millisecond})
	devF := NewHTTPFetcher(HTTPOptions{AllowLoopbackHTTP: true})
	prodF := NewHTTPFetcher(HTTPOptions{})
	cases := []struct {
		name    string
		f       *HTTPFetcher
		uri     string
		wantErr string
	}{
		{"https", httpsF, tls.URL + "/jwks", ""},
		{"http loopback in dev", devF, plain.URL + "/jwks", ""},
		{"http loopback in production", prodF, plain.URL + "/jwks", "https"},
		{"http to a public host in dev", devF, "http://example.com/jwks", "https"},
		{"file scheme", devF, "file:///etc/passwd", "https"},
		{"user info", httpsF, strings.Replace(tls.URL, "https://", "https://u:p@", 1) + "/jwks", "user info"},
		{"redirect", httpsF, tls.URL + "/redirect", "status 302"},
		{"not found", httpsF, tls.URL + "/nope", "status 404"},
		{"too big", httpsF, tls.URL + "/big", "larger than 1000 bytes"},
		{"slow", httpsF, tls.URL + "/slow", "deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.f.Fetch(t.Context(), tc.uri)
			switch {
			case tc.wantErr == "" && (err != nil || string(b) != doc):
				t.Fatalf("Fetch(%s) = %q, %v; want the document", tc.uri, b, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Fetch(%s) = %q, %v; want an error containing %q", tc.uri, b, err, tc.wantErr)
			}
		})
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
}

type countingFetcher struct {
	n   atomic.Int32
	doc string
}

func (f *countingFetcher) Fetch(ctx context.Context, uri string) ([]byte, error) {
	f.n.Add(1)
	return []byte(f.doc), nil
}

// TestSourceCache: a fetched set is reused for TTL; refresh refetches at
// most once per MinRefresh; the cache holds at most MaxEntries URIs.
func TestSourceCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &countingFetcher{doc: jwks(t)}
	s := New(Config{Fetcher: f, Now: func() time.Time { return now }, TTL: 10 * time.Minute, MinRefresh: 30 * time.Second, MaxEntries: 2})
	c := store.Client{ID: "c", AuthMethod: "private_key_jwt", JWKSURI: "https://c.example/jwks"}
	get := func(refresh bool) {
		t.Helper()
		if _, err := s.Keys(t.Context(), c, refresh); err != nil {
			t.Fatal(err)
		}
	}
	get(false)
	get(false)
	get(true) // within MinRefresh: no refetch
	if n := f.n.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	now = now.Add(31 * time.Second)
	get(true)
	if n := f.n.Load(); n != 2 {
		t.Fatalf("fetches after a refresh past MinRefresh = %d, want 2", n)
	}
	now = now.Add(11 * time.Minute)
	get(false)
	if n := f.n.Load(); n != 3 {
		t.Fatalf("fetches after TTL = %d, want 3", n)
	}
	for i := range 5 {
		c.JWKSURI = fmt.Sprintf("https://c%d.example/jwks", i)
		get(false)
	}
	if n := len(s.entries); n > 2 {
		t.Errorf("cache holds %d URIs, want at most MaxEntries 2", n)
	}
	inline := store.Client{ID: "i", AuthMethod: "private_key_jwt", JWKS: f.doc}
	before := f.n.Load()
	if ks, err := s.Keys(t.Context(), inline, true); err != nil || ks.Len() != 1 {
		t.Fatalf("inline jwks: %v, %v", ks, err)
	}
	if f.n.Load() != before {
		t.Error("inline jwks fetched something")
	}
}
