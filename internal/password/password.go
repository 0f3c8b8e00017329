// Package password hashes and verifies user passwords with argon2id
// (golang.org/x/crypto/argon2), encoded in the PHC string format
// $argon2id$v=19$m=MEM,t=TIME,p=PAR$SALT$HASH (unpadded standard base64).
package password

// Params are the argon2id cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
}

// Default returns the cost Latch uses in production: OWASP's argon2id
// recommendation (19 MiB, 2 iterations, 1 lane).
func Default() Params { return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1} }

// Hash hashes password with a fresh 16-byte random salt and a 32-byte key.
func Hash(password string, p Params) (string, error) {
	panic("unimplemented")
}

// Verify reports whether password matches encoded, comparing in constant
// time. A malformed encoded hash is an error (never a match).
func Verify(password, encoded string) (bool, error) {
	panic("unimplemented")
}

// Hasher hashes with fixed params and can spend the same time on an
// unknown user as on a known one, so a login answer does not reveal which
// usernames exist.
type Hasher struct {
	// unexported fields: params and a dummy hash made once at construction
}

// NewHasher returns a Hasher for p.
func NewHasher(p Params) (*Hasher, error) {
	panic("unimplemented")
}

// Hash is Hash(password, h's params).
func (h *Hasher) Hash(password string) (string, error) {
	panic("unimplemented")
}

// Verify checks password against encoded; when encoded is "" (no such
// user) it verifies against the dummy hash and returns false, taking the
// same time as a real check.
func (h *Hasher) Verify(password, encoded string) bool {
	panic("unimplemented")
}
