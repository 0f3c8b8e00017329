package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// TestAdminInitialAccessTokens: POST /admin/initial-access-tokens makes a
// token stored as its hash with the uses asked for; bad values are 400;
// client views carry their origin.
func TestAdminInitialAccessTokens(t *testing.T) {
	h := newHarness(t, adminToken)
	var res struct {
		Token     string    `json:"initial_access_token"`
		Uses      int       `json:"uses"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	h.want(h.do(http.MethodPost, "/admin/initial-access-tokens", map[string]any{"uses": 2, "ttl": "1h"}), http.StatusCreated).json(t, &res)
	if len(res.Token) < 43 || res.Uses != 2 || !res.ExpiresAt.Equal(h.e.Clock.Now().UTC().Add(time.Hour)) {
		t.Errorf("created = %+v", res)
	}
	if got, err := h.e.Store.UseInitialAccessToken(t.Context(), token.Hash(res.Token), h.e.Clock.Now()); err != nil || got.UsesLeft != 1 {
		t.Errorf("stored token = %+v, %v", got, err)
	}
	h.want(h.do(http.MethodPost, "/admin/initial-access-tokens", nil), http.StatusCreated)
	h.want(h.do(http.MethodPost, "/admin/initial-access-tokens", map[string]any{"uses": 5000}), 400)
	h.want(h.do(http.MethodPost, "/admin/initial-access-tokens", map[string]any{"ttl": "forever"}), 400)
	h.want(h.do(http.MethodPost, "/admin/initial-access-tokens", map[string]any{"scope": "x"}), 400)
	if log := h.audit.String(); !strings.Contains(log, "admin_initial_access_token_created") || strings.Contains(log, res.Token) {
		t.Errorf("audit log = %s; want the event without the token", log)
	}

	h.e.MustClient(store.Client{ID: "https://app.example/c.json", Public: true, Origin: store.OriginCIMD, RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}})
	var views []map[string]any
	h.want(h.do(http.MethodGet, "/admin/clients", nil), 200).json(t, &views)
	origins := map[string]any{}
	for _, v := range views {
		origins[v["client_id"].(string)] = v["origin"]
	}
	if origins["https://app.example/c.json"] != "cimd" || origins["spa"] != "operator" {
		t.Errorf("client origins = %v", origins)
	}
}
