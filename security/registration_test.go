package security

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

// Dynamic client registration (RFC 7591 §5, RFC 7592 §5) opened to
// anyone: an attacker floods the endpoint to fill the clients table, and
// tries to read, change or delete other clients' registrations.

const registrationBody = `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}`

func postRegister(t *testing.T, e *latchtest.Env, bearer string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/register", strings.NewReader(registrationBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.DoJSON(req)
}

// TestRegistrationBurstPerIP: 40 registrations at once from one address
// in open mode: exactly registration-max-per-ip succeed, on both stores
// (the budget is reserved atomically before anything is written).
func TestRegistrationBurstPerIP(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			const limit, n = 5, 40
			e := startBackend(t, b, func(c *config.Config) { c.Registration = "open"; c.RegistrationMaxPerIP = limit })
			codes := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					resp, _ := postRegister(t, e, "")
					codes[i] = resp.StatusCode
				})
			}
			close(start)
			wg.Wait()
			created, limited := 0, 0
			for _, c := range codes {
				switch c {
				case http.StatusCreated:
					created++
				case http.StatusTooManyRequests:
					limited++
				}
			}
			if created != limit || limited != n-limit {
				t.Errorf("burst of %d registrations: %d created, %d refused with 429; want %d and %d (statuses %v)", n, created, limited, limit, n-limit, codes)
			}
		})
	}
}

// TestRegistrationAccessTokenHashed: the registration access token is
// stored as its SHA-256 only (the database file never contains it), and
// RFC 7592 requests need that exact token: none, a guess or another
// client's token get 401.
func TestRegistrationAccessTokenHashed(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := startOn(t, st, func(c *config.Config) { c.Registration = "open" })
	_, a := postRegister(t, e, "")
	_, b := postRegister(t, e, "")
	id, rat := a["client_id"].(string), a["registration_access_token"].(string)
	if len(rat) < 43 {
		t.Fatalf("registration_access_token %q is shorter than 256 bits of base64url", rat)
	}
	c, err := e.Store.GetClient(t.Context(), id)
	if err != nil || c.RegistrationTokenHash != token.Hash(rat) {
		t.Fatalf("stored RegistrationTokenHash = %q, %v; want token.Hash of the token", c.RegistrationTokenHash, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "latch.db*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(rat)) {
			t.Errorf("%s contains the registration access token in clear", filepath.Base(f))
		}
	}
	if !bytesContainAny(files, token.Hash(rat)) {
		t.Error("control: the token's hash is in none of the database files (is the inspection looking at the right place?)")
	}

	uri := e.Issuer + "/register/" + id
	for name, tok := range map[string]string{"none": "", "a guess": token.NewOpaque(), "another client's": b["registration_access_token"].(string), "the hash itself": token.Hash(rat)} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			req, _ := http.NewRequestWithContext(t.Context(), method, uri, nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			if resp, body := e.DoJSON(req); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %s token = %d %v, want 401", method, name, resp.StatusCode, body)
			}
		}
	}
	if _, err := e.Store.GetClient(t.Context(), id); err != nil {
		t.Errorf("the client is gone after refused deletions: %v", err)
	}
}

func bytesContainAny(files []string, s string) bool {
	for _, f := range files {
		if raw, err := os.ReadFile(f); err == nil && bytes.Contains(raw, []byte(s)) {
			return true
		}
	}
	return false
}
