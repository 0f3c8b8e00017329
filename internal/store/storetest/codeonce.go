package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- an authorization code with its one-time values (CreateAuthCodeOnce) ----

func codeOnceTests() []test {
	return []test{
		{"AuthCodeOnce/Create", testCodeOnceCreate},
		{"AuthCodeOnce/Seen", testCodeOnceSeen},
		{"AuthCodeOnce/Exclusive", testCodeOnceExclusive},
		{"AuthCodeOnce/DuplicateHash", testCodeOnceDuplicate},
		{"AuthCodeOnce/NoKeys", testCodeOnceNoKeys},
		{"AuthCodeOnce/Swept", testCodeOnceSwept},
		{"Race/CreateAuthCodeOnce", testRaceCodeOnce},
		{"Race/CreateAuthCodeOnceExclusive", testRaceCodeOnceExclusive},
	}
}

// codeOnce calls CreateAuthCodeOnce and fails the test on an error.
func codeOnce(t *testing.T, s store.Store, c store.AuthCode, keys []string, exclusive bool) []bool {
	t.Helper()
	seen, err := s.CreateAuthCodeOnce(t.Context(), c, keys, at(time.Hour), exclusive)
	must(t, err, fmt.Sprintf("CreateAuthCodeOnce(%s, %q, exclusive=%v)", c.Hash, keys, exclusive))
	if len(seen) != len(keys) {
		t.Fatalf("CreateAuthCodeOnce(%s, %q) returned %d seen flags, want %d", c.Hash, keys, len(seen), len(keys))
	}
	return seen
}

// codeStored reports whether the code hash is in the store.
func codeStored(t *testing.T, s store.Store, hash string) bool {
	t.Helper()
	_, err := s.GetAuthCode(t.Context(), hash)
	if err != nil {
		wantErr(t, err, store.ErrNotFound, "GetAuthCode("+hash+")")
		return false
	}
	return true
}

// recorded reports whether key is a recorded one-time value. It records
// key when it was not: probe each key once, last.
func recorded(t *testing.T, s store.Store, key string) bool {
	t.Helper()
	err := s.UseOnce(t.Context(), key, at(time.Hour))
	if err != nil {
		wantErr(t, err, store.ErrAlreadyExists, "UseOnce("+key+")")
		return true
	}
	return false
}

func testCodeOnceCreate(t *testing.T, s store.Store) {
	seed(t, s)
	c := fixCode("code-1", clientA, user1, "grant-1", at(time.Minute))
	if seen := codeOnce(t, s, c, []string{"k-challenge", "k-nonce"}, true); slices.Contains(seen, true) {
		t.Errorf("fresh keys: seen = %v, want none", seen)
	}
	got, err := s.GetAuthCode(t.Context(), "code-1")
	must(t, err, "GetAuthCode")
	checkEqual(t, "GetAuthCode", got, c)
	// The keys are in UseOnce's set, and the code works as any other.
	for _, k := range []string{"k-challenge", "k-nonce"} {
		if !recorded(t, s, k) {
			t.Errorf("key %q not recorded by CreateAuthCodeOnce", k)
		}
	}
	if _, err := s.ConsumeAuthCode(t.Context(), "code-1", at(time.Second)); err != nil {
		t.Errorf("ConsumeAuthCode: %v", err)
	}
}

// testCodeOnceSeen: without exclusive, a key recorded before (by either
// method) is reported, and the code is stored all the same.
func testCodeOnceSeen(t *testing.T, s store.Store) {
	seed(t, s)
	ctx := t.Context()
	codeOnce(t, s, fixCode("code-1", clientA, user1, "grant-1", at(time.Minute)), []string{"a", "b"}, false)
	must(t, s.UseOnce(ctx, "c", at(time.Hour)), "UseOnce(c)")
	seen := codeOnce(t, s, fixCode("code-2", clientA, user1, "grant-2", at(time.Minute)), []string{"b", "c", "d"}, false)
	if want := []bool{true, true, false}; !slices.Equal(seen, want) {
		t.Errorf("seen = %v, want %v", seen, want)
	}
	if !codeStored(t, s, "code-2") {
		t.Error("code-2 not stored: only exclusive refuses a seen key")
	}
	if !recorded(t, s, "d") {
		t.Error("key d not recorded")
	}
}

// testCodeOnceExclusive: with exclusive, a seen key refuses the code, and
// the call's unseen keys are recorded all the same.
func testCodeOnceExclusive(t *testing.T, s store.Store) {
	seed(t, s)
	codeOnce(t, s, fixCode("code-1", clientA, user1, "grant-1", at(time.Minute)), []string{"a"}, true)
	seen := codeOnce(t, s, fixCode("code-2", clientA, user1, "grant-2", at(time.Minute)), []string{"a", "b"}, true)
	if want := []bool{true, false}; !slices.Equal(seen, want) {
		t.Errorf("seen = %v, want %v", seen, want)
	}
	if codeStored(t, s, "code-2") {
		t.Error("code-2 stored although its key a was seen and exclusive was set")
	}
	seen = codeOnce(t, s, fixCode("code-3", clientA, user1, "grant-3", at(time.Minute)), []string{"b"}, true)
	if !slices.Equal(seen, []bool{true}) || codeStored(t, s, "code-3") {
		t.Errorf("key b of a refused call: seen = %v, code-3 stored = %v; want b recorded and code-3 refused", seen, codeStored(t, s, "code-3"))
	}
	if !codeStored(t, s, "code-1") {
		t.Error("code-1 lost")
	}
}

// testCodeOnceDuplicate: a taken code hash writes nothing, not even the keys.
func testCodeOnceDuplicate(t *testing.T, s store.Store) {
	seed(t, s)
	must(t, s.CreateAuthCode(t.Context(), fixCode("dup", clientA, user1, "grant-1", at(time.Minute))), "CreateAuthCode")
	_, err := s.CreateAuthCodeOnce(t.Context(), fixCode("dup", clientA, user1, "grant-2", at(time.Minute)), []string{"x", "y"}, at(time.Hour), false)
	wantErr(t, err, store.ErrAlreadyExists, "CreateAuthCodeOnce(taken hash)")
	for _, k := range []string{"x", "y"} {
		if recorded(t, s, k) {
			t.Errorf("key %q recorded by a CreateAuthCodeOnce that failed", k)
		}
	}
	got, err := s.GetAuthCode(t.Context(), "dup")
	must(t, err, "GetAuthCode")
	if got.GrantID != "grant-1" {
		t.Errorf("the taken code's GrantID = %q, want the first one's", got.GrantID)
	}
}

func testCodeOnceNoKeys(t *testing.T, s store.Store) {
	seed(t, s)
	for i, keys := range [][]string{nil, {}} {
		h := fmt.Sprintf("code-%d", i)
		codeOnce(t, s, fixCode(h, clientA, user1, "grant-"+h, at(time.Minute)), keys, true)
		if !codeStored(t, s, h) {
			t.Errorf("keys %#v: code not stored", keys)
		}
	}
}

// testCodeOnceSwept: the keys expire at keysExpire and DeleteExpired
// frees them, as UseOnce's.
func testCodeOnceSwept(t *testing.T, s store.Store) {
	seed(t, s)
	ctx := t.Context()
	_, err := s.CreateAuthCodeOnce(ctx, fixCode("c", clientA, user1, "g", at(time.Minute)), []string{"k"}, at(time.Minute), true)
	must(t, err, "CreateAuthCodeOnce")
	for {
		n, err := s.DeleteExpired(ctx, at(time.Minute+time.Second), 100)
		must(t, err, "DeleteExpired")
		if n == 0 {
			break
		}
	}
	seen, err := s.CreateAuthCodeOnce(ctx, fixCode("d", clientA, user1, "g2", at(2*time.Minute)), []string{"k"}, at(time.Hour), true)
	must(t, err, "CreateAuthCodeOnce (after the sweep)")
	if !slices.Equal(seen, []bool{false}) || !codeStored(t, s, "d") {
		t.Errorf("after the sweep: seen = %v, want the key free again and the code stored", seen)
	}
}

// testRaceCodeOnce: concurrent callers sharing one key, each with a key of
// its own, not exclusive: exactly one finds the shared key unseen, none
// sees its own, and every code is stored.
func testRaceCodeOnce(t *testing.T, s store.Store) {
	seed(t, s)
	seen := make([][]bool, racers)
	errs := make([]error, racers)
	race(func(i int) {
		h := fmt.Sprintf("code-%d", i)
		seen[i], errs[i] = s.CreateAuthCodeOnce(t.Context(), fixCode(h, clientA, user1, "grant-"+h, at(time.Minute)),
			[]string{"shared", fmt.Sprintf("own-%d", i)}, at(time.Hour), false)
	})
	unseen := 0
	for i := range racers {
		must(t, errs[i], fmt.Sprintf("CreateAuthCodeOnce %d", i))
		if !seen[i][0] {
			unseen++
		}
		if seen[i][1] {
			t.Errorf("caller %d saw its own key", i)
		}
		if !codeStored(t, s, fmt.Sprintf("code-%d", i)) {
			t.Errorf("caller %d's code not stored", i)
		}
	}
	if unseen != 1 {
		t.Errorf("%d concurrent callers with one key: %d found it unseen, want exactly 1", racers, unseen)
	}
}

// testRaceCodeOnceExclusive: concurrent exclusive callers sharing one key
// (the burst of authorization requests replaying one code_challenge):
// exactly one code is stored, and every caller's own key is recorded.
func testRaceCodeOnceExclusive(t *testing.T, s store.Store) {
	seed(t, s)
	seen := make([][]bool, racers)
	errs := make([]error, racers)
	race(func(i int) {
		h := fmt.Sprintf("code-%d", i)
		// The shared key sorts after some own keys and before others:
		// the order of keys within a call does not matter.
		seen[i], errs[i] = s.CreateAuthCodeOnce(t.Context(), fixCode(h, clientA, user1, "grant-"+h, at(time.Minute)),
			[]string{fmt.Sprintf("own-%02d", i), "own-12+"}, at(time.Hour), true)
	})
	stored := 0
	for i := range racers {
		must(t, errs[i], fmt.Sprintf("CreateAuthCodeOnce %d", i))
		if codeStored(t, s, fmt.Sprintf("code-%d", i)) {
			stored++
			if slices.Contains(seen[i], true) {
				t.Errorf("caller %d stored its code although it saw a key: %v", i, seen[i])
			}
		}
	}
	if stored != 1 {
		t.Errorf("%d concurrent exclusive callers with one key: %d codes stored, want exactly 1", racers, stored)
	}
	for i := range racers {
		if k := fmt.Sprintf("own-%02d", i); !recorded(t, s, k) {
			t.Errorf("key %s not recorded", k)
		}
	}
}
