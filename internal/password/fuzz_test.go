package password

import (
	"errors"
	"testing"
)

// FuzzVerify asserts that Verify never panics, never reports a match
// together with an error, and that whatever the strict parser accepts
// re-encodes to exactly the same string (one canonical form per hash).
// Seeds live in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		h, derr := decode(encoded)
		if derr != nil {
			ok, err := Verify(pw, encoded)
			if ok || err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q, %q) = %v, %v; decode failed with %v, want false, ErrMalformed", pw, encoded, ok, err, derr)
			}
			return
		}
		if got := encode(h.params, h.salt, h.key); got != encoded {
			t.Fatalf("decode(%q) re-encodes to %q", encoded, got)
		}
		// Keep each run cheap on a shared machine: the parser bounds cost,
		// but 2 GiB × 64 passes is still not a fuzzing budget.
		if uint64(h.params.Memory)*uint64(h.params.Iterations) > 4096 {
			t.Skip("expensive parameters")
		}
		ok, err := Verify(pw, encoded)
		if err != nil {
			t.Fatalf("Verify(%q, %q) error %v after decode succeeded", pw, encoded, err)
		}
		if ok != h.check(pw) {
			t.Fatalf("Verify(%q, %q) = %v, check disagrees", pw, encoded, ok)
		}
	})
}
