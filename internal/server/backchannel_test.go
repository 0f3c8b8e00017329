package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// receiver is a relying party's back-channel logout endpoint on a real
// TLS server. It validates every Logout Token as an RP must (OpenID
// Connect Back-Channel Logout 1.0 §2.6) with go-jose against Latch's
// JWKS, and answers with the statuses queued in fail (then 200).
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	issuer   string
	clientID string

	mu       sync.Mutex
	fail     []int    // statuses to answer before succeeding
	tokens   []claims // valid tokens received
	invalid  []string // why a token was refused
	attempts int
}

type claims struct {
	jwt.Claims
	SID    string                     `json:"sid"`
	Nonce  *string                    `json:"nonce"`
	Events map[string]json.RawMessage `json:"events"`
}

func newReceiver(t *testing.T, issuer, clientID string) *receiver {
	r := &receiver{t: t, issuer: issuer, clientID: clientID}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if len(r.fail) > 0 {
		code := r.fail[0]
		r.fail = r.fail[1:]
		w.WriteHeader(code)
		return
	}
	c, err := r.validate(req)
	if err != nil {
		r.invalid = append(r.invalid, err.Error())
		http.Error(w, "invalid logout token", http.StatusBadRequest) // §2.8
		return
	}
	r.tokens = append(r.tokens, c)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// validate is §2.6's validation, step by step.
func (r *receiver) validate(req *http.Request) (claims, error) {
	var c claims
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return c, fmt.Errorf("%s with %q, want a form POST", req.Method, req.Header.Get("Content-Type"))
	}
	if err := req.ParseForm(); err != nil {
		return c, err
	}
	raw := req.PostForm.Get("logout_token")
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return c, fmt.Errorf("parse: %w", err)
	}
	if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != "logout+jwt" {
		return c, fmt.Errorf("typ %q, want logout+jwt", typ)
	}
	resp, err := http.Get(r.issuer + "/jwks.json")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	var jwks jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		return c, err
	}
	keys := jwks.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		return c, fmt.Errorf("kid %q not in the JWKS", tok.Headers[0].KeyID)
	}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		return c, fmt.Errorf("signature: %w", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: r.issuer, AnyAudience: jwt.Audience{r.clientID}}, time.Hour); err != nil {
		return c, err
	}
	if c.IssuedAt == nil || c.Expiry == nil || c.ID == "" {
		return c, fmt.Errorf("iat, exp and jti are required: %+v", c.Claims)
	}
	if ev, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok || string(ev) != "{}" || len(c.Events) != 1 {
		return c, fmt.Errorf("events = %v, want exactly the back-channel logout event with {}", c.Events)
	}
	if c.Nonce != nil {
		return c, fmt.Errorf("a Logout Token must not contain nonce (§2.4)")
	}
	if c.SID == "" && c.Subject == "" {
		return c, fmt.Errorf("neither sub nor sid")
	}
	return c, nil
}

func (r *receiver) got() (tokens []claims, invalid []string, attempts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]claims(nil), r.tokens...), append([]string(nil), r.invalid...), r.attempts
}

// bothStores runs fn on a fresh SQLite store (st nil: latchtest makes
// one) and a fresh PostgreSQL database.
func bothStores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// bclOptions makes the server trust the receivers' test certificate and
// take the whole backoff (no jitter), so tests know when a retry is due.
func bclOptions(maxAge time.Duration) func(*server.Options) {
	return func(o *server.Options) {
		o.Backchannel.Transport = httptest.NewTLSServer(http.NotFoundHandler()).Client().Transport
		o.Backchannel.Jitter = func(d time.Duration) time.Duration { return d }
		o.Backchannel.MinBackoff = 5 * time.Second
		o.Backchannel.MaxAge = maxAge
	}
}

// signInRP signs alice in at the spa client (registered with the
// receiver's URI) and returns the ID token and its sid.
func signInRP(t *testing.T, e *latchtest.Env, b *latchtest.Browser) (rawID, sid string) {
	t.Helper()
	tok, _ := e.CodeFlow(b, "openid")
	rawID, _ = tok.Extra("id_token").(string)
	_, cl := latchtest.DecodeJWT(t, rawID)
	sid, _ = cl["sid"].(string)
	if sid == "" {
		t.Fatalf("the ID token has no sid: %v", cl)
	}
	return rawID, sid
}

func setBackchannelURI(t *testing.T, e *latchtest.Env, clientID, uri string) {
	t.Helper()
	c, err := e.Store.GetClient(t.Context(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	c.BackchannelLogoutURI = uri
	if err := e.Store.UpdateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

func deliver(t *testing.T, e *latchtest.Env) int {
	t.Helper()
	n, err := e.Latch.DeliverBackchannelLogouts(t.Context())
	if err != nil {
		t.Fatalf("DeliverBackchannelLogouts: %v", err)
	}
	return n
}

func pending(t *testing.T, st store.Store) int {
	t.Helper()
	n, err := st.PendingBackchannelLogouts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBackchannelLogoutDelivered: RP-initiated logout at Latch sends the
// client that got tokens in the session a Logout Token its receiver
// validates with go-jose against the JWKS: typ logout+jwt, iss, aud, the
// session's sid, sub, the events claim, no nonce.
func TestBackchannelLogoutDelivered(t *testing.T) {
	e := latchtest.StartWith(t, latchtest.Options{Server: []func(*server.Options){bclOptions(0)}})
	rcv := newReceiver(t, e.Issuer, "spa")
	setBackchannelURI(t, e, "spa", rcv.srv.URL+"/bcl")
	b := e.Browser()
	rawID, sid := signInRP(t, e, b)

	if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID)); p.Status != http.StatusOK {
		t.Fatalf("logout: %d", p.Status)
	}
	if n := pending(t, e.Store); n != 1 {
		t.Fatalf("outbox after logout = %d, want 1 (committed with the session's end)", n)
	}
	if n := deliver(t, e); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	tokens, invalid, _ := rcv.got()
	if len(invalid) > 0 || len(tokens) != 1 {
		t.Fatalf("receiver: %d valid, refused %v; want one valid token", len(tokens), invalid)
	}
	if c := tokens[0]; c.SID != sid || c.Subject != "user-alice" {
		t.Errorf("Logout Token sid %q sub %q, want the session's sid %q and user-alice", c.SID, c.Subject, sid)
	}
	if n := pending(t, e.Store); n != 0 {
		t.Errorf("outbox after delivery = %d, want 0", n)
	}
	if findEvent(auditEvents(t, e), "backchannel_logout_delivered", "client_id", "spa", "sub", "user-alice", "sid", sid) == nil {
		t.Errorf("no backchannel_logout_delivered audit event:\n%s", e.AuditLog())
	}
	if v := e.MetricValue("latch_backchannel_logouts_total", "result", "delivered"); v != 1 {
		t.Errorf("latch_backchannel_logouts_total{result=delivered} = %v, want 1", v)
	}
	// A client without a URI, or a session without the client, gets none.
	if n := deliver(t, e); n != 0 {
		t.Errorf("second round delivered %d, want 0", n)
	}
}

// TestBackchannelLogoutEverywhere: the admin's log out everywhere (and a
// password change with logout) notifies every session's client.
func TestBackchannelLogoutEverywhere(t *testing.T) {
	e := latchtest.StartWith(t, latchtest.Options{Server: []func(*server.Options){bclOptions(0)}})
	rcv := newReceiver(t, e.Issuer, "spa")
	setBackchannelURI(t, e, "spa", rcv.srv.URL+"/bcl")
	_, sid1 := signInRP(t, e, e.Browser())
	_, sid2 := signInRP(t, e, e.Browser())
	ended, queued, err := e.Store.EndUserSessions(t.Context(), "user-alice", e.Clock.Now())
	if err != nil || ended != 2 || queued != 2 {
		t.Fatalf("EndUserSessions = %d, %d, %v; want 2 sessions, 2 notifications", ended, queued, err)
	}
	deliver(t, e)
	tokens, invalid, _ := rcv.got()
	got := map[string]bool{}
	for _, c := range tokens {
		got[c.SID] = true
	}
	if len(invalid) > 0 || len(tokens) != 2 || !got[sid1] || !got[sid2] {
		t.Errorf("received sids %v (refused %v), want %s and %s", got, invalid, sid1, sid2)
	}
}

// TestBackchannelLogoutRetry: a receiver that is down (connection
// refused), then answers 503, gets the notification once it is back: each
// retry waits its exponential backoff on the injected clock.
func TestBackchannelLogoutRetry(t *testing.T) {
	e := latchtest.StartWith(t, latchtest.Options{Server: []func(*server.Options){bclOptions(time.Hour)}})
	// Reserve an address, then close it: the receiver is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	setBackchannelURI(t, e, "spa", "https://"+addr+"/bcl")
	b := e.Browser()
	rawID, sid := signInRP(t, e, b)
	b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID))

	deliver(t, e) // refused: attempt 1 fails, next in 5s
	if findEvent(auditEvents(t, e), "backchannel_logout_failed", "client_id", "spa", "sid", sid) == nil {
		t.Fatalf("no backchannel_logout_failed audit event:\n%s", e.AuditLog())
	}
	if n := deliver(t, e); n != 0 {
		t.Errorf("claimed %d before the backoff ended, want 0", n)
	}

	// The receiver comes back on the same address, answering 503 once.
	rcv := &receiver{t: t, issuer: e.Issuer, clientID: "spa", fail: []int{http.StatusServiceUnavailable}}
	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	rcv.srv = httptest.NewUnstartedServer(http.HandlerFunc(rcv.serve))
	rcv.srv.Listener = ln
	rcv.srv.StartTLS()
	t.Cleanup(rcv.srv.Close)

	e.Clock.Advance(5 * time.Second)
	deliver(t, e) // 503: attempt 2 fails, next in 10s
	if _, _, attempts := rcv.got(); attempts != 1 {
		t.Fatalf("receiver saw %d attempts, want 1", attempts)
	}
	e.Clock.Advance(9 * time.Second)
	if n := deliver(t, e); n != 0 {
		t.Errorf("claimed %d before the doubled backoff ended, want 0", n)
	}
	e.Clock.Advance(time.Second)
	deliver(t, e)
	tokens, invalid, attempts := rcv.got()
	if len(tokens) != 1 || len(invalid) > 0 || attempts != 2 || tokens[0].SID != sid {
		t.Fatalf("after the receiver is back: %d valid (sid %v), refused %v, %d attempts; want the token on the 2nd attempt", len(tokens), tokens, invalid, attempts)
	}
	if findEvent(auditEvents(t, e), "backchannel_logout_delivered", "client_id", "spa", "attempts", float64(3)) == nil {
		t.Errorf("no delivered event with attempts 3:\n%s", e.AuditLog())
	}
	if v := e.MetricValue("latch_backchannel_logouts_total", "result", "failed"); v != 2 {
		t.Errorf("failed = %v, want 2", v)
	}
	if n := pending(t, e.Store); n != 0 {
		t.Errorf("outbox = %d, want 0", n)
	}
}

// TestBackchannelLogoutGivesUp: a receiver that never answers 200 is
// dropped after the max age, audited and counted; a redirect is a
// failure, never followed.
func TestBackchannelLogoutGivesUp(t *testing.T) {
	e := latchtest.StartWith(t, latchtest.Options{Server: []func(*server.Options){bclOptions(time.Minute)}})
	followed := false
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed = true }))
	t.Cleanup(elsewhere.Close)
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(rcv.Close)
	setBackchannelURI(t, e, "spa", rcv.URL)
	b := e.Browser()
	rawID, _ := signInRP(t, e, b)
	b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID))
	for range 6 { // 5s, 10s, 20s, then past a minute
		deliver(t, e)
		e.Clock.Advance(40 * time.Second)
	}
	if followed {
		t.Error("the worker followed the receiver's redirect")
	}
	if findEvent(auditEvents(t, e), "backchannel_logout_gave_up", "client_id", "spa") == nil {
		t.Fatalf("no backchannel_logout_gave_up audit event:\n%s", e.AuditLog())
	}
	if v := e.MetricValue("latch_backchannel_logouts_total", "result", "gave_up"); v != 1 {
		t.Errorf("gave_up = %v, want 1", v)
	}
	if n := pending(t, e.Store); n != 0 {
		t.Errorf("outbox = %d after giving up, want 0", n)
	}
	if v := e.MetricValue("latch_backchannel_logouts_pending"); v != 0 {
		t.Errorf("pending gauge = %v, want 0", v)
	}
}

// TestBackchannelLogoutHTTPOnlyInDev: a Logout Token is never posted in
// clear by a production server, even to a loopback http URI that
// registration accepts for latch dev.
func TestBackchannelLogoutHTTPOnlyInDev(t *testing.T) {
	for _, dev := range []bool{false, true} {
		t.Run(fmt.Sprintf("dev=%v", dev), func(t *testing.T) {
			e := latchtest.StartWith(t, latchtest.Options{
				Config: []func(*config.Config){func(c *config.Config) { c.Dev = dev }},
				Server: []func(*server.Options){bclOptions(0)},
			})
			var hits int
			var mu sync.Mutex
			plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				mu.Unlock()
				io.Copy(io.Discard, r.Body)
			}))
			t.Cleanup(plain.Close)
			setBackchannelURI(t, e, "spa", plain.URL)
			b := e.Browser()
			rawID, _ := signInRP(t, e, b)
			b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID))
			deliver(t, e)
			mu.Lock()
			defer mu.Unlock()
			if want := map[bool]int{false: 0, true: 1}[dev]; hits != want {
				t.Errorf("http receiver got %d posts, want %d", hits, want)
			}
			if !dev && findEvent(auditEvents(t, e), "backchannel_logout_gave_up", "client_id", "spa") == nil {
				t.Errorf("no gave_up event for an http URI outside dev:\n%s", e.AuditLog())
			}
		})
	}
}

// TestBackchannelLogoutCrashSafe: the notification is committed with the
// session's end on instance A; A's worker claims it and dies before
// sending. Instance B (same database) delivers it once A's lease ends,
// and not before.
func TestBackchannelLogoutCrashSafe(t *testing.T) {
	bothStores(t, testBackchannelLogoutCrashSafe)
}

func testBackchannelLogoutCrashSafe(t *testing.T, st store.Store) {
	a := latchtest.StartWith(t, latchtest.Options{Store: st, Server: []func(*server.Options){bclOptions(0)}})
	rcv := newReceiver(t, a.Issuer, "spa")
	setBackchannelURI(t, a, "spa", rcv.srv.URL+"/bcl")
	b := latchtest.StartWith(t, latchtest.Options{
		Store: a.Store, Seeded: true, Server: []func(*server.Options){bclOptions(0)},
		Config: []func(*config.Config){func(c *config.Config) { c.Issuer = a.Issuer }},
	})
	b.Clock.Advance(a.Clock.Now().Sub(b.Clock.Now()))
	br := a.Browser()
	rawID, sid := signInRP(t, a, br)
	br.Get(logoutURL(endSession(t, a), "id_token_hint", rawID))

	// A's worker claims the row (as DeliverBackchannelLogouts does) and
	// dies before the POST.
	claimed, err := a.Store.ClaimBackchannelLogouts(t.Context(), a.Clock.Now(), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim on A: %v, %v", claimed, err)
	}
	if n := deliver(t, b); n != 0 {
		t.Fatalf("B claimed %d while A's lease runs, want 0", n)
	}
	b.Clock.Advance(time.Minute)
	if n := deliver(t, b); n != 1 {
		t.Fatalf("B claimed %d after A's lease ended, want 1", n)
	}
	tokens, invalid, _ := rcv.got()
	if len(tokens) != 1 || len(invalid) > 0 || tokens[0].SID != sid || tokens[0].ID != claimed[0].ID {
		t.Fatalf("receiver: %v (refused %v); want one token for sid %s with jti %s", tokens, invalid, sid, claimed[0].ID)
	}
}

// TestBackchannelLogoutNoDoubleDelivery: the outbox of many logouts,
// drained by two instances' workers at once, reaches the receiver once
// per notification.
func TestBackchannelLogoutNoDoubleDelivery(t *testing.T) {
	bothStores(t, testBackchannelLogoutNoDoubleDelivery)
}

func testBackchannelLogoutNoDoubleDelivery(t *testing.T, st store.Store) {
	// Small batches: many claims, so the workers' claims overlap often.
	small := func(o *server.Options) { o.Backchannel.Batch = 2 }
	a := latchtest.StartWith(t, latchtest.Options{Store: st, Server: []func(*server.Options){bclOptions(0), small}})
	rcv := newReceiver(t, a.Issuer, "spa")
	setBackchannelURI(t, a, "spa", rcv.srv.URL+"/bcl")
	b := latchtest.StartWith(t, latchtest.Options{
		Store: a.Store, Seeded: true, Server: []func(*server.Options){bclOptions(0), small},
		Config: []func(*config.Config){func(c *config.Config) { c.Issuer = a.Issuer }},
	})
	b.Clock.Advance(a.Clock.Now().Sub(b.Clock.Now()))
	const sessions = 12
	for range sessions {
		signInRP(t, a, a.Browser())
	}
	if _, queued, err := a.Store.EndUserSessions(t.Context(), "user-alice", a.Clock.Now()); err != nil || queued != sessions {
		t.Fatalf("EndUserSessions queued %d, %v", queued, err)
	}
	var wg sync.WaitGroup
	for _, e := range []*latchtest.Env{a, b, a, b, a, b, a, b} {
		wg.Go(func() {
			for {
				n, err := e.Latch.DeliverBackchannelLogouts(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	tokens, invalid, attempts := rcv.got()
	seen := map[string]int{}
	for _, c := range tokens {
		seen[c.ID]++
	}
	if attempts != sessions || len(seen) != sessions || len(invalid) > 0 {
		t.Errorf("receiver: %d posts, %d distinct jti, refused %v; want %d each", attempts, len(seen), invalid, sessions)
	}
}

// TestCodeDiesWithItsSession: a code issued in a session and redeemed
// after the user logged out would give the client tokens for a session
// whose back-channel logout was already sent (or, for a client without
// one, outlive the logout): it gets invalid_grant.
func TestCodeDiesWithItsSession(t *testing.T) {
	e := latchtest.Start(t)
	b := e.Browser()
	rawID, _ := signInRP(t, e, b)
	issued := e.IssueCode(b, "spa", latchtest.SPARedirect) // same session
	if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID)); p.Status != http.StatusOK {
		t.Fatalf("logout: %d", p.Status)
	}
	_, err := issued.Conf.Exchange(latchtest.ClientContext(t.Context()), issued.Code, oauth2.VerifierOption(issued.Verifier))
	if code := latchtest.OAuthErrorCode(err); code != "invalid_grant" {
		t.Fatalf("exchange of a code issued before logout: %v, want invalid_grant", err)
	}
}
