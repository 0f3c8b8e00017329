package password

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// fast are test parameters: 64 KiB, 1 pass.
var fast = Params{Memory: 64, Iterations: 1, Parallelism: 1}

func mustHash(t testing.TB, pw string, p Params) string {
	t.Helper()
	h, err := Hash(pw, p)
	if err != nil {
		t.Fatalf("Hash(%q, %+v) error: %v", pw, p, err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	for _, pw := range []string{"", "correct horse battery staple", "pässwörd ✓", strings.Repeat("x", 1000), "a\x00b"} {
		enc := mustHash(t, pw, fast)
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Errorf("Hash(%q) = %q, want PHC argon2id prefix with params", pw, enc)
		}
		ok, err := Verify(pw, enc)
		if err != nil || !ok {
			t.Errorf("Verify(%q, Hash(%q)) = %v, %v; want true, nil", pw, pw, ok, err)
		}
		for _, wrong := range []string{pw + "x", strings.ToUpper(pw) + "!", "x" + pw} {
			ok, err := Verify(wrong, enc)
			if err != nil || ok {
				t.Errorf("Verify(%q, Hash(%q)) = %v, %v; want false, nil", wrong, pw, ok, err)
			}
		}
	}
}

func TestHashFormat(t *testing.T) {
	p := Params{Memory: 128, Iterations: 3, Parallelism: 2}
	enc := mustHash(t, "pw", p)
	parts := strings.Split(enc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=128,t=3,p=2" {
		t.Fatalf("Hash = %q, want $argon2id$v=19$m=128,t=3,p=2$SALT$HASH", enc)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) != 16 {
		t.Errorf("salt %q: %d bytes, err %v; want 16 bytes of unpadded base64", parts[4], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) != 32 {
		t.Errorf("hash %q: %d bytes, err %v; want 32 bytes of unpadded base64", parts[5], len(key), err)
	}
	// Independent check: the key is argon2id of the password with the salt.
	if want := argon2.IDKey([]byte("pw"), salt, 3, 128, 2, 32); string(key) != string(want) {
		t.Errorf("hash = %x, want argon2.IDKey = %x", key, want)
	}
	if again := mustHash(t, "pw", p); again == enc {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

// TestVerifyKnownAnswer checks interoperability with a hash built outside
// Hash: from argon2.IDKey, and from the argon2 reference CLI
// (echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1).
func TestVerifyKnownAnswer(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("hunter2"), salt, 2, 256, 1, 24)
	enc := "$argon2id$v=19$m=256,t=2,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	if ok, err := Verify("hunter2", enc); !ok || err != nil {
		t.Errorf("Verify(hunter2, %q) = %v, %v; want true, nil", enc, ok, err)
	}
	if ok, err := Verify("hunter3", enc); ok || err != nil {
		t.Errorf("Verify(hunter3, %q) = %v, %v; want false, nil", enc, ok, err)
	}

	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := Verify("password", ref); !ok || err != nil {
		t.Errorf("Verify(password, %q) = %v, %v; want true, nil", ref, ok, err)
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p != (Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1}) {
		t.Errorf("Default() = %+v, want OWASP 19 MiB, t=2, p=1", p)
	}
	h, err := NewHasher(p)
	if err != nil {
		t.Fatalf("NewHasher(Default()) error: %v", err)
	}
	enc, err := h.Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hasher.Hash = %q, want m=19456,t=2,p=1", enc)
	}
	if !h.Verify("s3cret", enc) {
		t.Error("Hasher.Verify(right password) = false")
	}
	if h.Verify("s3cret!", enc) {
		t.Error("Hasher.Verify(wrong password) = true")
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash(own hash) = true")
	}
}

func TestMalformed(t *testing.T) {
	good := mustHash(t, "pw", fast)
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	with := func(params, s, k string) string { return "$argon2id$v=19$" + params + "$" + s + "$" + k }
	tests := []struct {
		name, enc string
	}{
		{"empty", ""},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(good, "argon2id", "argon2d", 1)},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"no version", strings.Replace(good, "v=19$", "", 1)},
		{"leading space", " " + good},
		{"trailing $", good + "$"},
		{"missing hash", with("m=64,t=1,p=1", salt, "")},
		{"missing field", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"params reordered", with("t=1,m=64,p=1", salt, key)},
		{"extra param", with("m=64,t=1,p=1,k=1", salt, key)},
		{"missing param", with("m=64,t=1", salt, key)},
		{"m=2^32", with("m=4294967296,t=1,p=1", salt, key)},
		{"m=2^64", with("m=18446744073709551616,t=1,p=1", salt, key)},
		{"m too large", with("m=4294967295,t=1,p=1", salt, key)},
		{"m below 8p", with("m=7,t=1,p=1", salt, key)},
		{"m below 8p (p=4)", with("m=31,t=1,p=4", salt, key)},
		{"m=0", with("m=0,t=1,p=1", salt, key)},
		{"t=0", with("m=64,t=0,p=1", salt, key)},
		{"t huge", with("m=64,t=4294967295,p=1", salt, key)},
		{"p=0", with("m=64,t=1,p=0", salt, key)},
		{"p=256", with("m=4096,t=1,p=256", salt, key)},
		{"negative", with("m=-64,t=1,p=1", salt, key)},
		{"plus sign", with("m=+64,t=1,p=1", salt, key)},
		{"leading zero", with("m=064,t=1,p=1", salt, key)},
		{"hex", with("m=0x40,t=1,p=1", salt, key)},
		{"space in param", with("m= 64,t=1,p=1", salt, key)},
		{"empty param", with("m=,t=1,p=1", salt, key)},
		{"bad base64 salt", with("m=64,t=1,p=1", "!!!!!!!!!!!!", key)},
		{"bad base64 hash", with("m=64,t=1,p=1", salt, "%%%%"+key[4:])},
		{"padded base64", with("m=64,t=1,p=1", salt, key+"=")},
		{"url base64", with("m=64,t=1,p=1", base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb}), key)},
		{"non-canonical base64", with("m=64,t=1,p=1", salt[:len(salt)-1]+"B", key)},
		{"salt too short", with("m=64,t=1,p=1", base64.RawStdEncoding.EncodeToString([]byte("1234567")), key)},
		{"salt too long", with("m=64,t=1,p=1", base64.RawStdEncoding.EncodeToString(make([]byte, 65)), key)},
		{"hash too short", with("m=64,t=1,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 15)))},
		{"hash too long", with("m=64,t=1,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 65)))},
		{"newline in base64", with("m=64,t=1,p=1", salt[:4]+"\n"+salt[4:], key)},
		{"CR in base64", with("m=64,t=1,p=1", salt, "\r"+key)},
		{"huge salt", with("m=64,t=1,p=1", strings.Repeat("A", 1<<20), key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Verify("pw", tt.enc)
			if ok || err == nil {
				t.Fatalf("Verify(pw, %q) = %v, %v; want false, error", tt.enc, ok, err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify(pw, %q) error = %v, want ErrMalformed", tt.enc, err)
			}
		})
	}
	// Control: the unmodified hash verifies, so the cases above fail
	// because of their defect.
	if ok, err := Verify("pw", with("m=64,t=1,p=1", salt, key)); !ok || err != nil {
		t.Fatalf("Verify(control) = %v, %v", ok, err)
	}
}

func TestHashRejectsBadParams(t *testing.T) {
	for _, p := range []Params{
		{},
		{Memory: 64, Iterations: 0, Parallelism: 1},
		{Memory: 64, Iterations: 1, Parallelism: 0},
		{Memory: 7, Iterations: 1, Parallelism: 1},
		{Memory: 16, Iterations: 1, Parallelism: 4},
		{Memory: MaxMemory + 1, Iterations: 1, Parallelism: 1},
		{Memory: 64, Iterations: MaxIterations + 1, Parallelism: 1},
	} {
		if h, err := Hash("pw", p); err == nil {
			t.Errorf("Hash(pw, %+v) = %q, nil; want error", p, h)
		}
		if h, err := NewHasher(p); err == nil {
			t.Errorf("NewHasher(%+v) = %v, nil; want error", p, h)
		}
	}
}

func TestHasher(t *testing.T) {
	h, err := NewHasher(fast)
	if err != nil {
		t.Fatal(err)
	}
	if h.Params() != fast {
		t.Errorf("Params() = %+v, want %+v", h.Params(), fast)
	}
	enc, err := h.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pw, enc string
		want          bool
	}{
		{"match", "pw", enc, true},
		{"mismatch", "pW", enc, false},
		{"no such user", "pw", "", false},
		{"no such user, empty password", "", "", false},
		{"malformed", "pw", "$argon2id$v=19$m=64,t=1,p=1$garbage", false},
		{"other params still verify", "pw", mustHash(t, "pw", Params{Memory: 32, Iterations: 2, Parallelism: 1}), true},
	}
	for _, tt := range tests {
		if got := h.Verify(tt.pw, tt.enc); got != tt.want {
			t.Errorf("%s: Hasher.Verify(%q, %q) = %v, want %v", tt.name, tt.pw, tt.enc, got, tt.want)
		}
	}
}

// TestHasherDummy checks the dummy hash used for unknown users: made once,
// with the Hasher's parameters (so it costs what a real check costs), and
// of a password nobody knows.
func TestHasherDummy(t *testing.T) {
	p := Params{Memory: 96, Iterations: 2, Parallelism: 3}
	h, err := NewHasher(p)
	if err != nil {
		t.Fatal(err)
	}
	d := h.dummy.Load()
	if d.params != p || len(d.salt) != 16 || len(d.key) != 32 {
		t.Errorf("dummy = params %+v, salt %d, key %d; want %+v, 16, 32", d.params, len(d.salt), len(d.key), p)
	}
	h2, _ := NewHasher(p)
	if string(d.key) == string(h2.dummy.Load().key) {
		t.Error("two Hashers have the same dummy hash")
	}
	for _, pw := range []string{"", "password", "admin"} {
		if d.check(pw) {
			t.Errorf("dummy hash matches %q", pw)
		}
	}
}

// TestHasherSameWorkAfterCostChange is user enumeration by timing after
// the cost parameters change: a user whose stored hash has the old
// parameters, a user with the current ones and an unknown user must cost
// the same argon2id work (compared in Cost units, not by timing), whether
// the parameters were raised or lowered.
func TestHasherSameWorkAfterCostChange(t *testing.T) {
	cheap := Params{Memory: 32, Iterations: 1, Parallelism: 1}
	current := Params{Memory: 64, Iterations: 2, Parallelism: 1}
	dear := Params{Memory: 256, Iterations: 2, Parallelism: 1}
	h, err := NewHasher(current)
	if err != nil {
		t.Fatal(err)
	}
	work := func(encoded string) uint64 {
		before := h.Work()
		h.Verify("wrong", encoded)
		return h.Work() - before
	}
	oldCheap, own := mustHash(t, "pw", cheap), mustHash(t, "pw", current)
	// Raised: old hashes are cheaper than the current parameters.
	if u, o, c := work(""), work(oldCheap), work(own); u != current.Cost() || o != u || c != u {
		t.Errorf("after a raise: work unknown %d, old hash %d, current hash %d; want all %d", u, o, c, current.Cost())
	}
	// Lowered: a stored hash is dearer than the current parameters; once
	// seen (at start-up), unknown users cost as much as it does.
	oldDear := mustHash(t, "pw", dear)
	h.Observe(oldDear)
	if got := h.DummyParams(); got != dear {
		t.Errorf("DummyParams after Observe(dearer hash) = %+v, want %+v", got, dear)
	}
	if u, o, c, ch := work(""), work(oldDear), work(own), work(oldCheap); u != dear.Cost() || o != u || c != u || ch != u {
		t.Errorf("after a cut: work unknown %d, dear hash %d, current hash %d, cheap hash %d; want all %d", u, o, c, ch, dear.Cost())
	}
	if !h.Verify("pw", oldCheap) || !h.Verify("pw", own) || !h.Verify("pw", oldDear) {
		t.Error("padding changed a verification's answer")
	}
}

func TestNeedsRehash(t *testing.T) {
	h, _ := NewHasher(fast)
	own, _ := h.Hash("pw")
	other := mustHash(t, "pw", Params{Memory: 128, Iterations: 1, Parallelism: 1})
	shortKey := func() string {
		salt := make([]byte, 16)
		return "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" +
			base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte("pw"), salt, 1, 64, 1, 16))
	}()
	for _, tt := range []struct {
		enc  string
		want bool
	}{{own, false}, {other, true}, {shortKey, true}, {"", true}, {"junk", true}} {
		if got := h.NeedsRehash(tt.enc); got != tt.want {
			t.Errorf("NeedsRehash(%q) = %v, want %v", tt.enc, got, tt.want)
		}
	}
}

func BenchmarkHashDefault(b *testing.B) {
	p := Default()
	for b.Loop() {
		if _, err := Hash("correct horse", p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSeedMatches keeps the fuzz corpus honest: its valid_match seed is a
// real match, so the fuzzer starts from the success path too.
func TestSeedMatches(t *testing.T) {
	const enc = "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$Hgsbc6FDwl/qbUWxDrr+ZjetYYKE+7fDe5btmNdDfm0"
	if ok, err := Verify("pw", enc); !ok || err != nil {
		t.Errorf("Verify(pw, %q) = %v, %v; want true, nil", enc, ok, err)
	}
}
