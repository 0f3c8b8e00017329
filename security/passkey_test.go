package security

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// Passkeys (issue 15, WebAuthn through go-webauthn): an assertion
// answers one challenge once (the challenge travels in the sealed,
// single-use login form); an assertion made for another origin or RP ID
// is refused (phishing); a signature counter that goes backwards (a
// cloned authenticator) is refused and audited; a passkey policy is
// enforced. The software authenticator is latchtest.Authenticator; the
// browser test e2e/passkeys.test.js does the same with Chromium's.

// startPasskeys starts Latch on localhost (passkeys need a domain name)
// over st (nil: SQLite).
func startPasskeys(t *testing.T, st store.Store, mutate ...func(*config.Config)) *latchtest.Env {
	t.Helper()
	return latchtest.StartWith(t, latchtest.Options{Config: mutate, CaptureLog: true, Store: st, Localhost: true})
}

// registerPasskey signs b in as alice with her password and adds a's
// passkey on the account page.
func registerPasskey(t *testing.T, e *latchtest.Env, b *latchtest.Browser, a *latchtest.Authenticator) {
	t.Helper()
	p := accountPage(t, e, b)
	opts := latchtest.PasskeyOptions(p.Body)
	if opts == "" {
		t.Fatalf("the account page offers no passkey:\n%s", p.Body)
	}
	p = accountAction(t, e, b, p, "passkey-add", url.Values{"name": {"Laptop"}, "credential": {a.Create(t, opts, e.Issuer)}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your passkey was added.") {
		t.Fatalf("adding the passkey: %d\n%s", p.Status, p.Body)
	}
}

// passkeyLoginPage opens the account page's login page in a fresh
// browser: its interaction and passkey options.
func passkeyLoginPage(t *testing.T, e *latchtest.Env) (*latchtest.Browser, string, string) {
	t.Helper()
	b := e.Browser()
	p := b.Get(e.Issuer + "/account")
	opts := latchtest.PasskeyOptions(p.Body)
	if !latchtest.IsLoginPage(p) || opts == "" {
		t.Fatalf("login page without a passkey: %d\n%s", p.Status, p.Body)
	}
	return b, latchtest.Hidden(t, p.Body), opts
}

func postAssertion(b *latchtest.Browser, e *latchtest.Env, interaction, credential string) latchtest.Page {
	return b.Post(e.Issuer+"/login/passkey", url.Values{"interaction": {interaction}, "credential": {credential}})
}

func signedIn(p latchtest.Page) bool {
	return p.Status == http.StatusOK && strings.Contains(p.Body, `id="page-title">Your account`)
}

func TestPasskeySignIn(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	registerPasskey(t, e, e.Browser(), a)
	b, in, opts := passkeyLoginPage(t, e)
	p := postAssertion(b, e, in, a.Get(t, opts, e.Issuer, ""))
	if !signedIn(p) {
		t.Fatalf("passkey sign-in: %d\n%s", p.Status, p.Body)
	}
	// amr hwk (a device-bound key) and mfa (user verification).
	if !strings.Contains(p.Body, "<code>hwk mfa</code>") {
		t.Errorf("session methods: want hwk mfa on the account page:\n%s", p.Body)
	}
	if !strings.Contains(p.Body, "last used") {
		t.Errorf("the passkey's last use is not shown:\n%s", p.Body)
	}
}

// TestPasskeyChallengeReplayBurst: one captured assertion sent by many
// browsers at once, each with the same sealed form (and so the same
// challenge): exactly one signs in, on SQLite and PostgreSQL. A replay
// with a fresh form (another challenge) is refused too.
func TestPasskeyChallengeReplayBurst(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			var st store.Store
			if be.open != nil {
				st = be.open(t)
			}
			e := startPasskeys(t, st)
			a := latchtest.NewAuthenticator(t)
			// No signature counter (as synced passkeys): only the
			// challenge's single use stands between a replay and a
			// session.
			a.NoCounter = true
			registerPasskey(t, e, e.Browser(), a)
			b, in, opts := passkeyLoginPage(t, e)
			cred := a.Get(t, opts, e.Issuer, "")
			// Each attacker browser carries the victim's CSRF cookie.
			u, _ := url.Parse(e.Issuer)
			const n = 20
			var wg sync.WaitGroup
			pages := make([]latchtest.Page, n)
			for i := range n {
				c := e.Browser()
				c.Client.Jar.SetCookies(u, b.Client.Jar.Cookies(u))
				wg.Go(func() { pages[i] = postAssertion(c, e, in, cred) })
			}
			wg.Wait()
			wins := 0
			for _, p := range pages {
				if signedIn(p) {
					wins++
				} else if p.Status != http.StatusBadRequest && p.Status != http.StatusUnauthorized {
					t.Errorf("replayed assertion: status %d, want 400 or 401", p.Status)
				}
			}
			if wins != 1 {
				t.Fatalf("%d of %d concurrent submissions of one assertion signed in, want exactly 1", wins, n)
			}
			// Without a counter the sign-in still records its last use.
			if fs, err := e.Store.ListFactors(t.Context(), "user-alice"); err != nil || len(fs) != 1 || fs[0].LastUsedAt.IsZero() || fs[0].Counter != 0 {
				t.Errorf("the counterless passkey after its sign-in: %+v %v, want a last use and counter 0", fs, err)
			}
			b2, in2, _ := passkeyLoginPage(t, e)
			if p := postAssertion(b2, e, in2, cred); signedIn(p) || p.Status != http.StatusUnauthorized {
				t.Fatalf("the assertion with a fresh challenge: %d, want 401", p.Status)
			}
		})
	}
}

// TestPasskeyCrossOrigin: a phishing page relays Latch's challenge to the
// user's authenticator. Signed for the phishing origin, or for another
// RP ID, the assertion is refused.
func TestPasskeyCrossOrigin(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	registerPasskey(t, e, e.Browser(), a)
	port := strings.TrimPrefix(e.Issuer, "http://localhost:")
	t.Run("a key Latch never registered, naming alice", func(t *testing.T) {
		stranger := latchtest.NewAuthenticator(t)
		stranger.Create(t, `{"challenge":"AA","rp":{"id":"localhost"},"user":{"id":"`+base64.RawURLEncoding.EncodeToString([]byte("user-alice"))+`"}}`, e.Issuer)
		b, in, opts := passkeyLoginPage(t, e)
		if p := postAssertion(b, e, in, stranger.Get(t, opts, e.Issuer, "")); signedIn(p) || p.Status != http.StatusUnauthorized {
			t.Fatalf("unregistered key: %d, want 401", p.Status)
		}
	})
	for _, tc := range []struct{ name, origin, rpID string }{
		{"another origin", "http://evil.localhost:" + port, ""},
		{"another RP ID", e.Issuer, "evil.localhost"},
		{"another origin and RP ID", "http://evil.localhost:" + port, "evil.localhost"},
		{"another port", "http://localhost:1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, in, opts := passkeyLoginPage(t, e)
			p := postAssertion(b, e, in, a.Get(t, opts, tc.origin, tc.rpID))
			if signedIn(p) || p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "could not be verified") {
				t.Fatalf("assertion from %s for RP ID %q: %d, want 401\n%s", tc.origin, tc.rpID, p.Status, p.Body)
			}
		})
	}
}

// TestPasskeyCounterRegression: a signature counter that does not grow
// past the stored one is a cloned authenticator (WebAuthn §6.1.1): the
// sign-in is refused and audited; the genuine authenticator still signs
// in. Of two assertions with one counter sent at once (a clone racing
// the original), exactly one signs in.
func TestPasskeyCounterRegression(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	registerPasskey(t, e, e.Browser(), a)
	a.Count = 10
	b, in, opts := passkeyLoginPage(t, e)
	if p := postAssertion(b, e, in, a.Get(t, opts, e.Issuer, "")); !signedIn(p) {
		t.Fatalf("first sign-in: %d\n%s", p.Status, p.Body)
	}
	for _, c := range []uint32{11, 5} { // 11: equal to the stored counter; 5: below it
		b, in, opts := passkeyLoginPage(t, e)
		p := postAssertion(b, e, in, a.GetWithCounter(t, opts, e.Issuer, c))
		if signedIn(p) || p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "signature counter went backwards") {
			t.Fatalf("counter %d after 11: %d, want 401\n%s", c, p.Status, p.Body)
		}
	}
	if !strings.Contains(e.AuditLog(), `"event":"passkey_counter_regressed"`) {
		t.Errorf("no passkey_counter_regressed audit event:\n%s", e.AuditLog())
	}
	b, in, opts = passkeyLoginPage(t, e)
	if p := postAssertion(b, e, in, a.GetWithCounter(t, opts, e.Issuer, 12)); !signedIn(p) {
		t.Fatalf("the genuine authenticator: %d\n%s", p.Status, p.Body)
	}

	const n = 8
	var wg sync.WaitGroup
	wins := make([]bool, n)
	for i := range n {
		b, in, opts := passkeyLoginPage(t, e)
		cred := a.GetWithCounter(t, opts, e.Issuer, 20)
		wg.Go(func() { wins[i] = signedIn(postAssertion(b, e, in, cred)) })
	}
	wg.Wait()
	if got := countTrue(wins); got != 1 {
		t.Fatalf("%d of %d concurrent assertions with one counter signed in, want exactly 1", got, n)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// TestPasskeyPolicy: under authentication_policy=passkey a password
// sign-in is not enough: the user with a passkey is asked for it (the
// code then carries acr phr); one without a passkey gets
// unmet_authentication_requirements.
func TestPasskeyPolicy(t *testing.T) {
	e := startPasskeys(t, nil, func(c *config.Config) { c.AuthenticationPolicy = "passkey" })
	a := latchtest.NewAuthenticator(t)
	b := e.Browser()
	registerPasskey(t, e, b, a)
	b.Post(e.Issuer+"/logout", url.Values{})

	b = e.Browser()
	p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	p = b.Login(p, "alice", latchtest.AlicePassword)
	if !strings.Contains(p.Body, "Sign in with a passkey to continue.") || strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("after the password under a passkey policy: %d, want the passkey-only login page\n%s", p.Status, p.Body)
	}
	p = postAssertion(b, e, latchtest.Hidden(t, p.Body), a.Get(t, latchtest.PasskeyOptions(p.Body), e.Issuer, ""))
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("after the passkey: %d %q, want a code\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}

	e.MustUser(store.User{ID: "bob-id", Username: "bob", PasswordHash: mustHash(t, e, "bob-password-1")})
	b = e.Browser()
	p = b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	p = b.Login(p, "bob", "bob-password-1")
	loc, _ = url.Parse(p.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "unmet_authentication_requirements" {
		t.Fatalf("bob without a passkey: %d %q, want unmet_authentication_requirements", p.Status, p.Header.Get("Location"))
	}
}

// TestPromptLoginAsksForThePasskey: prompt=login is a fresh sign-in with
// the strongest method the user has. Alice has a passkey, so after her
// password the login page asks for the passkey only, and the code comes
// after it; without prompt=login, the password alone is enough.
func TestPromptLoginAsksForThePasskey(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	b := e.Browser()
	registerPasskey(t, e, b, a)

	params := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())
	params.Set("prompt", "login")
	p := b.Get(authorizeURL(e, params))
	p = b.Login(p, "alice", latchtest.AlicePassword)
	if !strings.Contains(p.Body, "Sign in with a passkey to continue.") || strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("prompt=login, after the password of a user with a passkey: %d, want the passkey-only login page\n%s", p.Status, p.Body)
	}
	p = postAssertion(b, e, latchtest.Hidden(t, p.Body), a.Get(t, latchtest.PasskeyOptions(p.Body), e.Issuer, ""))
	if loc, err := url.Parse(p.Header.Get("Location")); err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("after the passkey: %d %q, want a code", p.Status, p.Header.Get("Location"))
	}

	b.Post(e.Issuer+"/logout", url.Values{})
	b = e.Browser()
	p = b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	p = b.Login(p, "alice", latchtest.AlicePassword)
	if loc, err := url.Parse(p.Header.Get("Location")); err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("control, no prompt=login: %d %q, want a code after the password", p.Status, p.Header.Get("Location"))
	}
}

func mustHash(t *testing.T, e *latchtest.Env, pw string) string {
	t.Helper()
	h, err := e.Passwords.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPasskeyDiscovery: discovery advertises acr phr exactly when
// passkeys are on (an issuer on a domain name), not on an IP address.
func TestPasskeyDiscovery(t *testing.T) {
	for _, tc := range []struct {
		e    *latchtest.Env
		want bool
	}{{startPasskeys(t, nil), true}, {latchtest.Start(t), false}} {
		resp, err := http.Get(tc.e.Issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ACRs []string `json:"acr_values_supported"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(doc.ACRs, "urn:latch:acr:phr"); got != tc.want {
			t.Errorf("%s: acr_values_supported %v has phr: %v, want %v", tc.e.Issuer, doc.ACRs, got, tc.want)
		}
	}
}

// TestPasskeyLoginCSRF: a hostile page cannot post a passkey sign-in
// (login CSRF: signing the victim in as the attacker, whose assertion it
// holds): cross-origin posts are refused, and so is the attacker's own
// form in the victim's browser (bound to the attacker's CSRF cookie).
func TestPasskeyLoginCSRF(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	registerPasskey(t, e, e.Browser(), a)
	for _, kind := range []string{"Origin", "Sec-Fetch-Site cross-site"} {
		b, in, opts := passkeyLoginPage(t, e)
		form := url.Values{"interaction": {in}, "credential": {a.Get(t, opts, e.Issuer, "")}}
		p := postForm(t, b, e.Issuer+"/login/passkey", form, crossOrigin(kind))
		requireErrorPage(t, p)
		if _, set := cookie(p, "latch_session"); set {
			t.Errorf("cross-origin (%s) passkey sign-in set a session cookie", kind)
		}
	}
	_, in, opts := passkeyLoginPage(t, e) // the attacker's browser
	victim := e.Browser()
	victim.Get(e.Issuer + "/account") // the victim has a CSRF cookie of their own
	requireErrorPage(t, postAssertion(victim, e, in, a.Get(t, opts, e.Issuer, "")))
}

// TestPasskeyRemoval: a password-only session cannot remove a passkey (a
// stolen password must not strip the stronger method); a passkey
// session can; a passkey-only account keeps its last passkey.
func TestPasskeyRemoval(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	b := e.Browser()
	registerPasskey(t, e, b, a)
	fs, err := e.Store.ListFactors(t.Context(), "user-alice")
	if err != nil || len(fs) != 1 {
		t.Fatalf("factors: %v %v", fs, err)
	}
	id := fs[0].ID
	p := accountAction(t, e, b, accountPage(t, e, b), "passkey-delete", url.Values{"passkey": {id}})
	if !strings.Contains(p.Body, "sign in with a passkey or your authenticator app first") {
		t.Fatalf("removal from a password session: %d\n%s", p.Status, p.Body)
	}
	b, in, opts := passkeyLoginPage(t, e)
	p = postAssertion(b, e, in, a.Get(t, opts, e.Issuer, ""))
	p = accountAction(t, e, b, p, "passkey-delete", url.Values{"passkey": {id}})
	if !strings.Contains(p.Body, "Your passkey was removed.") {
		t.Fatalf("removal from a passkey session: %d\n%s", p.Status, p.Body)
	}
	if fs, _ := e.Store.ListFactors(t.Context(), "user-alice"); len(fs) != 0 {
		t.Fatalf("factors after removal: %v", fs)
	}
	if !strings.Contains(e.AuditLog(), `"event":"passkey_removed"`) {
		t.Error("no passkey_removed audit event")
	}

	// A passkey-only account (no password; latch user create
	// --passkey-only) registers its passkey on its one-time link, signs
	// in with it, and keeps its last passkey.
	e.MustUser(store.User{ID: "user-pat", Username: "pat"})
	secret := "registration-link-secret-0123456789"
	if err := e.Store.SaveFactors(t.Context(), "user-pat", nil, store.Factor{UserID: "user-pat",
		ID: registration.ResetLinkID(secret), Kind: store.FactorResetLink, CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	pat := latchtest.NewAuthenticator(t)
	b = e.Browser()
	link := e.Issuer + "/account/reset?" + url.Values{"u": {"user-pat"}, "t": {secret}}.Encode()
	p = b.Get(link)
	opts = latchtest.PasskeyOptions(p.Body)
	if opts == "" || strings.Contains(p.Body, `name="new_password"`) {
		t.Fatalf("registration link of a passkey-only account: %d\n%s", p.Status, p.Body)
	}
	p = b.Post(e.Issuer+"/account/reset", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "name": {"Phone"}, "credential": {pat.Create(t, opts, e.Issuer)}})
	if !strings.Contains(p.Body, "Your passkey is set.") {
		t.Fatalf("creating the passkey on the link: %d\n%s", p.Status, p.Body)
	}
	if p := b.Get(link); p.Status != http.StatusNotFound {
		t.Fatalf("the link after use: %d, want 404", p.Status)
	}
	b, in, opts = passkeyLoginPage(t, e)
	p = postAssertion(b, e, in, pat.Get(t, opts, e.Issuer, ""))
	if !signedIn(p) || !strings.Contains(p.Body, "Signed in as <strong>pat</strong>") {
		t.Fatalf("pat's passkey sign-in: %d\n%s", p.Status, p.Body)
	}
	fs, _ = e.Store.ListFactors(t.Context(), "user-pat")
	var pk string
	for _, f := range fs {
		if f.Kind == store.FactorPasskey {
			pk = f.ID
		}
	}
	p = accountAction(t, e, b, p, "passkey-delete", url.Values{"passkey": {pk}})
	if !strings.Contains(p.Body, "This is your only way to sign in") {
		t.Fatalf("removing the last passkey of a passkey-only account: %d\n%s", p.Status, p.Body)
	}
}

// TestPasskeyStepUp: a request for acr mfa from a password session of a
// user whose only stronger method is a passkey steps up with the passkey
// (acr phr satisfies mfa), without the password again.
func TestPasskeyStepUp(t *testing.T) {
	e := startPasskeys(t, nil)
	a := latchtest.NewAuthenticator(t)
	b := e.Browser()
	registerPasskey(t, e, b, a) // b is signed in with the password
	v := oauth2.GenerateVerifier()
	q := authParams("spa", latchtest.SPARedirect, v)
	q.Set("acr_values", "urn:latch:acr:mfa")
	p := b.Get(authorizeURL(e, q))
	if !strings.Contains(p.Body, "Sign in with a passkey to continue.") {
		t.Fatalf("acr mfa from a password session: %d, want the passkey step\n%s", p.Status, p.Body)
	}
	p = postAssertion(b, e, latchtest.Hidden(t, p.Body), a.Get(t, latchtest.PasskeyOptions(p.Body), e.Issuer, ""))
	id, access := tokenClaims(t, e, requireCodeRedirect(t, p, latchtest.SPARedirect), v)
	// The tokens say how the user signed in: a device-bound passkey with
	// user verification.
	for name, c := range map[string]map[string]any{"ID token": id, "access token": access} {
		if c["acr"] != oauth.ACRPhishingResistant || strings.Join(toStrings(c["amr"]), " ") != "hwk mfa" {
			t.Errorf("%s acr=%v amr=%v, want %s and hwk mfa", name, c["acr"], c["amr"], oauth.ACRPhishingResistant)
		}
	}
}
