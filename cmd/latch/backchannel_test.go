package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestServeDeliversBackchannelLogouts: latch serve runs the delivery
// worker. A "log out everywhere" through the admin API ends a session in
// which the client got tokens, and the client's receiver gets a Logout
// Token without anyone calling the worker (latch dev: a loopback http
// receiver is allowed).
func TestServeDeliversBackchannelLogouts(t *testing.T) {
	const token = "bcl-admin-token-0123456789abcdef"
	var (
		mu  sync.Mutex
		got []string
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			mu.Lock()
			got = append(got, r.PostForm.Get("logout_token"))
			mu.Unlock()
		}
	}))
	t.Cleanup(rcv.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer, cfg.AdminToken, cfg.Dev = "http://"+ln.Addr().String(), token, true
	srv := serveInProcess(t, cfg, ln, "https://app.example/cb")

	ctx := t.Context()
	st, err := openStore(ctx, cfg.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.GetClient(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	c.BackchannelLogoutURI = rcv.URL + "/bcl"
	now := time.Now()
	for _, err := range []error{
		st.UpdateClient(ctx, c),
		st.CreateSession(ctx, store.Session{ID: "cookie-hash", SID: "sid-1", UserID: "u-alice", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
		st.CreateGrant(ctx, store.Grant{ID: "g1", ClientID: "app", UserID: "u-alice", SessionID: "sid-1", CreatedAt: now}, nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+srv.adminAddr+"/admin/users/u-alice/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log out everywhere: %s", resp.Status)
	}
	// The worker polls every 2 s; allow a few rounds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		left, err := st.PendingBackchannelLogouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Logout Token delivered (and the outbox emptied) within 10s\n%s", srv.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || strings.Count(got[0], ".") != 2 {
		t.Errorf("receiver got %q, want one JWT", got)
	}
}
