package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/admin"
	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
)

const adminToken = "test-admin-token-0123456789abcdef"

// harness is a running Latch (latchtest) with its admin listener.
type harness struct {
	t     *testing.T
	e     *latchtest.Env
	admin *admin.Server
	url   string
	audit *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, token string, mutate ...func(*admin.Options)) *harness {
	t.Helper()
	e := latchtest.Start(t)
	hasher, err := password.NewHasher(password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	audit := &syncBuffer{}
	opts := admin.Options{
		Store: e.Store, Keys: e.Latch.Keys(), Passwords: hasher, Ready: e.Latch.Ready,
		Gatherer: e.Registry, Token: token, Now: e.Clock.Now,
		Audit: slog.New(slog.NewJSONHandler(audit, nil)),
	}
	for _, m := range mutate {
		m(&opts)
	}
	a, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a)
	t.Cleanup(ts.Close)
	return &harness{t: t, e: e, admin: a, url: ts.URL, audit: audit}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON (%d): %q", r.status, r.body)
	}
}

// errorCode returns the "error" member of a JSON error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	r.json(t, &e)
	if e.Error == "" || e.Description == "" {
		t.Errorf("error body lacks error or error_description: %s", r.body)
	}
	return e.Error
}

// do sends a request with the admin token (token "" sends none).
func (h *harness) doToken(token, method, path string, body any) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				h.t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (h *harness) do(method, path string, body any) response {
	h.t.Helper()
	return h.doToken(adminToken, method, path, body)
}

func (h *harness) want(r response, status int) response {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// failingStore fails Ping: the database is unreachable.
type failingStore struct{ store.Store }

func (failingStore) Ping(context.Context) error {
	return errors.New("dial tcp 10.0.0.1:5432: connection refused")
}

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t, adminToken)
	status := func(path string) (int, map[string]string) {
		r := h.doToken("", http.MethodGet, path, nil)
		var m map[string]string
		r.json(t, &m)
		return r.status, m
	}
	if st, m := status("/healthz"); st != 200 || m["status"] != "ok" {
		t.Errorf("/healthz = %d %v, want 200 ok", st, m)
	}
	if st, m := status("/readyz"); st != 200 || m["status"] != "ready" {
		t.Errorf("/readyz = %d %v, want 200 ready", st, m)
	}

	t.Run("store down", func(t *testing.T) {
		// The default check (Ready nil) over a store that cannot be reached.
		h := newHarness(t, adminToken, func(o *admin.Options) { o.Ready = nil; o.Store = failingStore{o.Store} })
		r := h.doToken("", http.MethodGet, "/readyz", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "store unreachable") {
			t.Errorf("/readyz with the store down = %d %s, want 503 store unreachable", r.status, r.body)
		}
		if strings.Contains(string(r.body), "10.0.0.1") {
			t.Errorf("/readyz leaks the store's error: %s", r.body)
		}
		if r := h.doToken("", http.MethodGet, "/healthz", nil); r.status != 200 {
			t.Errorf("/healthz with the store down = %d, want 200 (the process is alive)", r.status)
		}
	})

	t.Run("store closed", func(t *testing.T) {
		// The server's own check, after its store is closed.
		h := newHarness(t, adminToken)
		if r := h.doToken("", http.MethodGet, "/readyz", nil); r.status != 200 {
			t.Fatalf("/readyz = %d before closing", r.status)
		}
		h.e.Store.Close()
		r := h.doToken("", http.MethodGet, "/readyz", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "store unreachable") {
			t.Errorf("/readyz after closing the store = %d %s, want 503 store unreachable", r.status, r.body)
		}
	})

	t.Run("no signing key loaded", func(t *testing.T) {
		// A key manager that never loaded (e.g. every key failed to decrypt).
		h := newHarness(t, adminToken, func(o *admin.Options) {
			cfg := config.Default()
			cfg.KeyEncryptionSecret, cfg.SigningAlg = latchtest.TestSecret, "ES256"
			keys, err := app.NewKeys(cfg, o.Store, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			o.Ready, o.Keys = nil, keys
		})
		r := h.doToken("", http.MethodGet, "/readyz", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "no ES256 signing key loaded") {
			t.Errorf("/readyz without keys = %d %s, want 503 naming the signing key", r.status, r.body)
		}
	})

	t.Run("draining", func(t *testing.T) {
		h := newHarness(t, adminToken)
		h.admin.SetDraining()
		r := h.doToken("", http.MethodGet, "/readyz", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "shutting down") {
			t.Errorf("/readyz while draining = %d %s, want 503 shutting down", r.status, r.body)
		}
		if r := h.doToken("", http.MethodGet, "/healthz", nil); r.status != 200 {
			t.Errorf("/healthz while draining = %d, want 200", r.status)
		}
	})
}

func TestMetricsEndpoint(t *testing.T) {
	h := newHarness(t, adminToken)
	b := h.e.Browser()
	h.e.CodeFlow(b, "openid")
	r := h.doToken("", http.MethodGet, "/metrics", nil)
	if r.status != 200 {
		t.Fatalf("/metrics = %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`latch_tokens_issued_total{grant_type="authorization_code"} 1`,
		`latch_logins_total{result="succeeded"} 1`,
		`latch_http_requests_total{code="200",method="POST",route="/token"} 1`,
		`latch_http_request_duration_seconds_bucket{route="/token",le="+Inf"} 1`,
		`latch_store_duration_seconds_count{method="RedeemAuthCode"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	t.Run("disabled without a gatherer", func(t *testing.T) {
		h := newHarness(t, adminToken, func(o *admin.Options) { o.Gatherer = nil })
		if r := h.doToken("", http.MethodGet, "/metrics", nil); r.status != http.StatusNotFound {
			t.Errorf("/metrics without a gatherer = %d, want 404", r.status)
		}
	})
}

func TestAdminAuth(t *testing.T) {
	t.Run("disabled without a token", func(t *testing.T) {
		h := newHarness(t, "")
		for _, tok := range []string{"", adminToken, "anything"} {
			r := h.doToken(tok, http.MethodGet, "/admin/clients", nil)
			if r.status != http.StatusForbidden || r.errorCode(t) != "access_denied" {
				t.Errorf("token %q with the API disabled: %d %s, want 403 access_denied", tok, r.status, r.body)
			}
		}
		r := h.doToken("", http.MethodPost, "/admin/clients", map[string]any{"client_id": "x", "client_type": "public", "redirect_uris": []string{"https://a.example/cb"}})
		if r.status != http.StatusForbidden {
			t.Errorf("create with the API disabled: %d", r.status)
		}
		if _, err := h.e.Store.GetClient(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("client created through a disabled API: %v", err)
		}
	})

	h := newHarness(t, adminToken)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", 401},
		{"wrong token", "Bearer wrong-token-0123456789abcdef0123", 401},
		{"token prefix", "Bearer " + adminToken[:len(adminToken)-1], 401},
		{"token with a suffix", "Bearer " + adminToken + "x", 401},
		{"basic scheme", "Basic " + adminToken, 401},
		{"empty bearer", "Bearer ", 401},
		{"right token", "Bearer " + adminToken, 200},
		{"scheme is case-insensitive", "bearer " + adminToken, 200},
	}
	for _, tt := range tests {
		for _, path := range []string{"/admin/clients", "/admin/keys", "/admin/users/user-alice", "/admin/no-such-route"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := tt.want
			if want == 200 && path == "/admin/no-such-route" {
				want = 404
			}
			if resp.StatusCode != want {
				t.Errorf("%s: GET %s = %d, want %d", tt.name, path, resp.StatusCode, want)
			}
			if want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without a Bearer challenge", tt.name)
			}
		}
	}
	if r := h.doToken("", http.MethodGet, "/admin/openapi.json", nil); r.status != 200 {
		t.Errorf("openapi.json without a token = %d, want 200 (it is documentation)", r.status)
	}
	if !strings.Contains(h.audit.String(), `"event":"admin_auth_failed"`) {
		t.Error("failed admin authentication is not audited")
	}
	if strings.Contains(h.audit.String(), "wrong-token") {
		t.Error("the audit log contains a presented token")
	}
}

func TestAdminClients(t *testing.T) {
	h := newHarness(t, adminToken)
	var created struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		ClientType   string   `json:"client_type"`
		GrantTypes   []string `json:"grant_types"`
		Origins      []string `json:"allowed_origins"`
		RefreshIdle  string   `json:"refresh_idle"`
	}
	r := h.want(h.do(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": "app", "client_type": "public", "client_name": "App",
		"redirect_uris": []string{"http://127.0.0.1:5173/cb"}, "allowed_origins": []string{"HTTP://LOCALHOST:3000"},
		"refresh_idle": "12h",
	}), http.StatusCreated)
	r.json(t, &created)
	if created.ClientSecret != "" || created.ClientType != "public" || created.Origins[0] != "http://localhost:3000" || created.RefreshIdle != "12h" ||
		strings.Join(created.GrantTypes, ",") != "authorization_code,refresh_token" {
		t.Errorf("created public client = %+v", created)
	}
	if loc := r.header.Get("Location"); loc != "/admin/clients/app" {
		t.Errorf("Location = %q", loc)
	}

	// A confidential machine client: its secret is returned once and works.
	r = h.want(h.do(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": "svc", "client_type": "confidential", "grant_types": []string{"client_credentials"},
	}), http.StatusCreated)
	r.json(t, &created)
	secret := created.ClientSecret
	if len(secret) < 32 {
		t.Fatalf("confidential client secret = %q", secret)
	}
	cc := func(secret string) int {
		resp, _ := h.e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}},
			func(r *http.Request) { r.SetBasicAuth("svc", secret) })
		return resp.StatusCode
	}
	if st := cc(secret); st != 200 {
		t.Errorf("client_credentials with the new secret = %d", st)
	}
	if r := h.want(h.do(http.MethodGet, "/admin/clients/svc", nil), 200); strings.Contains(string(r.body), "secret") {
		t.Errorf("GET shows a secret: %s", r.body)
	}

	// Rotation: the new secret works, the old one no longer does.
	r = h.want(h.do(http.MethodPatch, "/admin/clients/svc", map[string]any{"rotate_secret": true}), 200)
	r.json(t, &created)
	if created.ClientSecret == "" || created.ClientSecret == secret {
		t.Fatalf("rotated secret = %q", created.ClientSecret)
	}
	if st := cc(secret); st != http.StatusUnauthorized {
		t.Errorf("old secret after rotation = %d, want 401", st)
	}
	if st := cc(created.ClientSecret); st != 200 {
		t.Errorf("new secret after rotation = %d, want 200", st)
	}
	if strings.Contains(h.audit.String(), created.ClientSecret) || strings.Contains(h.audit.String(), secret) {
		t.Error("a client secret is in the audit log")
	}

	// The same policy as the CLI, naming fields by their JSON names.
	bad := []struct {
		name string
		body any
		want string
	}{
		{"duplicate", map[string]any{"client_id": "app", "client_type": "public", "redirect_uris": []string{"https://a.example/cb"}}, "conflict"},
		{"http redirect to a public host", map[string]any{"client_id": "x", "client_type": "public", "redirect_uris": []string{"http://evil.example/cb"}}, "redirect_uris"},
		{"no redirect uri", map[string]any{"client_id": "x", "client_type": "public"}, "redirect_uris is required"},
		{"public client_credentials", map[string]any{"client_id": "x", "client_type": "public", "grant_types": []string{"client_credentials"}}, "public client"},
		{"implicit", map[string]any{"client_id": "x", "client_type": "public", "redirect_uris": []string{"https://a.example/cb"}, "grant_types": []string{"implicit"}}, "unknown grant type"},
		{"no type", map[string]any{"client_id": "x", "redirect_uris": []string{"https://a.example/cb"}}, "client_type"},
		{"bad type", map[string]any{"client_id": "x", "client_type": "secret", "redirect_uris": []string{"https://a.example/cb"}}, "client_type"},
		{"no id", map[string]any{"client_type": "public"}, "client_id"},
		{"id with space", map[string]any{"client_id": "a b", "client_type": "public", "redirect_uris": []string{"https://a.example/cb"}}, "without spaces"},
		{"bad duration", map[string]any{"client_id": "x", "client_type": "public", "redirect_uris": []string{"https://a.example/cb"}, "refresh_idle": "forever"}, "refresh_idle"},
		{"negative duration", map[string]any{"client_id": "x", "client_type": "public", "redirect_uris": []string{"https://a.example/cb"}, "access_token_ttl": "-1m"}, "access_token_ttl must not be negative"},
		{"unknown field", map[string]any{"client_id": "x", "client_type": "public", "client_secret": "chosen"}, "unknown field"},
		{"wrong type", map[string]any{"client_id": "x", "client_type": "public", "redirect_uris": "https://a.example/cb"}, "redirect_uris"},
		{"not JSON", "client_id=x", "JSON"},
		{"empty", "", "empty"},
		{"two values", `{"client_id":"x"} {}`, "more than one"},
		{"rotate on create", map[string]any{"client_id": "x", "client_type": "confidential", "grant_types": []string{"client_credentials"}, "rotate_secret": true}, "PATCH"},
	}
	for _, tt := range bad {
		r := h.do(http.MethodPost, "/admin/clients", tt.body)
		if r.status != http.StatusBadRequest && r.status != http.StatusConflict {
			t.Errorf("%s: status %d, want 400 or 409: %s", tt.name, r.status, r.body)
			continue
		}
		r.errorCode(t)
		if !strings.Contains(string(r.body), tt.want) {
			t.Errorf("%s: %s, want it to mention %q", tt.name, r.body, tt.want)
		}
	}
	if _, err := h.e.Store.GetClient(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused client was stored: %v", err)
	}

	// Updates: partial, validated, ID immutable; public drops the secret.
	r = h.want(h.do(http.MethodPatch, "/admin/clients/app", map[string]any{"client_name": "Renamed", "first_party": true}), 200)
	var view map[string]any
	r.json(t, &view)
	if view["client_name"] != "Renamed" || view["first_party"] != true || view["redirect_uris"].([]any)[0] != "http://127.0.0.1:5173/cb" {
		t.Errorf("after PATCH: %v", view)
	}
	h.want(h.do(http.MethodPatch, "/admin/clients/app", map[string]any{"redirect_uris": []string{"http://evil.example/cb"}}), 400)
	// Latch matches exactly: a wildcard is refused with a message saying so.
	for _, patch := range []map[string]any{
		{"redirect_uris": []string{"https://*.example.com/cb"}},
		{"allowed_origins": []string{"https://*.example.com"}},
	} {
		if r := h.want(h.do(http.MethodPatch, "/admin/clients/app", patch), 400); !strings.Contains(string(r.body), "matches redirect URIs and origins exactly") {
			t.Errorf("PATCH %v: %s, want the exact-match explanation", patch, r.body)
		}
	}
	h.want(h.do(http.MethodPatch, "/admin/clients/app", map[string]any{"client_id": "other"}), 400)
	h.want(h.do(http.MethodPatch, "/admin/clients/app", map[string]any{"rotate_secret": true}), 400) // public
	// Only a confidential client can be a resource server (introspection).
	h.want(h.do(http.MethodPatch, "/admin/clients/app", map[string]any{"resource_server": true}), 400)
	h.want(h.do(http.MethodPatch, "/admin/clients/svc", map[string]any{"resource_server": true}), 200)
	// require_fresh_challenge: set and cleared by PATCH, shown in the view.
	for _, on := range []bool{true, false} {
		var v map[string]any
		h.want(h.do(http.MethodPatch, "/admin/clients/app", map[string]any{"require_fresh_challenge": on}), 200).json(t, &v)
		if v["require_fresh_challenge"] != on {
			t.Errorf("PATCH require_fresh_challenge=%v: view has %v", on, v["require_fresh_challenge"])
		}
	}
	if c, _ := h.e.Store.GetClient(t.Context(), "svc"); !c.ResourceServer {
		t.Errorf("PATCH resource_server: true not stored")
	}
	h.want(h.do(http.MethodPatch, "/admin/clients/nope", map[string]any{"client_name": "x"}), 404)
	if c, _ := h.e.Store.GetClient(t.Context(), "app"); c.RedirectURIs[0] != "http://127.0.0.1:5173/cb" {
		t.Errorf("a refused update changed the client: %v", c.RedirectURIs)
	}

	var list []map[string]any
	h.want(h.do(http.MethodGet, "/admin/clients", nil), 200).json(t, &list)
	ids := []string{}
	for _, c := range list {
		ids = append(ids, c["client_id"].(string))
	}
	if strings.Join(ids, ",") != "app,native,spa,svc,web" {
		t.Errorf("list = %v", ids)
	}

	h.want(h.do(http.MethodDelete, "/admin/clients/app", nil), http.StatusNoContent)
	if r := h.want(h.do(http.MethodGet, "/admin/clients/app", nil), 404); r.errorCode(t) != "not_found" {
		t.Errorf("deleted client: %s", r.body)
	}
	h.want(h.do(http.MethodDelete, "/admin/clients/app", nil), 404)

	// Method and route errors are JSON too.
	r = h.want(h.do(http.MethodPut, "/admin/clients/svc", map[string]any{}), http.StatusMethodNotAllowed)
	if r.errorCode(t) != "method_not_allowed" || !strings.Contains(r.header.Get("Allow"), "PATCH") {
		t.Errorf("405: %s Allow=%q", r.body, r.header.Get("Allow"))
	}
	if r := h.want(h.do(http.MethodPost, "/admin/clients", `{"client_name":"`+strings.Repeat("x", 70<<10)+`"}`), http.StatusRequestEntityTooLarge); r.errorCode(t) != "invalid_request" {
		t.Errorf("oversized body: %s", r.body)
	}
	for _, want := range []string{"admin_client_created", "admin_client_updated", "admin_client_deleted"} {
		if !strings.Contains(h.audit.String(), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestAdminUserLookalikeCollision: a username whose canonical form (RFC
// 8265 §3.3: case, width, NFC) is taken is refused with a clear 409, and
// a new name is stored canonical.
func TestAdminUserLookalikeCollision(t *testing.T) {
	h := newHarness(t, adminToken)
	const pw = "a brand new password"
	var u struct {
		Username string `json:"username"`
	}
	h.want(h.do(http.MethodPost, "/admin/users", map[string]any{"username": "A\u030asa", "password": pw}), http.StatusCreated).json(t, &u)
	if u.Username != "\u00e5sa" {
		t.Errorf("stored username %q, want the canonical %q", u.Username, "\u00e5sa")
	}
	for _, name := range []string{"\u00c5sa", "\u00e5sa", "A\u030aSA", "Alice"} {
		r := h.do(http.MethodPost, "/admin/users", map[string]any{"username": name, "password": pw})
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), "already exists") {
			t.Errorf("create %q: %d %s, want 409 already exists", name, r.status, r.body)
		}
	}
}

func TestAdminUsersAndSessions(t *testing.T) {
	h := newHarness(t, adminToken)
	const pw = "a brand new password"
	var u struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	r := h.want(h.do(http.MethodPost, "/admin/users", map[string]any{"username": "bob", "password": pw, "email": "bob@example.com", "email_verified": true}), http.StatusCreated)
	r.json(t, &u)
	if u.Username != "bob" || len(u.ID) != 36 || strings.Contains(string(r.body), "password") || strings.Contains(string(r.body), "argon2") {
		t.Errorf("created user: %s", r.body)
	}
	for _, tt := range []struct {
		name string
		body any
		want int
	}{
		{"duplicate", map[string]any{"username": "bob", "password": pw}, 409},
		{"short password", map[string]any{"username": "carol", "password": "short"}, 400},
		{"no password", map[string]any{"username": "carol"}, 400},
		{"bad email", map[string]any{"username": "carol", "password": pw, "email": "Carol <c@example.com>"}, 400},
		{"blank username", map[string]any{"username": " carol", "password": pw}, 400},
		{"verified without email", map[string]any{"username": "carol", "password": pw, "email_verified": true}, 400},
		// Look-alikes of an existing name (RFC 8265 §3.3 canonical form).
		{"other case", map[string]any{"username": "BOB", "password": pw}, 409},
		{"full width", map[string]any{"username": "ｂｏｂ", "password": pw}, 409},
		{"NUL byte", map[string]any{"username": "bo\u0000b", "password": pw}, 400},
		{"space inside", map[string]any{"username": "bo b", "password": pw}, 400},
	} {
		if r := h.do(http.MethodPost, "/admin/users", tt.body); r.status != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, r.status, tt.want, r.body)
		} else if strings.Contains(string(r.body), "short\"") {
			t.Errorf("%s: the error echoes the password: %s", tt.name, r.body)
		}
	}

	var found []map[string]any
	h.want(h.do(http.MethodGet, "/admin/users?username=alice", nil), 200).json(t, &found)
	if len(found) != 1 || found[0]["id"] != "user-alice" {
		t.Fatalf("lookup by username: %v", found)
	}
	h.want(h.do(http.MethodGet, "/admin/users?username=ALICE", nil), 200).json(t, &found)
	if len(found) != 1 || found[0]["id"] != "user-alice" {
		t.Errorf("lookup by another case of the username: %v", found)
	}
	h.want(h.do(http.MethodGet, "/admin/users?username=nobody", nil), 200).json(t, &found)
	if len(found) != 0 {
		t.Errorf("lookup of an unknown username: %v", found)
	}
	h.want(h.do(http.MethodGet, "/admin/users", nil), 200).json(t, &found)
	if len(found) != 2 {
		t.Errorf("list: %v", found)
	}
	h.want(h.do(http.MethodGet, "/admin/users/user-alice", nil), 200)
	h.want(h.do(http.MethodGet, "/admin/users/nope", nil), 404)

	// Alice signs in from two browsers: two sessions, two grants.
	ctx := latchtest.ClientContext(t.Context())
	tok1, conf := h.e.CodeFlow(h.e.Browser(), "openid")
	h.e.CodeFlow(h.e.Browser(), "openid")
	var sessions []map[string]any
	h.want(h.do(http.MethodGet, "/admin/users/user-alice/sessions", nil), 200).json(t, &sessions)
	if len(sessions) != 2 || sessions[0]["amr"].([]any)[0] != "pwd" {
		t.Errorf("sessions: %v", sessions)
	}
	var grants []map[string]any
	h.want(h.do(http.MethodGet, "/admin/users/user-alice/grants", nil), 200).json(t, &grants)
	if len(grants) != 2 || grants[0]["client_id"] != "spa" || grants[0]["revoked_at"] != nil {
		t.Errorf("grants: %v", grants)
	}

	// Log out everywhere: sessions end, refresh tokens die.
	var res struct {
		Sessions int `json:"sessions_ended"`
		Grants   int `json:"grants_revoked"`
	}
	h.want(h.do(http.MethodDelete, "/admin/users/user-alice/sessions", nil), 200).json(t, &res)
	if res.Sessions != 2 || res.Grants != 2 {
		t.Errorf("log out everywhere = %+v, want 2 sessions and 2 grants", res)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok1.RefreshToken}).Token(); err == nil {
		t.Error("a refresh token works after log out everywhere")
	}
	h.want(h.do(http.MethodGet, "/admin/users/user-alice/sessions", nil), 200).json(t, &sessions)
	if len(sessions) != 0 {
		t.Errorf("sessions after log out everywhere: %v", sessions)
	}
	h.want(h.do(http.MethodDelete, "/admin/users/nope/sessions", nil), 404)

	// Set a password: the old one stops working, the new one works.
	h.want(h.do(http.MethodPut, "/admin/users/user-alice/password", map[string]any{"password": "short"}), 400)
	h.want(h.do(http.MethodPut, "/admin/users/user-alice/password", map[string]any{"password": pw, "logout": true}), 200).json(t, &res)
	b := h.e.Browser()
	p := b.Get(h.e.OAuthConfig("spa", latchtest.SPARedirect, "openid").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if p = b.Login(p, "alice", latchtest.AlicePassword); p.Status != http.StatusUnauthorized {
		t.Errorf("old password after set-password: %d, want 401", p.Status)
	}
	if p = b.Login(p, "alice", pw); p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		t.Errorf("new password after set-password: %d", p.Status)
	}

	h.want(h.do(http.MethodDelete, "/admin/users/"+u.ID, nil), http.StatusNoContent)
	h.want(h.do(http.MethodDelete, "/admin/users/"+u.ID, nil), 404)
	audit := h.audit.String()
	for _, want := range []string{"admin_user_created", "admin_user_logged_out", "admin_password_set", "admin_user_deleted"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if strings.Contains(audit, pw) {
		t.Error("a password is in the audit log")
	}
}

func TestAdminKeys(t *testing.T) {
	h := newHarness(t, adminToken)
	var keys []map[string]any
	h.want(h.do(http.MethodGet, "/admin/keys", nil), 200).json(t, &keys)
	if len(keys) == 0 {
		t.Fatal("no keys listed")
	}
	var old string
	for _, k := range keys {
		if k["alg"] == "ES256" && k["status"] == "active" {
			old = k["kid"].(string)
		}
	}
	type rotation struct {
		Key struct {
			Kid, Alg, Status string
			ActivateAt       time.Time `json:"activate_at"`
		} `json:"key"`
		Retired          string `json:"retired"`
		AlreadyScheduled bool   `json:"already_scheduled"`
		Warning          string `json:"warning"`
	}
	kidOf := func() any {
		tok, _ := h.e.CodeFlow(h.e.Browser(), "openid")
		hdr, _ := latchtest.DecodeJWT(t, tok.AccessToken)
		return hdr["kid"]
	}
	// Scheduled by default: published now, signing later.
	var res rotation
	h.want(h.do(http.MethodPost, "/admin/keys/rotate", nil), http.StatusCreated).json(t, &res)
	if res.Key.Alg != "ES256" || res.Key.Status != "next" || res.Retired != old || res.Key.Kid == old || res.Warning != "" {
		t.Errorf("rotate = %+v, previous %s; want a next key retiring it, no warning", res, old)
	}
	if kid := kidOf(); kid != old {
		t.Errorf("access token kid right after a scheduled rotation = %v, want the old key %s until %v", kid, old, res.Key.ActivateAt)
	}
	// A second request finds it pending.
	var again rotation
	h.want(h.do(http.MethodPost, "/admin/keys/rotate", nil), http.StatusOK).json(t, &again)
	if !again.AlreadyScheduled || again.Key.Kid != res.Key.Kid {
		t.Errorf("rotate while scheduled = %+v, want already_scheduled with %s", again, res.Key.Kid)
	}
	// The emergency path: signs at once, and says what it may break.
	h.e.Clock.Advance(time.Second)
	var now rotation
	h.want(h.do(http.MethodPost, "/admin/keys/rotate", map[string]any{"now": true}), http.StatusCreated).json(t, &now)
	if now.Key.Status != "active" || now.Retired != old || !strings.Contains(now.Warning, "relying parties") {
		t.Errorf("rotate now = %+v, want an active key retiring %s, with a warning", now, old)
	}
	if kid := kidOf(); kid != now.Key.Kid {
		t.Errorf("access token kid = %v, want the new key %s", kid, now.Key.Kid)
	}
	h.want(h.do(http.MethodPost, "/admin/keys/rotate", map[string]any{"alg": "EdDSA"}), http.StatusCreated)
	h.want(h.do(http.MethodPost, "/admin/keys/rotate", map[string]any{"alg": "HS256"}), 400)
	h.want(h.do(http.MethodPost, "/admin/keys/rotate", map[string]any{"alg": "none"}), 400)
	var pruned map[string]int
	h.want(h.do(http.MethodPost, "/admin/keys/prune", nil), 200).json(t, &pruned)
	if pruned["pruned"] != 0 {
		t.Errorf("prune right after a rotation deleted %d keys (the retired key is still published)", pruned["pruned"])
	}
	if !strings.Contains(h.audit.String(), "admin_key_rotated") {
		t.Error("rotation not audited")
	}
}

// TestAdminClientWarnings: a client change returns the service's
// warnings (registration.ClientWarnings, the sentences the CLI prints),
// and none once the cause is fixed; an app served from the issuer's
// origin needs no allowed origin.
func TestAdminClientWarnings(t *testing.T) {
	h := newHarness(t, adminToken, func(o *admin.Options) { o.Issuer = "https://id.example" })
	var res struct {
		ClientID string   `json:"client_id"`
		Warnings []string `json:"warnings"`
	}
	h.want(h.do(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": "webapp", "client_type": "public", "redirect_uris": []string{"https://app.example/cb"},
	}), http.StatusCreated).json(t, &res)
	if res.ClientID != "webapp" || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "latch client update webapp --allowed-origin https://app.example") {
		t.Errorf("POST webapp without an origin: %+v, want one allowed-origin warning", res)
	}
	r := h.want(h.do(http.MethodPatch, "/admin/clients/webapp", map[string]any{"allowed_origins": []string{"https://app.example"}}), http.StatusOK)
	if strings.Contains(string(r.body), "warnings") {
		t.Errorf("PATCH with the origin still warns: %s", r.body)
	}
	r = h.want(h.do(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": "home", "client_type": "public", "redirect_uris": []string{"https://id.example/app/cb"},
	}), http.StatusCreated)
	if strings.Contains(string(r.body), "warnings") {
		t.Errorf("an app on the issuer's origin warns: %s", r.body)
	}
}
