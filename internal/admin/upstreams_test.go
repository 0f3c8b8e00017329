package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/admin"
	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/registration"
)

// TestAdminUpstreams: add, list, show, update and delete an upstream
// OpenID Provider through the admin API: validated (400), conflicts
// (409), the client secret sealed at rest (it opens with the server's
// sealer) and never returned, every change audited.
func TestAdminUpstreams(t *testing.T) {
	h := newHarness(t, adminToken, func(o *admin.Options) {
		cfg := config.Default()
		cfg.KeyEncryptionSecret = latchtest.TestSecret
		sealer, err := app.UpstreamSealer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		o.Upstreams = sealer
	})
	body := map[string]any{"id": "corp", "issuer": "https://login.corp.example", "client_id": "latch",
		"client_secret": "s3cret-at-upstream", "link_policy": "verified-email", "display_name": "Corp"}
	var v registration.UpstreamView
	h.want(h.do(http.MethodPost, "/admin/upstreams", body), http.StatusCreated).json(t, &v)
	if !v.ClientSecretSet || v.LinkPolicy != "verified-email" || strings.Join(v.Scopes, " ") != "openid email profile" || v.UsernameClaim != "preferred_username" {
		t.Errorf("created view = %+v, want the secret set and the defaults", v)
	}
	h.want(h.do(http.MethodPost, "/admin/upstreams", body), http.StatusConflict)
	for _, bad := range []map[string]any{
		{"id": "x", "issuer": "http://login.corp.example", "client_id": "c", "link_policy": "jit"},
		{"id": "x", "issuer": "https://login.corp.example", "client_id": "c", "link_policy": "anyone"},
		{"id": "Bad ID", "issuer": "https://login.corp.example", "client_id": "c", "link_policy": "jit"},
		{"id": "x", "issuer": "https://login.corp.example?x=1", "client_id": "c", "link_policy": "jit"},
	} {
		if r := h.do(http.MethodPost, "/admin/upstreams", bad); r.status != http.StatusBadRequest {
			t.Errorf("POST %v: %d, want 400: %s", bad, r.status, r.body)
		}
	}
	r := h.want(h.do(http.MethodGet, "/admin/upstreams", nil), http.StatusOK)
	if strings.Contains(string(r.body), "s3cret") || !strings.Contains(string(r.body), `"client_secret_set": true`) {
		t.Errorf("list leaks the secret or lacks client_secret_set: %s", r.body)
	}
	stored, err := h.e.Store.GetUpstream(t.Context(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.ClientSecret), "s3cret") {
		t.Error("the client secret is stored in the clear")
	}
	h.want(h.do(http.MethodPatch, "/admin/upstreams/corp", map[string]any{"client_secret": "", "scopes": []string{"email"}}), http.StatusOK).json(t, &v)
	if v.ClientSecretSet || strings.Join(v.Scopes, " ") != "openid email" {
		t.Errorf("updated view = %+v, want no secret and scopes openid email", v)
	}
	h.want(h.do(http.MethodGet, "/admin/upstreams/corp", nil), http.StatusOK)
	h.want(h.do(http.MethodDelete, "/admin/upstreams/corp", nil), http.StatusNoContent)
	h.want(h.do(http.MethodGet, "/admin/upstreams/corp", nil), http.StatusNotFound)
	for _, ev := range []string{"admin_upstream_added", "admin_upstream_updated", "admin_upstream_deleted"} {
		if !strings.Contains(h.audit.String(), `"event":"`+ev+`"`) {
			t.Errorf("no %s audit event", ev)
		}
	}
	if strings.Contains(h.audit.String(), "s3cret") {
		t.Error("the audit log holds the client secret")
	}
}
