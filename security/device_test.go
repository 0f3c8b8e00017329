package security

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// Attacks on the device authorization grant (RFC 8628 §5): guessing user
// codes, replaying a device_code, and making a signed-in user approve a
// device without meaning to (CSRF on the /device page).

const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// deviceBrowser is a browser signed in as alice on the /device page, and
// the code form it shows.
func deviceBrowser(t *testing.T, e *latchtest.Env) (*latchtest.Browser, latchtest.Page) {
	t.Helper()
	b := e.Browser()
	p := b.Get(e.Issuer + "/device")
	p = b.Login(p, "alice", latchtest.AlicePassword)
	if !latchtest.IsDeviceEnterPage(p) {
		t.Fatalf("after sign-in: %d, want the device code form:\n%s", p.Status, p.Body)
	}
	return b, p
}

// pollDevice posts one device_code token request for tv.
func pollDevice(e *latchtest.Env, dc string) (*http.Response, map[string]any) {
	return e.PostForm("/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {"tv"}, "device_code": {dc}})
}

// wrongCode is a well-formed user code that was never issued (the
// alphabet has 20 letters; a random issued code equals it with
// probability 20^-8).
const wrongCode = "BBBB-BBBB"

// TestUserCodeGuessingThrottled is RFC 8628 §5.1 ("brute forcing the user
// code"): with the default budgets (login-max-failures 5 per session,
// ip-max-failures 20 per address, per throttle-window) a burst of 30
// guesses from one signed-in session gets at most 5 lookups; then the
// session is locked out (429, Retry-After), and even the right code is
// not looked up, so the lockout is no oracle. On SQLite and PostgreSQL.
func TestUserCodeGuessingThrottled(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			var st store.Store
			if be.open != nil {
				st = be.open(t)
			}
			e := startOn(t, st)
			e.DeviceClient()
			da := e.StartDevice("tv", "openid")
			b, _ := deviceBrowser(t, e)
			const n = 30
			forms := make([]string, n)
			for i := range forms {
				forms[i] = latchtest.Hidden(t, b.Get(e.Issuer+"/device").Body)
			}
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, in := range forms {
				wg.Go(func() {
					<-start
					statuses[i] = postForm(t, b, e.Issuer+"/device", url.Values{"interaction": {in}, "user_code": {wrongCode}}).Status
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			checked := strings.Count(e.AuditLog(), `"user_code_failed"`)
			if checked > 5 || count[http.StatusOK] > 0 || count[http.StatusBadRequest] > 5 {
				t.Errorf("a burst of %d wrong codes: %d looked up (statuses %v), want at most 5", n, checked, count)
			}
			if count[http.StatusTooManyRequests] == 0 {
				t.Errorf("a burst of %d wrong codes: statuses %v, want 429s", n, count)
			}
			// Locked out: the right code is refused without a lookup.
			p := b.EnterUserCode(b.Get(e.Issuer+"/device"), da["user_code"].(string))
			if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || latchtest.IsConsentPage(p) {
				t.Errorf("the right code after the burst: %d (Retry-After %q), want 429 and no confirmation", p.Status, p.Header.Get("Retry-After"))
			}
			// Positive control: once the window and the lockout have
			// passed, a right code is looked up again.
			e.Clock.Advance(e.Config.ThrottleWindow + e.Config.LockoutMax)
			da2 := e.StartDevice("tv", "openid")
			b2, p2 := deviceBrowser(t, e)
			if p2 = b2.EnterUserCode(p2, da2["user_code"].(string)); !latchtest.IsConsentPage(p2) {
				t.Errorf("the right code once the window passed: %d, want the confirmation", p2.Status)
			}
		})
	}
}

// TestUserCodeNoOracle: a wrong user code tells nothing about any other.
// Unknown, malformed, expired and already-decided codes get the same
// status and page text.
func TestUserCodeNoOracle(t *testing.T) {
	e := start(t)
	e.DeviceClient()
	expiring := e.StartDevice("tv", "openid")
	e.Clock.Advance(11 * time.Minute) // past the 10 minutes of expiring
	decided := e.StartDevice("tv", "openid")
	e.Browser().ApproveDevice(decided["verification_uri_complete"].(string), "deny")
	b, _ := deviceBrowser(t, e)
	var first latchtest.Page
	for i, code := range []string{wrongCode, "BCD", "AEIO-UYAE", expiring["user_code"].(string), decided["user_code"].(string)} {
		p := b.EnterUserCode(b.Get(e.Issuer+"/device"), code)
		msg := between(p.Body, `role="alert"`, "</div>")
		if i == 0 {
			first = p
			if p.Status != http.StatusBadRequest || msg == "" {
				t.Fatalf("wrong code: %d %q, want 400 with a message", p.Status, msg)
			}
			continue
		}
		if p.Status != first.Status || msg != between(first.Body, `role="alert"`, "</div>") {
			t.Errorf("code %q: %d %q; want exactly the answer to an unknown code (%d)", code, p.Status, msg, first.Status)
		}
	}
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// TestDeviceCodeReplay: a device_code yields tokens once. Polling again
// after the tokens were issued (a stolen or replayed device_code) is
// invalid_grant, audited, and revokes the grant the code produced, as a
// replayed authorization code does (RFC 6749 §4.1.2, RFC 9700 §4.5): the
// refresh token is refused with reason code_replayed and the access token
// introspects inactive. On SQLite and PostgreSQL. A burst of polls is in
// the server's TestDeviceConcurrentPollsAfterApproval.
func TestDeviceCodeReplay(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := startBackend(t, be)
			e.DeviceClient()
			da := e.StartDevice("tv", "openid offline_access")
			e.Browser().ApproveDevice(da["verification_uri_complete"].(string), "allow")
			dc := da["device_code"].(string)
			resp, body := pollDevice(e, dc)
			if resp.StatusCode != http.StatusOK || body["access_token"] == nil || body["refresh_token"] == nil {
				t.Fatalf("first poll after approval: %d %v, want tokens", resp.StatusCode, body)
			}
			access, refresh := body["access_token"].(string), body["refresh_token"].(string)
			introspect := func() map[string]any {
				resp, body := e.PostForm("/introspect", url.Values{"token": {access}}, withSecret(e, "app"))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("introspection: %d %v", resp.StatusCode, body)
				}
				return body
			}
			if got := introspect(); got["active"] != true {
				t.Fatalf("control: the fresh access token introspects %v, want active", got)
			}
			for i := range 3 {
				e.Clock.Advance(10 * time.Second)
				resp, body = pollDevice(e, dc)
				requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
				if body["access_token"] != nil {
					t.Fatalf("replay %d got tokens", i)
				}
			}
			if !strings.Contains(e.AuditLog(), `"device_code_replayed"`) {
				t.Error("the replay was not audited")
			}
			if got := introspect(); got["active"] != false {
				t.Errorf("the access token after the replay introspects %v, want active=false", got)
			}
			resp, body = e.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tv"}, "refresh_token": {refresh}})
			requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			if d, _ := body["error_description"].(string); !strings.Contains(d, "(reason: code_replayed)") {
				t.Errorf("the refresh token after the replay: %q, want reason code_replayed", d)
			}
		})
	}
}

// TestDeviceApprovalCSRF: a hostile page cannot make a signed-in user
// approve a device. A cross-site POST of the victim's own confirmation
// form (with the victim's cookies) is refused by the cross-origin check;
// a confirmation form sealed for another browser (the attacker's own) is
// refused by the interaction's CSRF binding; a POST naming a user code
// directly, without a form, decides nothing. After each, the device is
// still pending.
func TestDeviceApprovalCSRF(t *testing.T) {
	e := start(t)
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	code := da["user_code"].(string)
	dc := da["device_code"].(string)
	requirePending := func(t *testing.T) {
		t.Helper()
		e.Clock.Advance(time.Minute)
		resp, body := pollDevice(e, dc)
		requireTokenError(t, resp, body, http.StatusBadRequest, "authorization_pending")
	}
	victim, p := deviceBrowser(t, e)
	confirm := victim.EnterUserCode(p, code)
	if !latchtest.IsConsentPage(confirm) {
		t.Fatalf("victim's confirmation: %d", confirm.Status)
	}
	allow := url.Values{"interaction": {latchtest.Hidden(t, confirm.Body)}, "decision": {"allow"}}
	for _, kind := range []string{"Origin", "Origin null", "Sec-Fetch-Site cross-site", "Sec-Fetch-Site same-site"} {
		t.Run("cross-origin post: "+kind, func(t *testing.T) {
			p := postForm(t, victim, e.Issuer+"/device", allow, crossOrigin(kind))
			requireErrorPage(t, p)
			requirePending(t)
		})
	}
	t.Run("the attacker's own form", func(t *testing.T) {
		attacker, ap := deviceBrowser(t, e)
		aconfirm := attacker.EnterUserCode(ap, code)
		form := url.Values{"interaction": {latchtest.Hidden(t, aconfirm.Body)}, "decision": {"allow"}}
		p := postForm(t, victim, e.Issuer+"/device", form)
		requireErrorPage(t, p)
		requirePending(t)
	})
	t.Run("no form", func(t *testing.T) {
		p := postForm(t, victim, e.Issuer+"/device", url.Values{"user_code": {code}, "decision": {"allow"}})
		requireErrorPage(t, p)
		requirePending(t)
	})
	// Positive control: the victim's own form, same-origin, approves.
	p = postForm(t, victim, e.Issuer+"/device", allow)
	if !strings.Contains(p.Body, "Device connected") {
		t.Fatalf("the genuine approval: %d\n%s", p.Status, p.Body)
	}
	if resp, body := pollDevice(e, dc); resp.StatusCode != http.StatusOK {
		t.Errorf("poll after the genuine approval: %d %v", resp.StatusCode, body)
	}
}

// TestDeviceAuthorizationFlood: /device_authorization stores a pending
// device code per request, and a public device client's client_id is
// public, so without a budget anyone could fill the store. A burst of 40
// parallel requests from one address gets at most device-max-requests
// (20) device codes; the rest are refused before any work with the
// throttled-client answer (429 slow_down, Retry-After), never a 5xx. The
// budget refills as the window passes. On SQLite and PostgreSQL.
func TestDeviceAuthorizationFlood(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := startBackend(t, be)
			e.DeviceClient()
			const n = 40
			budget := e.Config.DeviceMaxRequests
			type answer struct {
				status     int
				err        string
				retryAfter string
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range answers {
				wg.Go(func() {
					<-start
					resp, body := e.PostForm("/device_authorization", url.Values{"client_id": {"tv"}, "scope": {"openid"}})
					errCode, _ := body["error"].(string)
					answers[i] = answer{resp.StatusCode, errCode, resp.Header.Get("Retry-After")}
				})
			}
			close(start)
			wg.Wait()
			count := map[string]int{}
			for _, a := range answers {
				count[fmt.Sprint(a.status, " ", a.err)]++
				switch {
				case a.status == http.StatusOK:
				case a.status == http.StatusTooManyRequests && a.err == "slow_down" && a.retryAfter != "":
				default:
					t.Errorf("device authorization in a burst: %d %q (Retry-After %q), want 200 or 429 slow_down with Retry-After", a.status, a.err, a.retryAfter)
				}
			}
			started := strings.Count(e.AuditLog(), `"device_authorization_started"`)
			t.Logf("a burst of %d: %v", n, count)
			if ok := count["200 "]; ok == 0 || ok > budget || started > budget {
				t.Errorf("a burst of %d device authorizations: %v, %d started; want at most %d (device-max-requests) and the rest 429", n, count, started, budget)
			}
			// Refused before any work: nothing more stored, even sequentially.
			resp, body := e.PostForm("/device_authorization", url.Values{"client_id": {"tv"}, "scope": {"openid"}})
			requireTokenError(t, resp, body, http.StatusTooManyRequests, "slow_down")
			// Positive control: once the window has passed, the budget is back.
			e.Clock.Advance(e.Config.ThrottleWindow + time.Second)
			e.StartDevice("tv", "openid")
		})
	}
}
