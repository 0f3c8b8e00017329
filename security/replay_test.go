package security

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// TestFormReplay: each sealed form (login, consent, logout confirmation)
// is single-use. A captured or re-sent submission — the browser's "resend"
// on a shared computer, a proxy log, a second click — is refused with
// Latch's error page: it neither signs in again (the login POST carries
// the password), nor records a second consent and code, nor ends a later
// session.
func TestFormReplay(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	requireSignedIn := func(t *testing.T, b *latchtest.Browser) {
		t.Helper()
		requireCodeRedirect(t, b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))), latchtest.SPARedirect)
	}
	logoutConfirm := func(t *testing.T, b *latchtest.Browser) url.Values {
		t.Helper()
		p := b.Get(e.Issuer + "/logout")
		return url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"logout"}}
	}

	t.Run("login form re-sent after the user signed out", func(t *testing.T) {
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
		form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword}}
		requireCodeRedirect(t, b.Post(e.Issuer+"/login", form), latchtest.SPARedirect)
		b.Post(e.Issuer+"/logout/confirm", logoutConfirm(t, b))
		requireNotSignedIn(t, e, b)

		requireErrorPage(t, b.Post(e.Issuer+"/login", form))
		requireNotSignedIn(t, e, b)
	})
	t.Run("login form re-sent while signed in", func(t *testing.T) {
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
		form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword}}
		requireCodeRedirect(t, b.Post(e.Issuer+"/login", form), latchtest.SPARedirect)
		requireErrorPage(t, b.Post(e.Issuer+"/login", form))
	})
	t.Run("a failed attempt's form is spent; the re-rendered one works", func(t *testing.T) {
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
		failed := b.Login(p, "alice", "wrong password")
		requireErrorPage(t, b.Login(p, "alice", latchtest.AlicePassword))
		requireCodeRedirect(t, b.Login(failed, "alice", latchtest.AlicePassword), latchtest.SPARedirect)
	})
	t.Run("consent form re-sent", func(t *testing.T) {
		b := e.Browser()
		c := b.Login(b.Get(authorizeURL(e, authParams("app", appRedirect, v))), "alice", latchtest.AlicePassword)
		if !latchtest.IsConsentPage(c) {
			t.Fatalf("setup: want the consent page, got %d", c.Status)
		}
		form := url.Values{"interaction": {latchtest.Hidden(t, c.Body)}, "decision": {"allow"}}
		requireCodeRedirect(t, b.Post(e.Issuer+"/consent", form), appRedirect)
		requireErrorPage(t, b.Post(e.Issuer+"/consent", form))
	})
	t.Run("logout confirmation re-sent in a later session", func(t *testing.T) {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		form := logoutConfirm(t, b)
		b.Post(e.Issuer+"/logout/confirm", form)
		requireNotSignedIn(t, e, b)
		e.IssueCode(b, "spa", latchtest.SPARedirect) // signs in again
		requireErrorPage(t, b.Post(e.Issuer+"/logout/confirm", form))
		requireSignedIn(t, b)
	})
}

// TestFormReplayBurst: one captured login form submitted N times at once
// from its browser: exactly one submission signs in and gets a code; every
// other one gets the error page (UseOnce is atomic in the store, so this
// holds across instances sharing a database). On SQLite and PostgreSQL.
func TestFormReplayBurst(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { formReplayBurst(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		formReplayBurst(t, s)
	})
}

func formReplayBurst(t *testing.T, st store.Store) {
	const n = 20
	loose := func(c *config.Config) {
		c.LoginMaxFailures, c.IPMaxFailures, c.ClientMaxFailures = 1<<20, 1<<20, 1<<20
	}
	e := latchtest.StartWith(t, latchtest.Options{Config: []func(*config.Config){loose}, Store: st})
	b := e.Browser()
	p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	body := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword}}.Encode()

	type result struct {
		status   int
		location string
		err      error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/login", strings.NewReader(body))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			<-start
			resp, err := b.Client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = result{status: resp.StatusCode, location: resp.Header.Get("Location")}
		})
	}
	close(start)
	wg.Wait()
	codes := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("submission %d: %v", i, r.err)
		case strings.HasPrefix(r.location, latchtest.SPARedirect) && strings.Contains(r.location, "code="):
			codes++
		case r.status >= 400 && r.status < 500 && r.location == "":
		default:
			t.Errorf("submission %d: status %d Location %q, want a code or the error page", i, r.status, r.location)
		}
	}
	if codes != 1 {
		t.Errorf("%d of %d concurrent submissions of one login form got a code, want exactly 1", codes, n)
	}
	if got := strings.Count(e.AuditLog(), `"event":"login_succeeded"`); got != 1 {
		t.Errorf("%d login_succeeded audit events, want 1", got)
	}
}
