package security

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/token"
)

// Issue 13 takes the store out of the hot path of client authentication
// (a right secret on an instance that has seen no failure reserves
// nothing) and caches client registrations. These are the attacks on
// what that could weaken.

// postTo posts form to path on the instance at base with mutate applied.
func postTo(t *testing.T, base, path string, form url.Values, mutate func(*http.Request)) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	mutate(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClientSecretFastPathAfterLockoutElsewhere: an attacker locks a
// client out on instance A by guessing, then guesses on instance B,
// which has seen no failure. B's first wrong guess is answered from the
// store's budgets (429, locked), and from then on B refuses the right
// secret too: a quiet instance gives an attacker at most its first
// guess outside the budgets, never a second. SQLite and PostgreSQL.
func TestClientSecretFastPathAfterLockoutElsewhere(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store, dsn string) {
		e := startOn(t, st)
		bStore := e.Store
		if dsn != "" {
			bStore = openPostgres(t, dsn)
		}
		other, _ := e.NewInstanceOn(bStore)
		b := httptest.NewServer(other)
		t.Cleanup(b.Close)
		form := url.Values{"token": {"x"}}
		// Positive control: B is quiet, the right secret is served.
		if code := postTo(t, b.URL, "/introspect", form, withSecret(e, "app")); code != http.StatusOK {
			t.Fatalf("right secret on B before the attack: %d, want 200", code)
		}
		for i := range 10 {
			if code := postTo(t, e.Issuer, "/introspect", form, basic("app", fmt.Sprintf("guess-%d", i))); code != http.StatusUnauthorized {
				t.Fatalf("guess %d on A: %d, want 401", i, code)
			}
		}
		if code := postTo(t, e.Issuer, "/introspect", form, withSecret(e, "app")); code != http.StatusTooManyRequests {
			t.Fatalf("right secret on A after 10 failures: %d, want 429", code)
		}
		if code := postTo(t, b.URL, "/introspect", form, basic("app", "guess-on-b")); code != http.StatusTooManyRequests {
			t.Errorf("first wrong guess on quiet B while locked out: %d, want 429 (counted in the store, never answered from the fast path)", code)
		}
		if code := postTo(t, b.URL, "/introspect", form, withSecret(e, "app")); code != http.StatusTooManyRequests {
			t.Errorf("right secret on B after its first wrong guess: %d, want 429 (B is suspect: no second check outside the budgets)", code)
		}
	})
}

// TestDeletedClientAcrossInstances: client registrations are cached per
// instance for at most 2 s (clientCacheTTL). A client deleted, or its
// secret rotated, through one instance's store is refused by another
// instance, which had it cached, once that bound has passed: the deleted
// client's secret and the old secret stop working. PostgreSQL (two
// pools: two processes).
func TestDeletedClientAcrossInstances(t *testing.T) {
	dsn := pgtest.NewTestDB(t)
	e := startOn(t, openPostgres(t, dsn))
	e.MustClient(store.Client{ID: "svc", Name: "Service", GrantTypes: []string{"client_credentials"}})
	e.MustClient(store.Client{ID: "svc2", Name: "Service 2", GrantTypes: []string{"client_credentials"}})
	other, _ := e.NewInstanceOn(openPostgres(t, dsn))
	b := httptest.NewServer(other)
	t.Cleanup(b.Close)
	cc := url.Values{"grant_type": {"client_credentials"}}
	for _, id := range []string{"svc", "svc2"} { // B caches both
		if code := postTo(t, b.URL, "/token", cc, withSecret(e, id)); code != http.StatusOK {
			t.Fatalf("%s on B: %d, want 200", id, code)
		}
	}
	// Another instance (here: the store A uses) deletes svc and rotates
	// svc2's secret.
	if err := e.Store.DeleteClient(t.Context(), "svc"); err != nil {
		t.Fatal(err)
	}
	c2, err := e.Store.GetClient(t.Context(), "svc2")
	if err != nil {
		t.Fatal(err)
	}
	oldSecret, newSecret := e.Secrets["svc2"], token.NewOpaque()
	c2.SecretHash = token.Hash(newSecret)
	if err := e.Store.UpdateClient(t.Context(), c2); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Second) // the documented bound
	if code := postTo(t, b.URL, "/token", cc, withSecret(e, "svc")); code != http.StatusUnauthorized {
		t.Errorf("deleted client's secret on B after the bound: %d, want 401", code)
	}
	if code := postTo(t, b.URL, "/token", cc, basic("svc2", oldSecret)); code != http.StatusUnauthorized {
		t.Errorf("rotated-out secret on B after the bound: %d, want 401", code)
	}
	if code := postTo(t, b.URL, "/token", cc, basic("svc2", newSecret)); code != http.StatusOK {
		t.Errorf("new secret on B after the bound: %d, want 200", code)
	}
}
