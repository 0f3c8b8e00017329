package security

import (
	"encoding/base32"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// Second factors (issue 15): a TOTP code is accepted once (RFC 6238
// §5.2), within one step of drift; recovery codes are single-use; codes
// spend the password's brute-force budgets; an authorization that needs
// more than the session's acr steps up or is refused with
// unmet_authentication_requirements; the account page resists CSRF.

var (
	secretRE = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
	codesRE  = regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`)
)

// accountPage signs b in for the account page (when it is not) and
// returns the page.
func accountPage(t *testing.T, e *latchtest.Env, b *latchtest.Browser) latchtest.Page {
	t.Helper()
	p := b.Get(e.Issuer + "/account")
	if latchtest.IsLoginPage(p) {
		p = b.Login(p, "alice", latchtest.AlicePassword)
	}
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="page-title">Your account`) {
		t.Fatalf("account page: %d\n%s", p.Status, p.Body)
	}
	return p
}

// accountAction posts one of the account page's forms.
func accountAction(t *testing.T, e *latchtest.Env, b *latchtest.Browser, p latchtest.Page, action string, extra url.Values) latchtest.Page {
	t.Helper()
	form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "action": {action}}
	for k, v := range extra {
		form[k] = v
	}
	return b.Post(e.Issuer+"/account", form)
}

// enrolTOTP turns on an authenticator app for alice from the account
// page in b (signing in first when needed) and returns its secret and
// recovery codes. The confirmation code spends the current step.
func enrolTOTP(t *testing.T, e *latchtest.Env, b *latchtest.Browser) ([]byte, []string) {
	t.Helper()
	p := accountAction(t, e, b, accountPage(t, e, b), "totp-start", nil)
	m := secretRE.FindStringSubmatch(p.Body)
	if m == nil || !strings.Contains(p.Body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page without a QR code and the secret: %d\n%s", p.Status, p.Body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	p = accountAction(t, e, b, p, "totp-confirm", url.Values{"code": {totpCode(t, secret, e.Clock.Now())}})
	var codes []string
	for _, c := range codesRE.FindAllStringSubmatch(p.Body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != mfa.RecoveryCodes {
		t.Fatalf("after confirming: %d recovery codes shown, want %d:\n%s", len(codes), mfa.RecoveryCodes, p.Body)
	}
	return secret, codes
}

func totpCode(t *testing.T, secret []byte, at time.Time) string {
	t.Helper()
	c, err := mfa.Code(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// isCodePage reports whether p is the second sign-in step.
func isCodePage(p latchtest.Page) bool {
	return strings.Contains(p.Body, `name="code"`) && strings.Contains(p.Body, `action="`) && strings.Contains(p.Body, "/login/code")
}

// toCodePage starts an authorization of the SPA in a fresh browser and
// gives the password: the second step.
func toCodePage(t *testing.T, e *latchtest.Env, q url.Values) (*latchtest.Browser, latchtest.Page) {
	t.Helper()
	b := e.Browser()
	p := b.Login(b.Get(authorizeURL(e, q)), "alice", latchtest.AlicePassword)
	if !isCodePage(p) {
		t.Fatalf("after the password: want the code page, got %d\n%s", p.Status, p.Body)
	}
	return b, p
}

func submitCode(t *testing.T, e *latchtest.Env, b *latchtest.Browser, p latchtest.Page, code string) latchtest.Page {
	t.Helper()
	return b.Post(e.Issuer+"/login/code", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "code": {code}})
}

// idTokenClaims exchanges the code of q and returns the ID token's and
// the access token's claims.
func tokenClaims(t *testing.T, e *latchtest.Env, q url.Values, verifier string) (id, access map[string]any) {
	t.Helper()
	resp, body := e.PostForm("/token", exchangeForm("spa", q.Get("code"), latchtest.SPARedirect, verifier))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, body)
	}
	_, id = latchtest.DecodeJWT(t, body["id_token"].(string))
	_, access = latchtest.DecodeJWT(t, body["access_token"].(string))
	return id, access
}

// TestTOTPCodeReuseAndDrift: the code used to confirm the enrolment does
// not sign in; the previous and next steps do, once each; a step at or
// before the last accepted one never does again (RFC 6238 §5.2). The
// tokens then say how the user signed in: amr pwd otp mfa, acr mfa.
func TestTOTPCodeReuseAndDrift(t *testing.T) {
	e := start(t)
	secret, _ := enrolTOTP(t, e, e.Browser())
	enrolled := e.Clock.Now()

	v := oauth2.GenerateVerifier()
	b, p := toCodePage(t, e, authParams("spa", latchtest.SPARedirect, v))
	p = submitCode(t, e, b, p, totpCode(t, secret, enrolled))
	if p.Status != http.StatusUnauthorized || !isCodePage(p) {
		t.Fatalf("the enrolment's code reused: %d, want 401 and the code page again", p.Status)
	}
	// Three steps later: the previous step's code is accepted (drift)...
	e.Clock.Advance(3 * mfa.Period)
	q := requireCodeRedirect(t, submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now().Add(-mfa.Period))), latchtest.SPARedirect)
	id, access := tokenClaims(t, e, q, v)
	for name, c := range map[string]map[string]any{"ID token": id, "access token": access} {
		if c["acr"] != oauth.ACRMFA || strings.Join(toStrings(c["amr"]), " ") != "pwd otp mfa" {
			t.Errorf("%s acr=%v amr=%v, want %s and pwd otp mfa", name, c["acr"], c["amr"], oauth.ACRMFA)
		}
	}
	// ... and the next step's; after it, the current step is refused:
	// it is not after the last accepted one.
	b, p = toCodePage(t, e, authParams("spa", latchtest.SPARedirect, v))
	requireCodeRedirect(t, submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now().Add(mfa.Period))), latchtest.SPARedirect)
	b, p = toCodePage(t, e, authParams("spa", latchtest.SPARedirect, v))
	if p = submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now())); p.Status != http.StatusUnauthorized {
		t.Errorf("a step before the last accepted one: %d, want 401", p.Status)
	}
	// Two steps away is outside the drift window.
	e.Clock.Advance(5 * mfa.Period)
	if p = submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now().Add(2*mfa.Period))); p.Status != http.StatusUnauthorized {
		t.Errorf("a code two steps ahead: %d, want 401", p.Status)
	}
	requireCodeRedirect(t, submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now())), latchtest.SPARedirect)
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

// TestRecoveryCodeSingleUse: a recovery code signs in once.
func TestRecoveryCodeSingleUse(t *testing.T) {
	e := start(t)
	_, codes := enrolTOTP(t, e, e.Browser())
	v := oauth2.GenerateVerifier()
	b, p := toCodePage(t, e, authParams("spa", latchtest.SPARedirect, v))
	requireCodeRedirect(t, submitCode(t, e, b, p, strings.ToUpper(codes[0])), latchtest.SPARedirect)
	b, p = toCodePage(t, e, authParams("spa", latchtest.SPARedirect, v))
	if p = submitCode(t, e, b, p, codes[0]); p.Status != http.StatusUnauthorized {
		t.Errorf("a recovery code used twice: %d, want 401", p.Status)
	}
	if p = submitCode(t, e, b, p, "aaaaa-aaaaa"); p.Status != http.StatusUnauthorized {
		t.Errorf("a made-up recovery code: %d, want 401", p.Status)
	}
}

// TestTOTPCodeBurst: one code submitted by many browsers at once (each
// past the password) signs in exactly one of them, on both stores: the
// step is spent by one atomic store write (store.AdvanceFactor).
func TestTOTPCodeBurst(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store, _ string) {
		e := startOn(t, st, func(c *config.Config) {
			c.LoginMaxFailures, c.IPMaxFailures = 1<<20, 1<<20 // the single-use rule, not the throttle
		})
		secret, _ := enrolTOTP(t, e, e.Browser())
		e.Clock.Advance(mfa.Period)
		code := totpCode(t, secret, e.Clock.Now())
		const n = 12
		browsers := make([]*latchtest.Browser, n)
		pages := make([]latchtest.Page, n)
		for i := range n {
			browsers[i], pages[i] = toCodePage(t, e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))
		}
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				form := url.Values{"interaction": {latchtest.Hidden(t, pages[i].Body)}, "code": {code}}
				req, _ := http.NewRequest(http.MethodPost, e.Issuer+"/login/code", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				<-start
				resp, err := browsers[i].Client.Do(req)
				if err != nil {
					t.Errorf("code %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		if won, lost := count(statuses, http.StatusSeeOther), count(statuses, http.StatusUnauthorized); won != 1 || lost != n-1 {
			t.Errorf("%d concurrent submissions of one code: statuses %v, want exactly one 303 and %d × 401", n, statuses, n-1)
		}
	})
}

// TestTOTPBruteForceThrottled: wrong codes spend the password's budget
// (login-max-failures, 5 per username and IP): the 5th failure locks the
// sign-in and the 6th attempt is refused without being checked, even
// with the right code. The right password alone forgets no failure.
func TestTOTPBruteForceThrottled(t *testing.T) {
	e := startDefaults(t)
	secret, _ := enrolTOTP(t, e, e.Browser())
	e.Clock.Advance(mfa.Period)
	b, p := toCodePage(t, e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))
	for i := 1; i <= 5; i++ {
		p = submitCode(t, e, b, p, "000000")
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if p.Status != want {
			t.Fatalf("wrong code %d: %d, want %d\n%s", i, p.Status, want, p.Body)
		}
	}
	if p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, " disabled") {
		t.Errorf("the lockout page has no Retry-After or an enabled form")
	}
	if p = submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now())); p.Status != http.StatusTooManyRequests {
		t.Errorf("6th attempt (the right code) during the lockout: %d, want 429", p.Status)
	}
	// The budget is the password's too: the right password is refused.
	if p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword); p.Status != http.StatusTooManyRequests {
		t.Errorf("the right password after 5 wrong codes: %d, want 429 (one budget)", p.Status)
	}
}

// TestStepUpACRValues: a session signed in with the password alone does
// not answer a request for acr mfa: the user who has a second factor is
// asked for it (step up, no password again) and the new tokens carry acr
// mfa; prompt=none gets interaction_required instead.
func TestStepUpACRValues(t *testing.T) {
	e := start(t)
	b := e.Browser()
	accountPage(t, e, b) // signed in with the password only
	secret, _ := enrolTOTP(t, e, b)
	e.Clock.Advance(mfa.Period)
	v := oauth2.GenerateVerifier()
	q := authParams("spa", latchtest.SPARedirect, v)
	requireCodeRedirect(t, b.Get(authorizeURL(e, q)), latchtest.SPARedirect) // no acr asked: the session answers
	q.Set("acr_values", oauth.ACRMFA)
	none := url.Values{}
	for k, x := range q {
		none[k] = x
	}
	none.Set("prompt", "none")
	requireErrorRedirect(t, e, b.Get(authorizeURL(e, none)), latchtest.SPARedirect, "interaction_required")
	p := b.Get(authorizeURL(e, q))
	if !isCodePage(p) || latchtest.IsLoginPage(p) {
		t.Fatalf("acr_values=mfa on a password session: want the code page (no password), got %d\n%s", p.Status, p.Body)
	}
	cb := requireCodeRedirect(t, submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now())), latchtest.SPARedirect)
	if id, _ := tokenClaims(t, e, cb, v); id["acr"] != oauth.ACRMFA {
		t.Errorf("after step-up acr = %v, want %s", id["acr"], oauth.ACRMFA)
	}
	// The stepped-up session now answers acr mfa by itself.
	requireCodeRedirect(t, b.Get(authorizeURL(e, q)), latchtest.SPARedirect)
}

// TestUnmetAuthenticationRequirements: what cannot be met is refused
// with unmet_authentication_requirements, never answered with a weaker
// sign-in: acr mfa for a user without a second factor, an essential acr
// Latch does not know, a passkey policy (not offered yet), and the
// user's own require-mfa flag.
func TestUnmetAuthenticationRequirements(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	for name, set := range map[string]func(q url.Values){
		"acr_values mfa, no second factor": func(q url.Values) { q.Set("acr_values", oauth.ACRMFA) },
		"essential acr mfa in claims": func(q url.Values) {
			q.Set("claims", `{"id_token":{"acr":{"essential":true,"values":["`+oauth.ACRMFA+`"]}}}`)
		},
		"essential unknown acr": func(q url.Values) {
			q.Set("claims", `{"id_token":{"acr":{"essential":true,"value":"urn:example:gold"}}}`)
		},
		"passkey acr": func(q url.Values) { q.Set("acr_values", oauth.ACRPhishingResistant) },
	} {
		t.Run(name, func(t *testing.T) {
			q := authParams("spa", latchtest.SPARedirect, v)
			set(q)
			requireErrorRedirect(t, e, signIn(e.Browser(), authorizeURL(e, q)), latchtest.SPARedirect, string(oauth.UnmetAuthenticationRequirements))
		})
	}
	t.Run("voluntary unknown acr is ignored", func(t *testing.T) {
		q := authParams("spa", latchtest.SPARedirect, v)
		q.Set("acr_values", "urn:example:gold")
		requireCodeRedirect(t, signIn(e.Browser(), authorizeURL(e, q)), latchtest.SPARedirect)
	})
	t.Run("user requires mfa", func(t *testing.T) {
		if err := e.Store.SetUserMFARequired(t.Context(), "user-alice", true); err != nil {
			t.Fatal(err)
		}
		defer e.Store.SetUserMFARequired(t.Context(), "user-alice", false)
		q := authParams("spa", latchtest.SPARedirect, v)
		requireErrorRedirect(t, e, signIn(e.Browser(), authorizeURL(e, q)), latchtest.SPARedirect, string(oauth.UnmetAuthenticationRequirements))
	})
	t.Run("client policy second_factor", func(t *testing.T) {
		c, _ := e.Store.GetClient(t.Context(), "spa")
		c.AuthenticationPolicy = "second_factor"
		if err := e.Store.UpdateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		defer func() { c.AuthenticationPolicy = ""; e.Store.UpdateClient(t.Context(), c) }()
		q := authParams("spa", latchtest.SPARedirect, v)
		requireErrorRedirect(t, e, signIn(e.Browser(), authorizeURL(e, q)), latchtest.SPARedirect, string(oauth.UnmetAuthenticationRequirements))
	})
}

// TestAccountPageCSRF: the account page's forms cannot be posted by a
// hostile site (cross-origin check), from another browser or for another
// session (the sealed, single-use interaction bound to the browser and
// the user), nor twice.
func TestAccountPageCSRF(t *testing.T) {
	e := start(t)
	signOutOthers := func(in string) url.Values {
		return url.Values{"interaction": {in}, "action": {"signout-others"}}
	}
	// Two sessions of alice: a form that ends the other one shows
	// whether an attack got through.
	setup := func(t *testing.T) (*latchtest.Browser, string, *latchtest.Browser) {
		other := e.Browser()
		accountPage(t, e, other)
		b := e.Browser()
		return b, latchtest.Hidden(t, accountPage(t, e, b).Body), other
	}
	requireOtherSignedIn := func(t *testing.T, other *latchtest.Browser) {
		t.Helper()
		if p := other.Get(e.Issuer + "/account"); latchtest.IsLoginPage(p) {
			t.Fatal("the attack signed the other session out")
		}
	}
	for _, kind := range []string{"Origin", "Sec-Fetch-Site cross-site"} {
		t.Run("cross-origin post: "+kind, func(t *testing.T) {
			b, in, other := setup(t)
			requireErrorPage(t, postForm(t, b, e.Issuer+"/account", signOutOthers(in), crossOrigin(kind)))
			requireOtherSignedIn(t, other)
		})
	}
	t.Run("interaction of another browser", func(t *testing.T) {
		_, in, other := setup(t)
		attacker := e.Browser()
		accountPage(t, e, attacker)
		requireErrorPage(t, postForm(t, attacker, e.Issuer+"/account", signOutOthers(in)))
		requireOtherSignedIn(t, other)
	})
	t.Run("tampered interaction", func(t *testing.T) {
		b, in, other := setup(t)
		for _, bad := range tamper(in) {
			requireErrorPage(t, postForm(t, b, e.Issuer+"/account", signOutOthers(bad)))
		}
		requireOtherSignedIn(t, other)
	})
	t.Run("not signed in", func(t *testing.T) {
		b, in, other := setup(t)
		u, _ := url.Parse(e.Issuer)
		b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch_session", Value: "", MaxAge: -1}})
		requireErrorPage(t, postForm(t, b, e.Issuer+"/account", signOutOthers(in)))
		requireOtherSignedIn(t, other)
	})
	t.Run("control: the genuine post, once", func(t *testing.T) {
		b, in, other := setup(t)
		p := postForm(t, b, e.Issuer+"/account", signOutOthers(in))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, html.EscapeString("The other sessions were signed out.")) {
			t.Fatalf("genuine post: %d\n%s", p.Status, p.Body)
		}
		if !latchtest.IsLoginPage(other.Get(e.Issuer + "/account")) {
			t.Error("the other session is still signed in")
		}
		requireErrorPage(t, postForm(t, b, e.Issuer+"/account", signOutOthers(in)))
	})
}

// TestResetLinkSingleUse: an administrator's reset link sets a password
// once: a second form opened from the same link before the first was
// used is refused after it, a tampered secret is refused, and using the
// link ends the user's sessions.
func TestResetLinkSingleUse(t *testing.T) {
	e := start(t)
	svc, err := manage.New(manage.Options{Store: e.Store, Issuer: e.Issuer, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	signedIn := e.Browser()
	accountPage(t, e, signedIn)
	link, err := svc.IssueResetLink(t.Context(), "user-alice")
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := e.Browser(), e.Browser()
	p1, p2 := b1.Get(link.URL), b2.Get(link.URL)
	if p1.Status != http.StatusOK || p2.Status != http.StatusOK || p1.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("reset link: %d %d (Referrer-Policy %q), want the form twice with no-referrer", p1.Status, p2.Status, p1.Header.Get("Referrer-Policy"))
	}
	if p := e.Browser().Get(link.URL + "x"); p.Status != http.StatusNotFound {
		t.Errorf("tampered link: %d, want 404", p.Status)
	}
	const newPW = "a brand new passphrase"
	set := func(b *latchtest.Browser, p latchtest.Page) latchtest.Page {
		return b.Post(e.Issuer+"/account/reset", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "new_password": {newPW + "!"}})
	}
	if p := set(b1, p1); p.Status != http.StatusOK || !strings.Contains(p.Body, "Your new password is set") {
		t.Fatalf("first use: %d\n%s", p.Status, p.Body)
	}
	if p := set(b2, p2); p.Status != http.StatusNotFound {
		t.Errorf("second use of the link: %d, want 404", p.Status)
	}
	if p := signedIn.Get(e.Issuer + "/account"); !latchtest.IsLoginPage(p) {
		t.Error("the user's session survived the reset")
	}
	if p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword); p.Status != http.StatusUnauthorized {
		t.Errorf("old password after the reset: %d, want 401", p.Status)
	}
	// A day later a fresh link has expired.
	link, _ = svc.IssueResetLink(t.Context(), "user-alice")
	e.Clock.Advance(25 * time.Hour)
	if p := e.Browser().Get(link.URL); p.Status != http.StatusNotFound {
		t.Errorf("expired link: %d, want 404", p.Status)
	}
}

// TestAdminResetFactors: after manage.ResetFactors the password alone
// signs in again (the lost authenticator no longer counts).
func TestAdminResetFactors(t *testing.T) {
	e := start(t)
	enrolTOTP(t, e, e.Browser())
	svc, err := manage.New(manage.Options{Store: e.Store, Issuer: e.Issuer, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ResetFactors(t.Context(), "user-alice"); err != nil || n != 1+mfa.RecoveryCodes {
		t.Fatalf("ResetFactors = %d, %v; want %d", n, err, 1+mfa.RecoveryCodes)
	}
	requireCodeRedirect(t, signIn(e.Browser(), authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))), latchtest.SPARedirect)
	if err := svc.RequireMFA(t.Context(), "user-alice", true); err != nil {
		t.Fatal(err)
	}
	requireErrorRedirect(t, e, signIn(e.Browser(), authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))),
		latchtest.SPARedirect, string(oauth.UnmetAuthenticationRequirements))
}

// TestAccountPasswordChange: the account page changes the password only
// with the current one; the new hash is made at the configured cost, and
// the user's other sessions end.
func TestAccountPasswordChange(t *testing.T) {
	e := start(t)
	other := e.Browser()
	accountPage(t, e, other)
	b := e.Browser()
	p := accountPage(t, e, b)
	const newPW = "a different passphrase, long enough"
	p = accountAction(t, e, b, p, "password", url.Values{"current_password": {"not the password"}, "new_password": {newPW}})
	if !strings.Contains(p.Body, "Your current password is not right.") {
		t.Fatalf("wrong current password: %d, want the error on the page\n%s", p.Status, p.Body)
	}
	p = accountAction(t, e, b, p, "password", url.Values{"current_password": {latchtest.AlicePassword}, "new_password": {newPW}})
	if !strings.Contains(p.Body, "Your password was changed.") {
		t.Fatalf("password change: %d\n%s", p.Status, p.Body)
	}
	if !latchtest.IsLoginPage(other.Get(e.Issuer + "/account")) {
		t.Error("another session survived the password change")
	}
	if p := accountPage(t, e, b); p.Status != http.StatusOK {
		t.Error("the session that changed the password was ended")
	}
	u, _ := e.Store.GetUser(t.Context(), "user-alice")
	if e.Passwords.NeedsRehash(u.PasswordHash) {
		t.Error("the new hash is not at the configured cost")
	}
	if p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword); p.Status != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", p.Status)
	}
}

// TestAccountRevokeApp: revoking an app on the account page revokes its
// grants, so its refresh token stops working, and empties the consent.
func TestAccountRevokeApp(t *testing.T) {
	e := start(t)
	b := e.Browser()
	v := oauth2.GenerateVerifier()
	q := authParams("app", appRedirect, v)
	q.Set("scope", "openid offline_access")
	code := requireCodeRedirect(t, signIn(b, authorizeURL(e, q)), appRedirect).Get("code")
	resp, body := e.PostForm("/token", exchangeForm("app", code, appRedirect, v), withSecret(e, "app"))
	rt, _ := body["refresh_token"].(string)
	if resp.StatusCode != http.StatusOK || rt == "" {
		t.Fatalf("setup: %d %v", resp.StatusCode, body)
	}
	p := accountPage(t, e, b)
	if !strings.Contains(p.Body, `value="app"`) {
		t.Fatalf("the app is not listed:\n%s", p.Body)
	}
	p = accountAction(t, e, b, p, "revoke", url.Values{"client": {"app"}})
	if !strings.Contains(p.Body, html.EscapeString("Access for the application was revoked.")) || strings.Contains(p.Body, `value="app"`) {
		t.Fatalf("after revoking: %d\n%s", p.Status, p.Body)
	}
	resp, body = e.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, withSecret(e, "app"))
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after revoking the app: %d %v, want invalid_grant", resp.StatusCode, body)
	}
	if latchtest.IsConsentPage(b.Get(authorizeURL(e, authParams("app", appRedirect, v)))) == false {
		t.Error("the app got a code without asking for consent again")
	}
}

// TestPromptLoginAsksSecondFactor: prompt=login (and an expired max_age)
// sign the user in again with the strongest method they have.
func TestPromptLoginAsksSecondFactor(t *testing.T) {
	e := start(t)
	secret, _ := enrolTOTP(t, e, e.Browser())
	e.Clock.Advance(mfa.Period)
	b, p := toCodePage(t, e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))
	requireCodeRedirect(t, submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now())), latchtest.SPARedirect)
	q := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())
	q.Set("prompt", "login")
	if p = b.Login(b.Get(authorizeURL(e, q)), "alice", latchtest.AlicePassword); !isCodePage(p) {
		t.Fatalf("prompt=login: after the password %d, want the code page", p.Status)
	}
}

// TestRemoveFactorNeedsSecondFactor: a session signed in with the
// password alone (a stolen password) cannot switch the authenticator
// app off or read new recovery codes: the code comes first.
func TestRemoveFactorNeedsSecondFactor(t *testing.T) {
	e := start(t)
	b := e.Browser()
	accountPage(t, e, b) // password only
	secret, _ := enrolTOTP(t, e, b)
	for _, action := range []string{"totp-remove", "recovery-codes"} {
		p := accountAction(t, e, b, accountPage(t, e, b), action, nil)
		if !isCodePage(p) {
			t.Fatalf("%s from a password-only session: %d, want the code page\n%s", action, p.Status, p.Body)
		}
	}
	if fs, _ := e.Store.ListFactors(t.Context(), "user-alice"); len(fs) != 1+mfa.RecoveryCodes {
		t.Fatalf("factors changed without the second factor: %d", len(fs))
	}
	// With the code, the session is stepped up and the removal works.
	e.Clock.Advance(mfa.Period)
	p := accountAction(t, e, b, accountPage(t, e, b), "totp-remove", nil)
	p = submitCode(t, e, b, p, totpCode(t, secret, e.Clock.Now()))
	p = accountAction(t, e, b, p, "totp-remove", nil)
	if !strings.Contains(p.Body, "Your authenticator app was removed.") {
		t.Fatalf("removal after step-up: %d\n%s", p.Status, p.Body)
	}
}
