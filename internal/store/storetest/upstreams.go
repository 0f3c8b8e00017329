package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- upstream providers (federation) ---------------------------------------

func upstreamTests() []test {
	return []test{
		{"Upstream/CRUD", testUpstreamCRUD},
		{"Upstream/Link", testUpstreamLink},
		{"Upstream/DeleteCascades", testUpstreamDeleteCascades},
		{"Race/LinkUpstream", testRaceLinkUpstream},
	}
}

func fixUpstream(id string) store.Upstream {
	return store.Upstream{
		ID: id, Issuer: "https://idp.example/" + id, ClientID: "latch", ClientSecret: []byte{1, 2, 0xff},
		Scopes: []string{"openid", "email"}, DisplayName: "Example " + id,
		UsernameClaim: "preferred_username", EmailClaim: "email", NameClaim: "name",
		LinkPolicy: store.LinkJIT, CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func testUpstreamCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	b, a := fixUpstream("b"), fixUpstream("a")
	must(t, s.CreateUpstream(ctx, b), "CreateUpstream(b)")
	must(t, s.CreateUpstream(ctx, a), "CreateUpstream(a)")
	wantErr(t, s.CreateUpstream(ctx, a), store.ErrAlreadyExists, "CreateUpstream(a again)")
	got, err := s.GetUpstream(ctx, "a")
	must(t, err, "GetUpstream")
	checkEqual(t, "GetUpstream", got, a)
	list, err := s.ListUpstreams(ctx)
	must(t, err, "ListUpstreams")
	checkEqual(t, "ListUpstreams (by ID)", list, []store.Upstream{a, b})

	a.Issuer, a.ClientSecret, a.Scopes, a.LinkPolicy, a.UpdatedAt = "https://other.example", nil, []string{"openid"}, store.LinkExplicit, at(time.Hour)
	must(t, s.UpdateUpstream(ctx, a), "UpdateUpstream")
	got, _ = s.GetUpstream(ctx, "a")
	checkEqual(t, "GetUpstream after update", got, a)
	wantErr(t, s.UpdateUpstream(ctx, fixUpstream("zz")), store.ErrNotFound, "UpdateUpstream(unknown)")

	must(t, s.DeleteUpstream(ctx, "a"), "DeleteUpstream")
	_, err = s.GetUpstream(ctx, "a")
	wantErr(t, err, store.ErrNotFound, "GetUpstream(deleted)")
	wantErr(t, s.DeleteUpstream(ctx, "a"), store.ErrNotFound, "DeleteUpstream(again)")
}

func testUpstreamLink(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.CreateUser(ctx, fixUser("u2", "bob")), "CreateUser")
	must(t, s.CreateUpstream(ctx, fixUpstream("a")), "CreateUpstream")
	must(t, s.CreateUpstream(ctx, fixUpstream("b")), "CreateUpstream")
	l := store.UpstreamLink{UpstreamID: "a", Subject: "s1", UserID: "u1", CreatedAt: at(time.Second)}
	must(t, s.LinkUpstream(ctx, l), "LinkUpstream")
	got, err := s.GetUpstreamLink(ctx, "a", "s1")
	must(t, err, "GetUpstreamLink")
	checkEqual(t, "GetUpstreamLink", got, l)
	// One subject of one upstream is one user.
	wantErr(t, s.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: "a", Subject: "s1", UserID: "u2"}), store.ErrAlreadyExists, "LinkUpstream(subject linked to another user)")
	// The same subject at another upstream is another identity.
	l2 := store.UpstreamLink{UpstreamID: "b", Subject: "s1", UserID: "u1", CreatedAt: at(time.Second)}
	must(t, s.LinkUpstream(ctx, l2), "LinkUpstream(other upstream)")
	_, err = s.GetUpstreamLink(ctx, "a", "s2")
	wantErr(t, err, store.ErrNotFound, "GetUpstreamLink(unknown subject)")
	wantErr(t, s.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: "a", Subject: "s3", UserID: "nobody"}), store.ErrNotFound, "LinkUpstream(unknown user)")
	wantErr(t, s.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: "zz", Subject: "s3", UserID: "u1"}), store.ErrNotFound, "LinkUpstream(unknown upstream)")
	links, err := s.ListUserUpstreamLinks(ctx, "u1")
	must(t, err, "ListUserUpstreamLinks")
	checkEqual(t, "ListUserUpstreamLinks", links, []store.UpstreamLink{l, l2})
	links, _ = s.ListUserUpstreamLinks(ctx, "u2")
	if len(links) != 0 {
		t.Errorf("ListUserUpstreamLinks(u2) = %v, want none", links)
	}
}

func testUpstreamDeleteCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.CreateUpstream(ctx, fixUpstream("a")), "CreateUpstream")
	must(t, s.CreateUpstream(ctx, fixUpstream("b")), "CreateUpstream")
	must(t, s.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: "a", Subject: "s1", UserID: "u1"}), "LinkUpstream")
	must(t, s.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: "b", Subject: "s1", UserID: "u1"}), "LinkUpstream")
	must(t, s.DeleteUpstream(ctx, "a"), "DeleteUpstream")
	_, err := s.GetUpstreamLink(ctx, "a", "s1")
	wantErr(t, err, store.ErrNotFound, "GetUpstreamLink after DeleteUpstream")
	// A re-added upstream of the same ID does not inherit old links.
	must(t, s.CreateUpstream(ctx, fixUpstream("a")), "CreateUpstream(again)")
	_, err = s.GetUpstreamLink(ctx, "a", "s1")
	wantErr(t, err, store.ErrNotFound, "GetUpstreamLink of a re-added upstream")
	must(t, s.DeleteUser(ctx, "u1"), "DeleteUser")
	_, err = s.GetUpstreamLink(ctx, "b", "s1")
	wantErr(t, err, store.ErrNotFound, "GetUpstreamLink after DeleteUser")
}

// testRaceLinkUpstream: many first sign-ins of one upstream subject at
// once (JIT users created in parallel) link it to exactly one user.
func testRaceLinkUpstream(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUpstream(ctx, fixUpstream("a")), "CreateUpstream")
	for i := range racers {
		must(t, s.CreateUser(ctx, fixUser(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i))), "CreateUser")
	}
	errs := make([]error, racers)
	race(func(i int) {
		errs[i] = s.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: "a", Subject: "s1", UserID: fmt.Sprintf("u%d", i)})
	})
	got := tally(errs, store.ErrAlreadyExists)
	if got["nil"] != 1 || got[store.ErrAlreadyExists.Error()] != racers-1 {
		t.Errorf("%d concurrent LinkUpstream(same subject): %v, want exactly one success, the rest ErrAlreadyExists", racers, got)
	}
}
