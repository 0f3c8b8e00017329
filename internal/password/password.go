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

// Hasher hashes with fixed params and can spend the same time on an
// unknown user as on a known one, so a login answer does not reveal which
// usernames exist.
//
// A Hasher runs at most GOMAXPROCS hashes at once (or Limits.Concurrency,
// see NewLimitedHasher); further callers wait for a slot. argon2id is CPU-bound, so more at once would not finish
// sooner, but each one holds its memory cost (19 MiB by default) while it
// runs: without the bound, a burst of 64 logins would need 1.2 GiB.
type Hasher struct {
	params Params
	dummy  hash          // a hash of a random password with params, made once
	slots  chan struct{} // bounds concurrent hashes (and so their memory)
	// queue bounds the VerifyContext callers waiting for a slot (negative:
	// no bound); waiting counts them.
	queue   int
	waiting atomic.Int64
}

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
type Limits struct {
	Concurrency int
	Queue       int
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
	salt := make([]byte, saltLen)
	rand.Read(salt)
	secret := make([]byte, 32)
	rand.Read(secret)
	key := argon2.IDKey(secret, salt, p.Iterations, p.Memory, p.Parallelism, keyLen)
	n := l.Concurrency
	if n < 1 {
		n = max(runtime.GOMAXPROCS(0), 1)
	}
	return &Hasher{
		params: p, dummy: hash{params: p, salt: salt, key: key},
		slots: make(chan struct{}, n), queue: l.Queue,
	}, nil
}

// check is hh.check(password) within one of h's slots.
func (h *Hasher) check(hh hash, password string) bool {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return hh.check(password)
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

// VerifyContext is Verify within h's Limits: it returns ErrBusy at once
// when the queue is full, and ctx's error when ctx ends while waiting for
// a slot. A hash that has started always runs to completion.
func (h *Hasher) VerifyContext(ctx context.Context, password, encoded string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.slots }()
	if encoded == "" {
		h.dummy.check(password)
		return false, nil
	}
	parsed, err := decode(encoded)
	if err != nil {
		h.dummy.check(password)
		return false, nil
	}
	return parsed.check(password), nil
}

// Params returns h's parameters.
func (h *Hasher) Params() Params { return h.params }

// Hash is Hash(password, h's params).
func (h *Hasher) Hash(password string) (string, error) {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return Hash(password, h.params)
}

// Verify checks password against encoded; when encoded is "" (no such
// user) it verifies against the dummy hash and returns false, taking the
// same time as a real check. A malformed encoded hash is treated the same
// way (false, after a dummy check). A hash stored with other parameters
// takes the time those parameters cost; see NeedsRehash.
func (h *Hasher) Verify(password, encoded string) bool {
	if encoded == "" {
		h.check(h.dummy, password)
		return false
	}
	parsed, err := decode(encoded)
	if err != nil {
		h.check(h.dummy, password)
		return false
	}
	return h.check(parsed, password)
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
