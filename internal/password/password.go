// Package password hashes and verifies user passwords with argon2id
// (golang.org/x/crypto/argon2), encoded in the PHC string format
// $argon2id$v=19$m=MEM,t=TIME,p=PAR$SALT$HASH (unpadded standard base64).
//
// Parsing is strict: only argon2id version 19 (0x13, RFC 9106 §3.1), the
// parameters in the order m, t, p, decimal without sign or leading zeros,
// canonical unpadded base64, and cost parameters within bounds (see
// MaxMemory, MaxIterations) so that a corrupt or hostile stored hash cannot
// make Verify allocate gigabytes or run for minutes. A malformed hash is an
// error, never a match and never a panic.
//
// What it does not do: it does not limit the password length (callers cap
// request bodies), normalise Unicode, or rate-limit attempts.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Bounds on the parameters accepted by Hash and Verify.
const (
	// MaxMemory is 2 GiB, RFC 9106 §4's first recommended option; anything
	// above it in a stored hash is treated as corruption.
	MaxMemory = 2 << 20 // KiB
	// MaxIterations bounds t.
	MaxIterations = 64
	// MinSaltLen is RFC 9106 §3.1's minimum salt length (8 bytes); Hash
	// uses saltLen.
	MinSaltLen = 8
	// MaxSaltLen and the key bounds keep a stored hash small.
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 64
)

const (
	saltLen = 16
	keyLen  = 32
	prefix  = "$argon2id$v=19$"
)

// ErrMalformed is wrapped by the error Verify returns for an encoded hash
// it cannot parse.
var ErrMalformed = errors.New("password: malformed argon2id hash")

// Params are the argon2id cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
}

// Default returns the cost Latch uses in production: OWASP's argon2id
// recommendation (19 MiB, 2 iterations, 1 lane).
func Default() Params { return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1} }

// validate checks p against argon2's requirements (RFC 9106 §3.1: p ≥ 1,
// t ≥ 1, m ≥ 8p) and Latch's upper bounds.
func (p Params) validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("parallelism must be at least 1")
	case p.Iterations < 1 || p.Iterations > MaxIterations:
		return fmt.Errorf("iterations %d out of [1, %d]", p.Iterations, MaxIterations)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > MaxMemory:
		return fmt.Errorf("memory %d KiB out of [8*parallelism, %d]", p.Memory, MaxMemory)
	}
	return nil
}

// Hash hashes password with a fresh 16-byte random salt and a 32-byte key.
func Hash(password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never returns an error (crypto/rand, Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, keyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(len(prefix) + 32 + base64.RawStdEncoding.EncodedLen(len(salt)) + base64.RawStdEncoding.EncodedLen(len(key)))
	b.WriteString(prefix)
	fmt.Fprintf(&b, "m=%d,t=%d,p=%d$", p.Memory, p.Iterations, p.Parallelism)
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}

// hash is a parsed PHC string.
type hash struct {
	params Params
	salt   []byte
	key    []byte
}

var b64 = base64.RawStdEncoding.Strict()

// decode parses an encoded argon2id hash strictly (see the package doc).
func decode(encoded string) (hash, error) {
	var h hash
	rest, ok := strings.CutPrefix(encoded, prefix)
	if !ok {
		return h, fmt.Errorf("%w: want prefix %q", ErrMalformed, prefix)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return h, fmt.Errorf("%w: want params$salt$hash", ErrMalformed)
	}
	ps := strings.Split(parts[0], ",")
	if len(ps) != 3 {
		return h, fmt.Errorf("%w: want m=,t=,p=", ErrMalformed)
	}
	m, err := param(ps[0], "m=", 32)
	if err != nil {
		return h, err
	}
	t, err := param(ps[1], "t=", 32)
	if err != nil {
		return h, err
	}
	p, err := param(ps[2], "p=", 8)
	if err != nil {
		return h, err
	}
	h.params = Params{Memory: uint32(m), Iterations: uint32(t), Parallelism: uint8(p)}
	if err := h.params.validate(); err != nil {
		return h, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// Check encoded lengths before decoding so huge fields are never decoded.
	if len(parts[1]) > b64.EncodedLen(MaxSaltLen) || len(parts[2]) > b64.EncodedLen(MaxKeyLen) {
		return h, fmt.Errorf("%w: salt or hash too long", ErrMalformed)
	}
	// encoding/base64 skips \r and \n; a PHC string has one spelling only.
	if !isBase64(parts[1]) || !isBase64(parts[2]) {
		return h, fmt.Errorf("%w: salt or hash is not unpadded standard base64", ErrMalformed)
	}
	if h.salt, err = b64.DecodeString(parts[1]); err != nil {
		return h, fmt.Errorf("%w: salt: %v", ErrMalformed, err)
	}
	if h.key, err = b64.DecodeString(parts[2]); err != nil {
		return h, fmt.Errorf("%w: hash: %v", ErrMalformed, err)
	}
	if len(h.salt) < MinSaltLen || len(h.salt) > MaxSaltLen {
		return h, fmt.Errorf("%w: salt is %d bytes", ErrMalformed, len(h.salt))
	}
	if len(h.key) < MinKeyLen || len(h.key) > MaxKeyLen {
		return h, fmt.Errorf("%w: hash is %d bytes", ErrMalformed, len(h.key))
	}
	return h, nil
}

func isBase64(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// param parses "name=DIGITS": unsigned decimal, no sign, no leading zero.
func param(s, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok || v == "" || len(v) > 10 || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: bad %s parameter", ErrMalformed, strings.TrimSuffix(name, "="))
	}
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: bad %s parameter", ErrMalformed, strings.TrimSuffix(name, "="))
		}
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: %s parameter out of range", ErrMalformed, strings.TrimSuffix(name, "="))
	}
	return n, nil
}

// check recomputes the key and compares in constant time.
func (h hash) check(password string) bool {
	got := argon2.IDKey([]byte(password), h.salt, h.params.Iterations, h.params.Memory, h.params.Parallelism, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// Verify reports whether password matches encoded, comparing in constant
// time. A malformed encoded hash is an error (never a match).
func Verify(password, encoded string) (bool, error) {
	h, err := decode(encoded)
	if err != nil {
		return false, err
	}
	return h.check(password), nil
}

// Hasher hashes with fixed params and can spend the same work on an
// unknown user as on a known one, so a login answer does not reveal which
// usernames exist — also after the parameters change, while hashes made
// with the old ones are still stored:
//
//   - the reference cost is the highest of the configured parameters and
//     of every stored hash it has seen (Observe, and each Verify); an
//     unknown user (or a malformed hash) is verified against a dummy hash
//     at the reference parameters;
//   - a stored hash cheaper than the reference is verified and then
//     padded with argon2id work of the difference, so every verification
//     costs the reference (the cost of argon2id with one lane being
//     proportional to memory × iterations; see Work);
//   - callers rehash with the configured parameters after a successful
//     check (NeedsRehash), so old hashes die out.
//
// A Hasher runs at most GOMAXPROCS hashes at once (or Limits.Concurrency,
// see NewLimitedHasher); further callers wait for a slot. argon2id is CPU-bound, so more at once would not finish
// sooner, but each one holds its memory cost (19 MiB by default) while it
// runs: without the bound, a burst of 64 logins would need 1.2 GiB.
type Hasher struct {
	params Params
	dummy  atomic.Pointer[hash] // a hash of a random password at the reference cost
	slots  chan struct{}        // bounds concurrent hashes (and so their memory)
	checks atomic.Int64         // verifications run (real and dummy), for tests and metrics
	work   atomic.Uint64        // argon2id work done by Verify, in Cost units
	// queue bounds the VerifyContext callers waiting for a slot (negative:
	// no bound); waiting counts them.
	queue   int
	waiting atomic.Int64
	// idle (Limits.OnIdle) runs once no hash has run for IdleAfter.
	idle *time.Timer
}

// IdleAfter is how long a Hasher must have computed nothing before it
// calls Limits.OnIdle.
const IdleAfter = time.Second

// ErrBusy is returned by VerifyContext when every hashing slot is taken
// and Limits.Queue callers are already waiting: the caller should answer
// "try again later" rather than queue without bound.
var ErrBusy = errors.New("password: every hashing slot is busy")

// Limits bound how many hashes a Hasher computes at once (Concurrency,
// each holding Params.Memory) and how many VerifyContext callers may wait
// for a slot (Queue). Concurrency below 1 means GOMAXPROCS.
//
// A Concurrency below GOMAXPROCS keeps CPUs free for other work: argon2id
// is CPU-bound, so a burst of sign-ins with one slot per CPU would starve
// everything else the process does (token refreshes, introspection).
//
// OnIdle, when set, is called (in its own goroutine) once the Hasher has
// computed nothing for IdleAfter since its last hash: the moment to hand
// the argon2id blocks of a burst of sign-ins back to the operating system
// (debug.FreeOSMemory). Each hash allocates its memory cost afresh, and
// the garbage collector would otherwise keep the heap a burst grew to
// until the next collection, which an idle process may not reach for
// minutes.
type Limits struct {
	Concurrency int
	Queue       int
	OnIdle      func()
}

// NewHasher returns a Hasher for p with GOMAXPROCS slots and no bound on
// waiting callers.
func NewHasher(p Params) (*Hasher, error) {
	return NewLimitedHasher(p, Limits{Queue: -1})
}

// NewLimitedHasher returns a Hasher for p within l. A negative l.Queue
// means no bound on waiting callers.
func NewLimitedHasher(p Params, l Limits) (*Hasher, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	n := l.Concurrency
	if n < 1 {
		n = max(runtime.GOMAXPROCS(0), 1)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, n), queue: l.Queue}
	h.dummy.Store(newDummy(p))
	if l.OnIdle != nil {
		h.idle = time.AfterFunc(IdleAfter, func() {
			if len(h.slots) == 0 {
				l.OnIdle()
			}
		})
		h.idle.Stop()
	}
	return h, nil
}

// release frees the slot of a finished hash; the last one out (re)arms
// the idle callback. A hash that starts before it fires makes it a no-op
// (it checks again), and that hash's release arms it anew.
func (h *Hasher) release() {
	<-h.slots
	if h.idle != nil && len(h.slots) == 0 {
		h.idle.Reset(IdleAfter)
	}
}

// newDummy hashes a random secret with p.
func newDummy(p Params) *hash {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	secret := make([]byte, 32)
	rand.Read(secret)
	return &hash{params: p, salt: salt, key: argon2.IDKey(secret, salt, p.Iterations, p.Memory, p.Parallelism, keyLen)}
}

// Cost is the work of one argon2id computation with p, in KiB-passes
// (memory × iterations): with one lane its time is proportional to it.
func (p Params) Cost() uint64 { return uint64(p.Memory) * uint64(p.Iterations) }

// check is hh.check(password) within one of h's slots (see acquire).
func (h *Hasher) check(ctx context.Context, hh hash, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	h.checks.Add(1)
	h.work.Add(hh.params.Cost())
	return hh.check(password), nil
}

// pad spends argon2id work of cost units (one pass over cost KiB), so a
// verification of a cheap hash costs as much as the reference. It waits
// for a slot whatever the queue (the verification it pads has been
// admitted already), until ctx ends.
func (h *Hasher) pad(ctx context.Context, cost uint64) {
	m := uint32(min(max(cost, 8), MaxMemory))
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer h.release()
	h.work.Add(uint64(m))
	var salt [saltLen]byte
	argon2.IDKey(nil, salt[:], 1, m, 1, keyLen)
}

// acquire takes a slot, waiting while fewer than h.queue others wait
// (any number when h.queue is negative) and ctx is not done.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if n := h.waiting.Add(1); h.queue >= 0 && n > int64(h.queue) {
		h.waiting.Add(-1)
		return ErrBusy
	}
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Params returns h's parameters.
func (h *Hasher) Params() Params { return h.params }

// DummyParams returns the reference parameters: those of the dummy
// verification made for an unknown user.
func (h *Hasher) DummyParams() Params { return h.dummy.Load().params }

// Checks returns how many verifications (real and dummy) h has run.
func (h *Hasher) Checks() int64 { return h.checks.Load() }

// Work returns the argon2id work Verify has done, in Cost units.
func (h *Hasher) Work() uint64 { return h.work.Load() }

// Observe raises the reference cost to that of the stored hash encoded
// when it is higher (a hash made before the parameters were lowered).
// Call it for every stored hash at start-up; Verify calls it too.
// Malformed hashes are ignored.
func (h *Hasher) Observe(encoded string) {
	if parsed, err := decode(encoded); err == nil {
		h.observe(parsed.params)
	}
}

func (h *Hasher) observe(p Params) {
	for {
		cur := h.dummy.Load()
		if p.Cost() <= cur.params.Cost() {
			return
		}
		if h.dummy.CompareAndSwap(cur, newDummy(p)) {
			return
		}
	}
}

// Hash is Hash(password, h's params).
func (h *Hasher) Hash(password string) (string, error) {
	h.slots <- struct{}{}
	defer h.release()
	return Hash(password, h.params)
}

// Verify checks password against encoded; when encoded is "" (no such
// user) it verifies against the dummy hash and returns false. A malformed
// encoded hash is treated the same way (false, after a dummy check). A
// hash cheaper than the reference is padded to its cost (see Hasher), so
// every call does the same work. It waits for a slot as long as it takes;
// VerifyContext is the bounded form.
func (h *Hasher) Verify(password, encoded string) bool {
	ok, _ := h.VerifyContext(context.Background(), password, encoded)
	return ok
}

// Saturated reports whether a VerifyContext call made now would most
// likely get ErrBusy: every slot taken and Limits.Queue callers waiting.
// It is a cheap, racy pre-check, so a caller can refuse before doing other
// work (a sign-in reserves its attempt in the store first); VerifyContext
// still enforces the bound.
func (h *Hasher) Saturated() bool {
	return h.queue >= 0 && len(h.slots) == cap(h.slots) && h.waiting.Load() >= int64(h.queue)
}

// VerifyContext is Verify within h's Limits: it returns ErrBusy at once
// when every slot is taken and Limits.Queue callers already wait, and
// ctx's error when ctx ends while waiting for a slot. A hash that has
// started always runs to completion (and is padded like Verify's).
func (h *Hasher) VerifyContext(ctx context.Context, password, encoded string) (bool, error) {
	parsed, err := decode(encoded)
	if encoded == "" || err != nil {
		_, err := h.check(ctx, *h.dummy.Load(), password)
		return false, err
	}
	h.observe(parsed.params)
	ok, err := h.check(ctx, parsed, password)
	if err != nil {
		return false, err
	}
	if ref, c := h.DummyParams().Cost(), parsed.params.Cost(); c < ref {
		h.pad(ctx, ref-c)
	}
	return ok, nil
}

// NeedsRehash reports whether encoded was made with parameters (or salt or
// key lengths) other than h's, so that the caller can store a fresh hash
// after a successful login. A malformed hash needs a rehash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	parsed, err := decode(encoded)
	if err != nil {
		return true
	}
	return parsed.params != h.params || len(parsed.salt) != saltLen || len(parsed.key) != keyLen
}
