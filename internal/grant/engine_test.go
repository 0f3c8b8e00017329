package grant_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

const (
	issuer   = "https://latch.test"
	spaID    = "spa"
	spaURI   = "https://app.test/cb"
	svcID    = "svc"
	svcPass  = "svc-secret"
	userID   = "u1"
	verifier = "dBjftJeZ4CVP-mJ92K9bmmxZp5y1bOBT7qnYpNf2z3Q" // RFC 7636 App. B
)

// env is an Engine over a real SQLite store, with a fixed clock and the
// audit events it recorded. No HTTP anywhere.
type env struct {
	t      testing.TB
	store  store.Store
	keys   *token.Keys
	engine *grant.Engine
	now    time.Time

	mu     sync.Mutex
	events []string
}

// backends open the stores the concurrency tests run on.
var backends = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", openSQLite},
	{"postgres", func(t testing.TB) store.Store {
		st, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		return st
	}},
}

func openSQLite(t testing.TB) store.Store {
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/latch.db")
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	return st
}

func newEnv(t *testing.T) *env { return newEnvOn(t, openSQLite(t)) }

func newEnvOn(t testing.TB, st store.Store) *env {
	t.Helper()
	ctx := t.Context()
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	secret := []byte("0123456789abcdef0123456789abcdef-grant-test")
	sealer, err := seal.New(secret, "signing-keys")
	if err != nil {
		t.Fatal(err)
	}
	e.keys, err = token.NewKeys(token.KeysConfig{Store: st, Sealer: sealer, Algs: []string{token.ES256}, Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	chainKey, err := seal.DeriveKey(secret, "refresh-chain", 32)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := token.NewChain(chainKey)
	if err != nil {
		t.Fatal(err)
	}
	e.engine, err = grant.New(grant.Config{
		Issuer: issuer, Store: st, Signer: e.keys, Chain: chain, Now: e.clock, Audit: e.audit,
		Lifetimes: grant.Lifetimes{
			AccessToken: 10 * time.Minute, IDToken: 10 * time.Minute,
			PublicRefreshIdle: time.Hour, PublicRefreshAbsolute: 24 * time.Hour,
			ConfidentialRefreshIdle: time.Hour, ConfidentialRefreshAbsolute: 24 * time.Hour,
		},
	})
	if err != nil {
		t.Fatalf("grant.New: %v", err)
	}
	for _, c := range []store.Client{
		{ID: spaID, Public: true, RedirectURIs: []string{spaURI}, CreatedAt: e.now,
			GrantTypes: []string{string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken)}},
		{ID: svcID, SecretHash: token.Hash(svcPass), Audiences: []string{"https://api.test"}, CreatedAt: e.now,
			Scopes: []string{"read", "write"}, GrantTypes: []string{string(oauth.GrantClientCredentials)}},
	} {
		if err := st.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateUser(ctx, store.User{ID: userID, Username: "alice", Name: "Alice", CreatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time { return e.now }

func (e *env) audit(_ context.Context, event string, _ ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, event)
}

func (e *env) sawEvent(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.events, name)
}

// authenticate runs the one step that makes an AuthenticatedClient.
func (e *env) authenticate(cred oauth.ClientCredentials) grant.AuthenticatedClient {
	e.t.Helper()
	c, err := e.engine.Authenticate(e.t.Context(), netip.MustParseAddr("192.0.2.1"), cred)
	if err != nil {
		e.t.Fatalf("Authenticate(%q): %v", cred.ID, err)
	}
	return c
}

func (e *env) spa() grant.AuthenticatedClient {
	return e.authenticate(oauth.ClientCredentials{ID: spaID, Method: oauth.AuthNone})
}

// newCode stores an authorization code for the SPA with a PKCE S256
// challenge for verifier, as /authorize would, and returns it.
func (e *env) newCode() string {
	e.t.Helper()
	raw := token.NewOpaque()
	sum := sha256.Sum256([]byte(verifier))
	err := e.store.CreateAuthCode(e.t.Context(), store.AuthCode{
		Hash: token.Hash(raw), ClientID: spaID, UserID: userID, SessionID: "sid-1", GrantID: "g-" + raw[:8],
		RedirectURI: spaURI, Scopes: []string{oauth.ScopeOpenID, oauth.ScopeProfile}, Nonce: "n-1",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
		AuthTime: e.now, AMR: []string{"pwd"}, CreatedAt: e.now, ExpiresAt: e.now.Add(time.Minute),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func codeRequest(code, v string) *oauth.TokenRequest {
	return &oauth.TokenRequest{
		GrantType: oauth.GrantAuthorizationCode, Client: oauth.ClientCredentials{ID: spaID, Method: oauth.AuthNone},
		Code: code, RedirectURI: spaURI, CodeVerifier: v,
	}
}

func refreshRequest(rt string) *oauth.TokenRequest {
	return &oauth.TokenRequest{
		GrantType: oauth.GrantRefreshToken, Client: oauth.ClientCredentials{ID: spaID, Method: oauth.AuthNone}, RefreshToken: rt,
	}
}

// wantCode fails unless err is an *oauth.Error with code want.
func wantCode(t *testing.T, what string, err error, want oauth.Code) {
	t.Helper()
	e, ok := oauth.As(err)
	if !ok || e.Code != want {
		t.Fatalf("%s: error %v, want %s", what, err, want)
	}
}

func TestExchangeCode(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	resp, err := e.engine.Token(ctx, e.spa(), codeRequest(e.newCode(), verifier), nil)
	if err != nil {
		t.Fatalf("Token(authorization_code): %v", err)
	}
	if resp.TokenType != "Bearer" || resp.RefreshToken == "" || resp.IDToken == "" || resp.ExpiresIn != 600 || resp.Scope != "openid profile" {
		t.Errorf("response %+v, want a Bearer token, a refresh token, an ID token, 600 s, scope openid profile", resp)
	}
	at, err := e.keys.VerifyAccessToken(ctx, resp.AccessToken, issuer, 0)
	if err != nil {
		t.Fatalf("VerifyAccessToken: %v", err)
	}
	if at.Subject != userID || at.ClientID != spaID || !slices.Equal(at.Audience, []string{issuer}) {
		t.Errorf("access token sub %q client_id %q aud %v, want %q %q [%s]", at.Subject, at.ClientID, at.Audience, userID, spaID, issuer)
	}
	var id token.IDClaims
	if err := e.keys.Verify(ctx, resp.IDToken, token.TypeIDToken, &id); err != nil {
		t.Fatalf("Verify(ID token): %v", err)
	}
	if id.Subject != userID || id.Nonce != "n-1" || id.Name != "Alice" || id.SID != "sid-1" || id.AtHash == "" {
		t.Errorf("ID token %+v, want sub %q, nonce n-1, name Alice, sid sid-1, at_hash", id, userID)
	}
	if !e.sawEvent("token_issued") {
		t.Errorf("audit events %v, want token_issued", e.events)
	}
}

// A wrong verifier is refused and spends nothing: the same code then
// redeems with the right one (RFC 7636 §4.6).
func TestExchangeCodePKCEFailure(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	code := e.newCode()
	for _, v := range []string{"", "wrong-verifier-wrong-verifier-wrong-verifier"} {
		_, err := e.engine.Token(ctx, e.spa(), codeRequest(code, v), nil)
		wantCode(t, fmt.Sprintf("verifier %q", v), err, oauth.InvalidGrant)
	}
	if _, err := e.engine.Token(ctx, e.spa(), codeRequest(code, verifier), nil); err != nil {
		t.Fatalf("redeeming after two refused attempts: %v", err)
	}
}

// A code redeemed twice is a replay: the second gets invalid_grant and
// the grant issued from the first is revoked (RFC 6749 §4.1.2).
func TestExchangeCodeReplay(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	code := e.newCode()
	first, err := e.engine.Token(ctx, e.spa(), codeRequest(code, verifier), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.Token(ctx, e.spa(), codeRequest(code, verifier), nil)
	wantCode(t, "replayed code", err, oauth.InvalidGrant)
	if !e.sawEvent("code_replay_detected") {
		t.Errorf("audit events %v, want code_replay_detected", e.events)
	}
	_, err = e.engine.Token(ctx, e.spa(), refreshRequest(first.RefreshToken), nil)
	wantCode(t, "refresh token of the replayed code's grant", err, oauth.InvalidGrant)
}

// burst runs fn n times at once and counts the calls that succeeded.
func burst(t *testing.T, n int, fn func() error) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wg.Go(func() {
			if fn() == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return won
}

// Concurrent redemptions of one code, on both stores: at most one gets
// tokens (a replay racing the first redemption revokes the grant, so
// none may).
func TestExchangeCodeBurst(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvOn(t, b.open(t))
			code, c := e.newCode(), e.spa()
			const n = 8
			won := burst(t, n, func() error {
				_, err := e.engine.Token(t.Context(), c, codeRequest(code, verifier), nil)
				return err
			})
			if won > 1 {
				t.Errorf("%d of %d concurrent redemptions of one code got tokens, want at most 1", won, n)
			}
		})
	}
}

// Concurrent refreshes of one refresh token without a grace window, on
// both stores: at most one gets a successor (RFC 9700 §4.14.2); the
// others are reuse, and the grant is revoked.
func TestRefreshBurst(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvOn(t, b.open(t))
			first, err := e.engine.Token(t.Context(), e.spa(), codeRequest(e.newCode(), verifier), nil)
			if err != nil {
				t.Fatal(err)
			}
			c := e.spa()
			const n = 8
			won := burst(t, n, func() error {
				_, err := e.engine.Token(t.Context(), c, refreshRequest(first.RefreshToken), nil)
				return err
			})
			if won > 1 {
				t.Errorf("%d of %d concurrent refreshes of one token got a successor, want at most 1", won, n)
			}
		})
	}
}

// Every refresh returns a successor and retires the presented token; the
// retired one presented again revokes the grant (RFC 9700 §4.14.2).
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	first, err := e.engine.Token(ctx, e.spa(), codeRequest(e.newCode(), verifier), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	second, err := e.engine.Token(ctx, e.spa(), refreshRequest(first.RefreshToken), nil)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh returned refresh token %q, want a new one", second.RefreshToken)
	}
	if second.IDToken == "" {
		t.Errorf("refresh of an openid grant returned no ID token")
	}
	_, err = e.engine.Token(ctx, e.spa(), refreshRequest(first.RefreshToken), nil)
	wantCode(t, "retired refresh token", err, oauth.InvalidGrant)
	if !e.sawEvent("refresh_token_reuse_detected") {
		t.Errorf("audit events %v, want refresh_token_reuse_detected", e.events)
	}
	_, err = e.engine.Token(ctx, e.spa(), refreshRequest(second.RefreshToken), nil)
	wantCode(t, "successor after reuse", err, oauth.InvalidGrant)
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ip := netip.MustParseAddr("192.0.2.1")
	cred := oauth.ClientCredentials{ID: svcID, Secret: "wrong", Method: oauth.AuthClientSecretBasic}
	_, err := e.engine.Authenticate(ctx, ip, cred)
	wantCode(t, "wrong secret", err, oauth.InvalidClient)

	cred.Secret = svcPass
	svc := e.authenticate(cred)
	req := &oauth.TokenRequest{GrantType: oauth.GrantClientCredentials, Client: cred, Scopes: []string{"read"}, Resources: []string{"https://api.test"}}
	resp, err := e.engine.Token(ctx, svc, req, nil)
	if err != nil {
		t.Fatalf("Token(client_credentials): %v", err)
	}
	if resp.RefreshToken != "" || resp.IDToken != "" || resp.Scope != "read" {
		t.Errorf("response %+v, want no refresh token, no ID token, scope read", resp)
	}
	at, err := e.keys.VerifyAccessToken(ctx, resp.AccessToken, issuer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if at.Subject != svcID || !slices.Equal(at.Audience, []string{"https://api.test"}) {
		t.Errorf("access token sub %q aud %v, want %q [https://api.test]", at.Subject, at.Audience, svcID)
	}

	req.Scopes = []string{"admin"}
	_, err = e.engine.Token(ctx, svc, req, nil)
	wantCode(t, "scope beyond the registration", err, oauth.InvalidScope)

	// A public client is never registered for it.
	_, err = e.engine.Token(ctx, e.spa(), &oauth.TokenRequest{GrantType: oauth.GrantClientCredentials}, nil)
	wantCode(t, "public client", err, oauth.UnauthorizedClient)
}

// The zero AuthenticatedClient — what code that skipped Authenticate
// would hold — reaches no grant, and spends nothing.
func TestTokenRefusesUnauthenticatedClient(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	code := e.newCode()
	_, err := e.engine.Token(ctx, grant.AuthenticatedClient{}, codeRequest(code, verifier), nil)
	wantCode(t, "zero AuthenticatedClient", err, oauth.InvalidClient)
	if _, err := e.engine.Token(ctx, e.spa(), codeRequest(code, verifier), nil); err != nil {
		t.Errorf("the code was spent by the refused request: %v", err)
	}
}

// The structure that makes client authentication unskippable: no field of
// AuthenticatedClient can be set outside this package, and no exported
// method of the Engine takes a bare store.Client.
func TestGrantsTakeOnlyAuthenticatedClients(t *testing.T) {
	ac := reflect.TypeFor[grant.AuthenticatedClient]()
	for f := range ac.Fields() {
		if f.IsExported() {
			t.Errorf("AuthenticatedClient.%s is exported: any package could forge an authenticated client", f.Name)
		}
	}
	clientType := reflect.TypeFor[store.Client]()
	eng := reflect.TypeFor[*grant.Engine]()
	for m := range eng.Methods() {
		for i := range m.Type.NumIn() {
			if in := m.Type.In(i); in == clientType || in == reflect.PointerTo(clientType) {
				t.Errorf("Engine.%s takes a %v: a grant must take a grant.AuthenticatedClient", m.Name, in)
			}
		}
	}
}

// A throttle that refuses is answered slow_down without the secret being
// checked; a lockout started by a wrong secret is audited.
func TestAuthenticateThrottled(t *testing.T) {
	e := newEnv(t)
	refused := &fakeThrottle{refuse: true}
	eng, err := grant.New(grant.Config{Issuer: issuer, Store: e.store, Signer: e.keys, Chain: mustChain(t), Now: e.clock, Audit: e.audit, Throttle: refused})
	if err != nil {
		t.Fatal(err)
	}
	cred := oauth.ClientCredentials{ID: svcID, Secret: svcPass, Method: oauth.AuthClientSecretPost}
	_, err = eng.Authenticate(t.Context(), netip.Addr{}, cred)
	wantCode(t, "refused attempt", err, oauth.SlowDown)
	if oe, _ := oauth.As(err); oe.RetryAfter != 2 {
		t.Errorf("RetryAfter = %d, want 2 (1.5 s rounded up)", oe.RetryAfter)
	}
	if !e.sawEvent("client_auth_throttled") {
		t.Errorf("audit events %v, want client_auth_throttled", e.events)
	}

	counting := &fakeThrottle{lockout: time.Minute}
	eng, _ = grant.New(grant.Config{Issuer: issuer, Store: e.store, Signer: e.keys, Chain: mustChain(t), Now: e.clock, Audit: e.audit, Throttle: counting})
	cred.Secret = "wrong"
	_, err = eng.Authenticate(t.Context(), netip.Addr{}, cred)
	wantCode(t, "wrong secret", err, oauth.InvalidClient)
	cred.Secret = svcPass
	if _, err := eng.Authenticate(t.Context(), netip.Addr{}, cred); err != nil {
		t.Fatal(err)
	}
	if counting.failed != 1 || counting.succeeded != 1 || !e.sawEvent("client_locked_out") {
		t.Errorf("failed %d succeeded %d events %v, want 1, 1 and client_locked_out", counting.failed, counting.succeeded, e.events)
	}
	// A public client presents no secret: nothing to throttle.
	if _, err := eng.Authenticate(t.Context(), netip.Addr{}, oauth.ClientCredentials{ID: spaID, Method: oauth.AuthNone}); err != nil || counting.reserved != 2 {
		t.Errorf("public client: %v, %d reservations, want none", err, counting.reserved-2)
	}
}

// TestAuthenticateAbandoned: an attempt whose secret was never judged
// (here the store cannot answer: the request's context is gone) gives its
// reservation back instead of counting as a failure, so overload or an
// outage never turns into lockouts.
func TestAuthenticateAbandoned(t *testing.T) {
	e := newEnv(t)
	th := &fakeThrottle{}
	eng, err := grant.New(grant.Config{Issuer: issuer, Store: e.store, Signer: e.keys, Chain: mustChain(t), Now: e.clock, Audit: e.audit, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cred := oauth.ClientCredentials{ID: svcID, Secret: svcPass, Method: oauth.AuthClientSecretPost}
	if _, err := eng.Authenticate(ctx, netip.Addr{}, cred); err == nil {
		t.Fatal("Authenticate with a cancelled context succeeded")
	}
	if th.reserved != 1 || th.abandoned != 1 || th.failed != 0 || th.succeeded != 0 {
		t.Errorf("reserved %d abandoned %d failed %d succeeded %d; want 1, 1, 0, 0", th.reserved, th.abandoned, th.failed, th.succeeded)
	}
}

type fakeThrottle struct {
	refuse                                 bool
	lockout                                time.Duration
	reserved, failed, succeeded, abandoned int
	// quiet: CheckQuietly runs the check (no failure seen); a false
	// check makes it suspect, as the server's quiet view does.
	quiet bool
}

func (f *fakeThrottle) CheckQuietly(_ context.Context, _ string, _ netip.Addr, check func() bool) bool {
	if !f.quiet {
		return false
	}
	if check() {
		return true
	}
	f.quiet = false
	return false
}

func (f *fakeThrottle) Reserve(context.Context, string, netip.Addr) (grant.ClientAttempt, time.Duration, error) {
	f.reserved++
	if f.refuse {
		return nil, 1500 * time.Millisecond, nil
	}
	return fakeAttempt{f}, 0, nil
}

// TestAuthenticateQuietFastPath: with no failure seen, a right secret is
// answered without a reservation (issue 13: no store write), while a
// wrong one is never answered from the fast path: it is reserved and
// counted, and every later attempt, right or wrong, is reserved too.
func TestAuthenticateQuietFastPath(t *testing.T) {
	e := newEnv(t)
	th := &fakeThrottle{quiet: true}
	eng, err := grant.New(grant.Config{Issuer: issuer, Store: e.store, Signer: e.keys, Chain: mustChain(t), Now: e.clock, Audit: e.audit, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	cred := oauth.ClientCredentials{ID: svcID, Secret: svcPass, Method: oauth.AuthClientSecretPost}
	if _, err := eng.Authenticate(t.Context(), netip.Addr{}, cred); err != nil {
		t.Fatal(err)
	}
	if th.reserved != 0 {
		t.Errorf("right secret, quiet: %d reservations, want 0 (the fast path)", th.reserved)
	}
	cred.Secret = "wrong"
	_, err = eng.Authenticate(t.Context(), netip.Addr{}, cred)
	wantCode(t, "wrong secret", err, oauth.InvalidClient)
	if th.reserved != 1 || th.failed != 1 {
		t.Errorf("wrong secret: reserved %d failed %d, want 1 and 1 (counted on the reserved path)", th.reserved, th.failed)
	}
	cred.Secret = svcPass
	if _, err := eng.Authenticate(t.Context(), netip.Addr{}, cred); err != nil {
		t.Fatal(err)
	}
	if th.reserved != 2 || th.succeeded != 1 {
		t.Errorf("right secret after a failure: reserved %d succeeded %d, want 2 and 1 (no fast path once suspect)", th.reserved, th.succeeded)
	}
}

type fakeAttempt struct{ f *fakeThrottle }

func (a fakeAttempt) Failed(context.Context) (time.Duration, error) {
	a.f.failed++
	return a.f.lockout, nil
}

func (a fakeAttempt) Succeeded(context.Context) error {
	a.f.succeeded++
	return nil
}

func (a fakeAttempt) Abandoned(context.Context) error {
	a.f.abandoned++
	return nil
}

func mustChain(t *testing.T) *token.Chain {
	c, err := token.NewChain(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BenchmarkExchangeCode is the authorization_code grant alone (no HTTP):
// authenticate a public client, redeem a PKCE code, mint an access, ID
// and refresh token, on SQLite.
func BenchmarkExchangeCode(b *testing.B) {
	e := newEnvOn(b, openSQLite(b))
	for b.Loop() {
		b.StopTimer()
		code := e.newCode()
		b.StartTimer()
		if _, err := e.engine.Token(b.Context(), e.spa(), codeRequest(code, verifier), nil); err != nil {
			b.Fatal(err)
		}
	}
}
