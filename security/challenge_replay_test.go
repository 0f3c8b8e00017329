package security

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// Replayed PKCE challenges and nonces (RFC 9700 §2.1.1: code_challenge
// and nonce MUST be transaction-specific). A client that sends one again
// is broken (a fixed verifier) or attacked (a challenge injected from
// another transaction, §4.5.3). Latch remembers each client's values
// (hashed) for challenge-replay-window, audits and counts a reuse, and
// refuses it for a client registered with require_fresh_challenge.

const freshRedirect = "https://fresh.example/cb"

// freshClients registers "fresh" (require_fresh_challenge) and "lax" (the
// default: reuse is only reported), both first-party public clients.
func freshClients(e *latchtest.Env) {
	for _, c := range []store.Client{
		{ID: "fresh", Public: true, FirstParty: true, RedirectURIs: []string{freshRedirect},
			GrantTypes: []string{"authorization_code"}, RequireFreshChallenge: true},
		{ID: "lax", Public: true, FirstParty: true, RedirectURIs: []string{freshRedirect},
			GrantTypes: []string{"authorization_code"}},
	} {
		e.MustClient(c)
	}
}

// authorizeIn asks for a code in the signed-in browser b and returns the
// redirect's query.
func authorizeIn(t *testing.T, e *latchtest.Env, b *latchtest.Browser, q url.Values) url.Values {
	t.Helper()
	return latchtest.Callback(t, b.Get(authorizeURL(e, q)))
}

// TestReplayedPKCEChallenge: a second authorization request of one client
// with the challenge (or nonce) of an earlier one gets a redirected
// invalid_request when the client requires fresh values, and a code but
// an audit event and a metric otherwise. Another client may send the same
// value: values are per client.
func TestReplayedPKCEChallenge(t *testing.T) {
	e := start(t)
	freshClients(e)
	b := e.Browser()
	latchtest.Callback(t, signIn(b, authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))) // sign in once

	for _, kind := range []string{"code_challenge", "nonce"} {
		t.Run(kind, func(t *testing.T) {
			first := func(client string) url.Values {
				q := authParams(client, freshRedirect, oauth2.GenerateVerifier())
				q.Set("nonce", oauth2.GenerateVerifier())
				return q
			}
			// again is another request of the same client with only the
			// value of kind taken from q.
			again := func(q url.Values) url.Values {
				r := first(q.Get("client_id"))
				r.Set(kind, q.Get(kind))
				return r
			}
			for _, client := range []string{"fresh", "lax"} {
				q := first(client)
				if got := authorizeIn(t, e, b, q); got.Get("code") == "" {
					t.Fatalf("control: %s's first request: %v, want a code", client, got)
				}
			}
			q := first("fresh")
			authorizeIn(t, e, b, q)
			got := authorizeIn(t, e, b, again(q))
			if got.Get("code") != "" || got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), kind) ||
				got.Get("state") != "st-123" || got.Get("iss") != e.Issuer {
				t.Errorf("fresh, %s sent again: %v; want a redirected invalid_request naming %s, with state and iss", kind, got, kind)
			}
			// Another client may use the same value.
			other := again(q)
			other.Set("client_id", "lax")
			if got := authorizeIn(t, e, b, other); got.Get("code") == "" {
				t.Errorf("lax with fresh's %s: %v, want a code (values are per client)", kind, got)
			}
			// lax reuses its own value: a code, but reported.
			l := first("lax")
			authorizeIn(t, e, b, l)
			if got := authorizeIn(t, e, b, again(l)); got.Get("code") == "" {
				t.Errorf("lax, %s sent again: %v, want a code (reported, not refused)", kind, got)
			}
			if v := e.MetricValue("latch_challenge_replay_detected_total", "kind", kind, "refused", "true"); v != 1 {
				t.Errorf("latch_challenge_replay_detected_total{kind=%s,refused=true} = %v, want 1", kind, v)
			}
			if v := e.MetricValue("latch_challenge_replay_detected_total", "kind", kind, "refused", "false"); v != 1 {
				t.Errorf("latch_challenge_replay_detected_total{kind=%s,refused=false} = %v, want 1", kind, v)
			}
		})
	}
	audit := e.AuditLog()
	for _, want := range []string{
		`"event":"challenge_replay_detected","client_id":"fresh","kind":"code_challenge","refused":true`,
		`"event":"challenge_replay_detected","client_id":"lax","kind":"nonce","refused":false`,
	} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestReplayedPKCEChallengeBurst: N authorization requests with one
// challenge at once, refusal on: exactly one gets a code, every other a
// redirected invalid_request, on both stores.
func TestReplayedPKCEChallengeBurst(t *testing.T) {
	const n = 12
	onBothStores(t, func(t *testing.T, st store.Store, _ string) {
		e := startOn(t, st)
		freshClients(e)
		b := e.Browser()
		latchtest.Callback(t, signIn(b, authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))))
		challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
		results := make([]url.Values, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q := authParams("fresh", freshRedirect, "")
				q.Set("code_challenge", challenge)
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authorizeURL(e, q), nil)
				if err != nil {
					errs[i] = err
					return
				}
				<-start
				resp, err := b.Client.Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				resp.Body.Close()
				loc, err := url.Parse(resp.Header.Get("Location"))
				if err != nil {
					errs[i] = err
					return
				}
				results[i] = loc.Query()
			}()
		}
		close(start)
		wg.Wait()
		codes := 0
		for i, q := range results {
			switch {
			case errs[i] != nil:
				t.Fatalf("request %d: %v", i, errs[i])
			case q.Get("code") != "":
				codes++
			case q.Get("error") != "invalid_request":
				t.Errorf("request %d: %v, want a code or invalid_request", i, q)
			}
		}
		if codes != 1 {
			t.Errorf("%d concurrent requests with one challenge: %d codes, want exactly 1", n, codes)
		}
	})
}
