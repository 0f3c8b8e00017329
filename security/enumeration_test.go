package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
)

// TestUserEnumerationAfterCostChange (issue 11, item 3): once the
// argon2id parameters change, users with hashes of the old cost must not
// answer at another cost than unknown users. Compared by argon2id work
// (memory × iterations, counted by the hasher), not by timing: a failed
// sign-in for an unknown user, for a user with an old-cost hash and for
// one with a current hash does the same work; a successful sign-in
// rehashes with the current parameters; and when the parameters were
// lowered, unknown users cost as much as the dearest stored hash.
func TestUserEnumerationAfterCostChange(t *testing.T) {
	// latchtest stores alice's hash at m=64,t=1; the server now runs at
	// m=128,t=2 (a raise).
	current := password.Params{Memory: 128, Iterations: 2, Parallelism: 1}
	e := start(t, func(c *config.Config) { c.PasswordMemoryKiB, c.PasswordIterations = current.Memory, current.Iterations })
	addMallory(t, e) // m=64,t=1 as well
	work := func(username string) uint64 {
		before := e.Passwords.Work()
		if p, _ := loginAttempt(t, e, username, "wrong"); p.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password for %q: %d", username, p.Status)
		}
		return e.Passwords.Work() - before
	}
	if u, old := work("nobody-here"), work("mallory"); u != old || u != current.Cost() {
		t.Errorf("work for an unknown user %d, for an old-cost hash %d; want both %d (the current cost)", u, old, current.Cost())
	}
	if got := e.Passwords.DummyParams(); got != current {
		t.Errorf("dummy parameters %+v, want the current %+v", got, current)
	}

	// A successful sign-in upgrades the stored hash.
	p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword)
	requireCodeRedirect(t, p, latchtest.SPARedirect)
	u, err := e.Store.GetUser(t.Context(), "user-alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.PasswordHash, "$m=128,t=2,p=1$") {
		t.Errorf("alice's hash after signing in is %.40s…, want the current parameters m=128,t=2,p=1", u.PasswordHash)
	}
	if ok, _ := password.Verify(latchtest.AlicePassword, u.PasswordHash); !ok {
		t.Error("the rehashed password does not verify")
	}
	if !strings.Contains(e.AuditLog(), `"event":"password_rehashed"`) {
		t.Error("the rehash was not audited")
	}

	// A cut: a user whose hash is dearer than the configured cost exists
	// when an instance starts; unknown users then cost as much as it does.
	dear := password.Params{Memory: 512, Iterations: 2, Parallelism: 1}
	h, err := password.Hash("an old strong password", dear)
	if err != nil {
		t.Fatal(err)
	}
	e.MustUser(store.User{ID: "user-dear", Username: "dear", PasswordHash: h})
	_, other := e.NewInstanceHasher()
	if got := other.DummyParams(); got != dear {
		t.Errorf("after a cut: dummy parameters %+v, want those of the dearest stored hash %+v", got, dear)
	}
	before := other.Work()
	other.Verify("wrong", "")
	unknown := other.Work() - before
	before = other.Work()
	other.Verify("wrong", u.PasswordHash)
	if known := other.Work() - before; known != unknown || unknown != dear.Cost() {
		t.Errorf("after a cut: work for an unknown user %d, for a current hash %d; want both %d", unknown, known, dear.Cost())
	}
}

// TestLookalikeUsernames (issue 11, item 14): usernames are compared in
// their canonical form (PRECIS UsernameCaseMapped, RFC 8265 §3.3), so
// look-alike spellings reach the same account and count against the same
// budget; control characters are a failed attempt (401), NUL bytes and
// invalid UTF-8 are refused at the edge (400); never a 5xx, never sent to
// the store, on both stores.
// (Creating a look-alike of an existing name: internal/admin
// TestAdminUserLookalikeCollision, cmd/latch TestUserCreateLookalike.)
func TestLookalikeUsernames(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store, _ string) {
		e := startOn(t, st)
		for _, name := range []string{"ALICE", "Ａｌｉｃｅ", " alice "} {
			p, _ := loginAttempt(t, e, name, latchtest.AlicePassword)
			q := requireCodeRedirect(t, p, latchtest.SPARedirect)
			if q.Get("code") == "" {
				t.Errorf("sign-in as %q did not reach alice", name)
			}
		}
		e.Clock.Advance(time.Minute)
		for _, name := range []string{"Alice", "ALICE", "Ａｌｉｃｅ", "aLiCe"} {
			if p, _ := loginAttempt(t, e, name, "wrong"); p.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password as %q: %d", name, p.Status)
			}
		}
		if p, _ := loginAttempt(t, e, "alice", "wrong"); p.Status != http.StatusTooManyRequests {
			t.Errorf("5th failure over look-alike spellings: %d, want 429 (one budget)", p.Status)
		}
		// Hostile bytes: a failed attempt, like an unknown user.
		e.Clock.Advance(time.Hour)
		for _, name := range []string{"ali\x00ce", "ali\xffce", "ali\x1bce", "\xc0\x80"} {
			b := e.Browser()
			pg := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
			p := postForm(t, b, e.Issuer+"/login", url.Values{"interaction": {latchtest.Hidden(t, pg.Body)}, "username": {name}, "password": {"wrong"}})
			// NUL and invalid UTF-8 are refused by the edge rule for every
			// form (store.ValidText: 400, the same page for any account);
			// other hostile text is an ordinary failed attempt.
			switch {
			case p.Status == http.StatusBadRequest && !store.ValidText(name):
			case p.Status == http.StatusUnauthorized && strings.Contains(p.Body, "Incorrect username or password."):
			default:
				t.Errorf("username %q: %d, want 401 with the generic error (or 400 from the edge rule for text no store can hold)", name, p.Status)
			}
		}
		if strings.Contains(e.OperationalLog(), `"level":"ERROR"`) {
			t.Errorf("hostile usernames logged an error (reached the store?):\n%s", e.OperationalLog())
		}
	})
}
