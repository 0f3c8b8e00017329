package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

func testUserCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := fixUser("u1", "alice")
	must(t, s.CreateUser(ctx, u), "CreateUser")
	got, err := s.GetUser(ctx, "u1")
	must(t, err, "GetUser")
	checkEqual(t, "GetUser", got, u)
	got, err = s.GetUserByUsername(ctx, "alice")
	must(t, err, "GetUserByUsername")
	checkEqual(t, "GetUserByUsername", got, u)
	// Optional fields empty.
	b := store.User{ID: "u2", Username: "bare"}
	must(t, s.CreateUser(ctx, b), "CreateUser(bare)")
	got, err = s.GetUser(ctx, "u2")
	must(t, err, "GetUser(bare)")
	checkEqual(t, "GetUser(bare)", got, b)
}

func testUserDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	wantErr(t, s.CreateUser(ctx, fixUser("u1", "carol")), store.ErrAlreadyExists, "CreateUser(duplicate ID)")
	wantErr(t, s.CreateUser(ctx, fixUser("u2", "alice")), store.ErrAlreadyExists, "CreateUser(duplicate Username)")
	_, err := s.GetUser(ctx, "u2")
	wantErr(t, err, store.ErrNotFound, "GetUser(u2) after failed CreateUser")
	_, err = s.GetUserByUsername(ctx, "carol")
	wantErr(t, err, store.ErrNotFound, "GetUserByUsername(carol) after failed CreateUser")
}

func testUserCaseSensitive(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser(alice)")
	// Usernames are unique as stored, case-sensitively.
	must(t, s.CreateUser(ctx, fixUser("u2", "Alice")), "CreateUser(Alice)")
	for _, tc := range []struct{ username, wantID string }{{"alice", "u1"}, {"Alice", "u2"}} {
		got, err := s.GetUserByUsername(ctx, tc.username)
		must(t, err, "GetUserByUsername("+tc.username+")")
		if got.ID != tc.wantID {
			t.Errorf("GetUserByUsername(%q).ID = %q, want %q", tc.username, got.ID, tc.wantID)
		}
	}
	_, err := s.GetUserByUsername(ctx, "ALICE")
	wantErr(t, err, store.ErrNotFound, `GetUserByUsername("ALICE")`)
}

func testUserNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetUser(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, `GetUser("nope")`)
	_, err = s.GetUserByUsername(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, `GetUserByUsername("nope")`)
	wantErr(t, s.SetUserPassword(ctx, "nope", "h"), store.ErrNotFound, `SetUserPassword("nope")`)
	wantErr(t, s.DeleteUser(ctx, "nope"), store.ErrNotFound, `DeleteUser("nope")`)
}

func testUserList(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.ListUsers(ctx)
	must(t, err, "ListUsers(empty store)")
	if len(got) != 0 {
		t.Fatalf("ListUsers(empty store) = %d users, want 0", len(got))
	}
	// IDs in a different order than usernames, so ordering by ID fails.
	var want []store.User
	for _, u := range []store.User{fixUser("1", "mallory"), fixUser("2", "bob"), fixUser("3", "zed"), fixUser("4", "alice")} {
		must(t, s.CreateUser(ctx, u), "CreateUser("+u.Username+")")
		want = append(want, u)
	}
	slices.SortFunc(want, func(a, b store.User) int { return strings.Compare(a.Username, b.Username) })
	got, err = s.ListUsers(ctx)
	must(t, err, "ListUsers")
	checkEqual(t, "ListUsers (ordered by Username)", got, want)
}

func testUserSetPassword(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.SetUserPassword(ctx, user1, "new-hash"), "SetUserPassword")
	got, err := s.GetUser(ctx, user1)
	must(t, err, "GetUser")
	want := fixUser(user1, "alice")
	want.PasswordHash = "new-hash"
	checkEqual(t, "GetUser after SetUserPassword", got, want)
	got, err = s.GetUser(ctx, user2)
	must(t, err, "GetUser(user-2)")
	checkEqual(t, "GetUser(user-2), untouched", got, fixUser(user2, "bob"))
}

func testUserDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	for _, u := range []string{user1, user2} {
		must(t, s.CreateSession(ctx, fixSession("sess-"+u, u, far)), "CreateSession")
		must(t, s.SaveConsent(ctx, store.Consent{UserID: u, ClientID: clientA, Scopes: []string{"openid"}, GrantedAt: base}), "SaveConsent")
		g := fixGrant("grant-"+u, clientA, u, far)
		rt := fixRefresh("rt-"+u, g, base, far)
		must(t, s.CreateGrant(ctx, g, &rt), "CreateGrant")
	}

	must(t, s.DeleteUser(ctx, user1), "DeleteUser")

	_, err := s.GetUser(ctx, user1)
	wantErr(t, err, store.ErrNotFound, "GetUser after DeleteUser")
	_, err = s.GetUserByUsername(ctx, "alice")
	wantErr(t, err, store.ErrNotFound, "GetUserByUsername after DeleteUser")
	_, err = s.GetSession(ctx, "sess-"+user1, base)
	wantErr(t, err, store.ErrNotFound, "GetSession of deleted user")
	_, err = s.GetConsent(ctx, user1, clientA)
	wantErr(t, err, store.ErrNotFound, "GetConsent of deleted user")
	_, err = s.GetGrant(ctx, "grant-"+user1)
	wantErr(t, err, store.ErrNotFound, "GetGrant of deleted user")
	gs, err := s.ListUserGrants(ctx, user1)
	must(t, err, "ListUserGrants of deleted user")
	if len(gs) != 0 {
		t.Errorf("ListUserGrants of deleted user = %d grants, want 0", len(gs))
	}
	// The refresh token of a deleted grant must not rotate.
	next := fixRefresh("rt-next", fixGrant("grant-"+user1, clientA, user1, far), base, far)
	_, res, err := s.RotateRefreshToken(ctx, "rt-"+user1, next, at(time.Minute), 0)
	if err == nil || res != store.RotateFailed {
		t.Errorf("RotateRefreshToken of a deleted user's token = %v, %v; want ErrNotFound or ErrRevoked", res, err)
	}

	// The other user keeps everything.
	if _, err := s.GetSession(ctx, "sess-"+user2, base); err != nil {
		t.Errorf("GetSession of other user: %v", err)
	}
	if _, err := s.GetConsent(ctx, user2, clientA); err != nil {
		t.Errorf("GetConsent of other user: %v", err)
	}
	if g, err := s.GetGrant(ctx, "grant-"+user2); err != nil || !g.RevokedAt.IsZero() {
		t.Errorf("GetGrant of other user = RevokedAt %v, %v; want live grant", g.RevokedAt, err)
	}
	// The username is free again.
	must(t, s.CreateUser(ctx, fixUser("user-3", "alice")), "CreateUser reusing a deleted username")
}

func testSessionCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	sess := fixSession("h1", user1, at(time.Hour))
	must(t, s.CreateSession(ctx, sess), "CreateSession")
	got, err := s.GetSession(ctx, "h1", base)
	must(t, err, "GetSession")
	checkEqual(t, "GetSession", got, sess)
	_, err = s.GetSession(ctx, "nope", base)
	wantErr(t, err, store.ErrNotFound, `GetSession("nope")`)
}

func testSessionExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	exp := at(time.Hour)
	must(t, s.CreateSession(ctx, fixSession("h1", user1, exp)), "CreateSession")
	for _, tc := range []struct {
		now  time.Time
		want error
	}{
		{exp.Add(-time.Millisecond), nil},
		{exp, store.ErrExpired}, // ExpiresAt not after now
		{exp.Add(time.Millisecond), store.ErrExpired},
	} {
		_, err := s.GetSession(ctx, "h1", tc.now)
		if tc.want == nil && err != nil || tc.want != nil && !errorsIs(err, tc.want) {
			t.Errorf("GetSession(now=ExpiresAt%+v) error = %v, want %v", tc.now.Sub(exp), err, tc.want)
		}
	}
}

func testSessionDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateSession(ctx, fixSession("h1", user1, at(time.Hour))), "CreateSession")
	wantErr(t, s.CreateSession(ctx, fixSession("h1", user2, at(time.Hour))), store.ErrAlreadyExists, "CreateSession(duplicate)")
	got, err := s.GetSession(ctx, "h1", base)
	must(t, err, "GetSession")
	if got.UserID != user1 {
		t.Errorf("GetSession after duplicate: UserID = %q, want %q", got.UserID, user1)
	}
}

func testSessionDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateSession(ctx, fixSession("h1", user1, at(time.Hour))), "CreateSession")
	must(t, s.CreateSession(ctx, fixSession("h2", user1, at(time.Hour))), "CreateSession")
	must(t, s.DeleteSession(ctx, "h1"), "DeleteSession")
	_, err := s.GetSession(ctx, "h1", base)
	wantErr(t, err, store.ErrNotFound, "GetSession after DeleteSession")
	wantErr(t, s.DeleteSession(ctx, "h1"), store.ErrNotFound, "DeleteSession twice")
	if _, err := s.GetSession(ctx, "h2", base); err != nil {
		t.Errorf("GetSession(h2) after DeleteSession(h1): %v", err)
	}
}

func testSessionListUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	got, err := s.ListUserSessions(ctx, user1, base)
	must(t, err, "ListUserSessions(none)")
	if len(got) != 0 {
		t.Fatalf("ListUserSessions with no sessions = %d, want 0", len(got))
	}
	live1 := fixSession("b-live", user1, at(time.Hour))
	live2 := fixSession("a-live", user1, at(2*time.Hour))
	for _, sess := range []store.Session{
		live1, live2,
		fixSession("expired", user1, at(-time.Second)),
		fixSession("at-now", user1, base), // ExpiresAt == now: expired
		fixSession("other", user2, at(time.Hour)),
	} {
		must(t, s.CreateSession(ctx, sess), "CreateSession("+sess.ID+")")
	}
	got, err = s.ListUserSessions(ctx, user1, base)
	must(t, err, "ListUserSessions")
	slices.SortFunc(got, func(a, b store.Session) int { return strings.Compare(a.ID, b.ID) })
	checkEqual(t, "ListUserSessions (live only, sorted by ID)", got, []store.Session{live2, live1})
}

func testSessionDeleteUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	for _, sess := range []store.Session{
		fixSession("s1", user1, at(time.Hour)),
		fixSession("s2", user1, at(-time.Hour)), // expired but still a row
		fixSession("s3", user1, at(time.Hour)),
		fixSession("s4", user2, at(time.Hour)),
	} {
		must(t, s.CreateSession(ctx, sess), "CreateSession("+sess.ID+")")
	}
	n, err := s.DeleteUserSessions(ctx, user1)
	must(t, err, "DeleteUserSessions")
	if n != 3 {
		t.Errorf("DeleteUserSessions(user-1) = %d, want 3", n)
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		_, err := s.GetSession(ctx, id, at(-2*time.Hour))
		wantErr(t, err, store.ErrNotFound, "GetSession("+id+") after DeleteUserSessions")
	}
	if _, err := s.GetSession(ctx, "s4", base); err != nil {
		t.Errorf("GetSession(s4) of other user: %v", err)
	}
	n, err = s.DeleteUserSessions(ctx, user1)
	must(t, err, "DeleteUserSessions again")
	if n != 0 {
		t.Errorf("DeleteUserSessions again = %d, want 0", n)
	}
}

func testConsentUpsert(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	_, err := s.GetConsent(ctx, user1, clientA)
	wantErr(t, err, store.ErrNotFound, "GetConsent before SaveConsent")

	c1 := store.Consent{UserID: user1, ClientID: clientA, Scopes: []string{"openid", "profile"}, GrantedAt: at(time.Millisecond)}
	must(t, s.SaveConsent(ctx, c1), "SaveConsent(insert)")
	got, err := s.GetConsent(ctx, user1, clientA)
	must(t, err, "GetConsent")
	checkEqual(t, "GetConsent", got, c1)

	// Replace: narrower scopes, later time.
	c2 := store.Consent{UserID: user1, ClientID: clientA, Scopes: []string{"email"}, GrantedAt: at(time.Hour)}
	must(t, s.SaveConsent(ctx, c2), "SaveConsent(replace)")
	got, err = s.GetConsent(ctx, user1, clientA)
	must(t, err, "GetConsent after replace")
	checkEqual(t, "GetConsent after replace", got, c2)

	// Other (user, client) pairs are separate.
	_, err = s.GetConsent(ctx, user1, clientB)
	wantErr(t, err, store.ErrNotFound, "GetConsent(user-1, client-b)")
	_, err = s.GetConsent(ctx, user2, clientA)
	wantErr(t, err, store.ErrNotFound, "GetConsent(user-2, client-a)")
	c3 := store.Consent{UserID: user2, ClientID: clientA, Scopes: []string{"openid"}, GrantedAt: base}
	must(t, s.SaveConsent(ctx, c3), "SaveConsent(user-2)")
	got, err = s.GetConsent(ctx, user1, clientA)
	must(t, err, "GetConsent(user-1) after saving user-2's")
	checkEqual(t, "GetConsent(user-1) after saving user-2's", got, c2)
}
