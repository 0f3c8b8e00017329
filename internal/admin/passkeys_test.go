package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/admin"
	"github.com/latchauth/latch/internal/store"
)

// TestPasskeyRoutes: a passkey-only user is created over the API with its
// registration link; its passkeys are listed and one is deleted
// (audited).
func TestPasskeyRoutes(t *testing.T) {
	h := newHarness(t, adminToken, func(o *admin.Options) { o.Issuer = "https://id.example.com" })
	h.want(h.do(http.MethodPost, "/admin/users", map[string]any{"username": "pat", "passkey_only": true, "password": "pat-password-1"}), http.StatusBadRequest)
	var created struct {
		ID   string `json:"id"`
		Link struct {
			URL string `json:"url"`
		} `json:"registration_link"`
	}
	h.want(h.do(http.MethodPost, "/admin/users", map[string]any{"username": "pat", "passkey_only": true}), http.StatusCreated).json(t, &created)
	if created.ID == "" || !strings.HasPrefix(created.Link.URL, "https://id.example.com/account/reset?") {
		t.Fatalf("created %+v", created)
	}
	pk := store.Factor{UserID: created.ID, ID: "pk-AQID", Kind: store.FactorPasskey, Name: "Phone", Counter: 3,
		Secret: []byte(`{"id":"AQID","flags":{"backupEligible":true}}`), CreatedAt: h.e.Clock.Now()}
	if err := h.e.Store.SaveFactors(t.Context(), created.ID, nil, pk); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	h.want(h.do(http.MethodGet, "/admin/users/"+created.ID+"/passkeys", nil), http.StatusOK).json(t, &list)
	if len(list) != 1 || list[0]["id"] != "pk-AQID" || list[0]["backup_eligible"] != true || list[0]["sign_count"] != 3.0 {
		t.Fatalf("passkeys: %v", list)
	}
	h.want(h.do(http.MethodDelete, "/admin/users/"+created.ID+"/passkeys/pk-nope", nil), http.StatusNotFound)
	h.want(h.do(http.MethodDelete, "/admin/users/"+created.ID+"/passkeys/pk-AQID", nil), http.StatusNoContent)
	h.want(h.do(http.MethodGet, "/admin/users/nobody/passkeys", nil), http.StatusNotFound)
	if !strings.Contains(h.audit.String(), "admin_passkey_deleted") {
		t.Errorf("audit:\n%s", h.audit.String())
	}
}
