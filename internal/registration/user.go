package registration

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"

	"github.com/latchauth/latch/internal/store"
)

// Password and username bounds. The password minimum follows NIST
// SP 800-63B §5.1.1.2 (at least 8 characters); the maximum only keeps
// absurd input out of the hash.
const (
	MinPasswordLen   = 8    // characters (runes)
	MaxPasswordBytes = 1024 // bytes
	MaxUsernameLen   = 255  // bytes
)

// CheckPassword applies the password policy. The password never appears
// in an error.
func CheckPassword(pw string) error {
	switch {
	case pw == "":
		return errors.New("the password is empty")
	case len(pw) > MaxPasswordBytes:
		return fmt.Errorf("the password is longer than %d bytes", MaxPasswordBytes)
	case !utf8.ValidString(pw):
		return errors.New("the password is not valid UTF-8")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Errorf("the password is shorter than %d characters", MinPasswordLen)
	}
	return nil
}

// ValidateUsername refuses usernames that would be confusing at the login
// form or in a table: empty, too long, surrounding blanks, control
// characters or invalid UTF-8, and anything the PRECIS username profile
// refuses (see CanonicalUsername).
func ValidateUsername(u string) error {
	switch {
	case u == "" || len(u) > MaxUsernameLen:
		return fmt.Errorf("username must be 1 to %d bytes", MaxUsernameLen)
	case !ValidText(u):
		return errors.New("username must be valid UTF-8 without control characters")
	case strings.TrimSpace(u) != u:
		return errors.New("username must not start or end with blanks")
	}
	if c, err := CanonicalUsername(u); err != nil || c == "" || len(c) > MaxUsernameLen {
		return errors.New("username must be letters, digits and ASCII punctuation, without spaces or symbols (RFC 8265 §3.3)")
	}
	return nil
}

// CanonicalUsername is the one form a username is stored, looked up and
// throttled under: the PRECIS UsernameCaseMapped profile (RFC 8265 §3.3):
// full-width characters mapped to their narrow forms, lower-cased,
// Unicode NFC, and only letters, digits and ASCII printable characters
// other than space (the IdentifierClass, RFC 8264 §4.2; no spaces,
// control characters, symbols or invalid UTF-8). So "Alice", "ALICE",
// "Ａｌｉｃｅ" and "alice" are one name, and so are the NFC and NFD
// spellings of "Åsa". Surrounding blanks (a stray one typed into a form)
// are trimmed first.
func CanonicalUsername(u string) (string, error) {
	return precis.UsernameCaseMapped.String(strings.TrimSpace(u))
}

// UsernameTaken is the one message for a new username whose canonical
// form belongs to an existing user.
func UsernameTaken(typed, canonical string) string {
	if typed == canonical {
		return fmt.Sprintf("user %q already exists", canonical)
	}
	return fmt.Sprintf("user %q already exists: %q is the same username (usernames are compared after case folding, width mapping and Unicode NFC, RFC 8265 §3.3)", canonical, typed)
}

// FindUser looks up the account a person means by typed (a sign-in form,
// an admin lookup): by its canonical form, then, for accounts created
// before usernames were canonicalised, exactly as typed. key is the name
// to count sign-in attempts under: the canonical form, or typed itself
// when it has none. A name that is not valid text (NUL, control
// characters, invalid UTF-8) or is too long never reaches the store:
// store.ErrNotFound.
func FindUser(ctx context.Context, st store.Store, typed string) (u store.User, key string, err error) {
	key, cerr := CanonicalUsername(typed)
	if cerr != nil || key == "" {
		key = typed
	} else if len(key) <= MaxUsernameLen {
		u, err = st.GetUserByUsername(ctx, key)
		if key == typed || !errors.Is(err, store.ErrNotFound) {
			return u, key, err
		}
	}
	if typed == "" || len(typed) > MaxUsernameLen || !ValidText(typed) {
		return store.User{}, key, store.ErrNotFound
	}
	u, err = st.GetUserByUsername(ctx, typed)
	return u, key, err
}

// ValidateEmail accepts a bare addr-spec (RFC 5322 §3.4.1), no display
// name or angle brackets.
func ValidateEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return fmt.Errorf("email %q is not a valid address (want user@example.com)", e)
	}
	return nil
}

// ValidateUser checks the profile fields of a new user (not the password:
// see CheckPassword).
func ValidateUser(u store.User) error {
	if err := ValidateUsername(u.Username); err != nil {
		return err
	}
	if u.Email != "" {
		if err := ValidateEmail(u.Email); err != nil {
			return err
		}
	}
	if !ValidText(u.Name) {
		return errors.New("name must be valid UTF-8 without control characters")
	}
	if u.EmailVerified && u.Email == "" {
		return errors.New("email_verified needs an email address")
	}
	return nil
}

// NewUserID returns a random (version 4) UUID, RFC 9562 §5.4, from
// crypto/rand. It is the user's OIDC subject: stable, not reassigned, and
// revealing nothing about the user.
func NewUserID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error (it crashes the program if
	// the system's generator fails).
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// UserView is a user as printed by the CLI and returned by the admin API;
// it has no field for the password hash.
type UserView struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Email         string    `json:"email,omitempty"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// NewUserView renders u.
func NewUserView(u store.User) UserView {
	return UserView{
		ID:            u.ID,
		Username:      u.Username,
		Email:         u.Email,
		EmailVerified: u.EmailVerified,
		Name:          u.Name,
		CreatedAt:     u.CreatedAt.UTC(),
	}
}
