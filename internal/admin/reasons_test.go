package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/store"
)

// TestAdminRevocationReasons: "log out everywhere" ends refresh tokens
// with reason admin, a password set with logout with password_changed;
// the token endpoint names the reason, the grant view shows it as
// revoked_reason, and the audit events carry it. Deleting a client or a
// user takes its grants with it: the audit event says so.
func TestAdminRevocationReasons(t *testing.T) {
	for _, tt := range []struct {
		reason store.Reason
		end    func(h *harness)
	}{
		{store.ReasonAdmin, func(h *harness) {
			h.want(h.do(http.MethodDelete, "/admin/users/user-alice/sessions", nil), 200)
		}},
		{store.ReasonPasswordChanged, func(h *harness) {
			h.want(h.do(http.MethodPut, "/admin/users/user-alice/password", map[string]any{"password": "a brand new password", "logout": true}), 200)
		}},
	} {
		t.Run(string(tt.reason), func(t *testing.T) {
			h := newHarness(t, adminToken)
			tok, _ := h.e.CodeFlow(h.e.Browser(), "openid")
			tt.end(h)

			_, body := h.e.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"spa"}})
			desc, _ := body["error_description"].(string)
			if body["error"] != "invalid_grant" || !strings.HasSuffix(desc, grant.ReasonSuffix(tt.reason)) {
				t.Errorf("refresh after %s: %v, want invalid_grant ending in %q", tt.reason, body, grant.ReasonSuffix(tt.reason))
			}
			var grants []map[string]any
			h.want(h.do(http.MethodGet, "/admin/users/user-alice/grants", nil), 200).json(t, &grants)
			if len(grants) != 1 || grants[0]["revoked_reason"] != string(tt.reason) || grants[0]["revoked_at"] == nil {
				t.Errorf("grant view after %s: %v, want revoked_at and revoked_reason %q", tt.reason, grants, tt.reason)
			}
			if !strings.Contains(h.audit.String(), `"reason":"`+string(tt.reason)+`"`) {
				t.Errorf("no audit event with reason %s:\n%s", tt.reason, h.audit.String())
			}
		})
	}
	t.Run("deleted", func(t *testing.T) {
		h := newHarness(t, adminToken)
		var grants []map[string]any
		h.e.CodeFlow(h.e.Browser(), "openid")
		h.want(h.do(http.MethodGet, "/admin/users/user-alice/grants", nil), 200).json(t, &grants)
		if len(grants) != 1 || grants[0]["revoked_reason"] != nil {
			t.Errorf("live grant view: %v, want no revoked_reason", grants)
		}
		h.want(h.do(http.MethodDelete, "/admin/clients/spa", nil), http.StatusNoContent)
		h.want(h.do(http.MethodDelete, "/admin/users/user-alice", nil), http.StatusNoContent)
		audit := h.audit.String()
		for _, want := range []string{
			`"event":"admin_client_deleted","actor":"admin-api","client_id":"spa","reason":"client_deleted"`,
			`"event":"admin_user_deleted","actor":"admin-api","sub":"user-alice","reason":"user_deleted"`,
		} {
			if !strings.Contains(audit, want) {
				t.Errorf("audit log lacks %s:\n%s", want, audit)
			}
		}
	})
}
