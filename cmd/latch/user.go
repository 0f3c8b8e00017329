package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// Password and username bounds: see internal/registration.
const (
	minPasswordLen   = registration.MinPasswordLen
	maxPasswordBytes = registration.MaxPasswordBytes
)

// passwordStdinHelp explains the missing --password-stdin.
const passwordStdinHelp = "--password-stdin is required: the password is read from standard input, never from a flag (flags leak into shell history and ps)"

var userCreateHelp = cmdHelp{
	name:     "user create",
	synopsis: "--username USERNAME (--password-stdin | --passkey-only) [--email EMAIL] [--email-verified] [--name NAME]",
	text: `Creates a user. The password is the first line of standard input, e.g.
  printf '%s\n' "$PASSWORD" | latch user create --username alice --password-stdin
It is hashed with argon2id at the configured cost (password-memory-kib,
password-iterations). The user's ID (the OIDC sub) is a random UUID.
With --passkey-only the user has no password: a one-time registration link is
printed (valid 24 hours), on which the user creates their passkey. Latch sends
no mail: hand the link over yourself.`,
}

func runUserCreate(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userCreateHelp, false)
	username := cmd.fs.String("username", "", "`username` used to sign in (required; unique, case-sensitive)")
	email := cmd.fs.String("email", "", "email `address`")
	emailVerified := cmd.fs.Bool("email-verified", false, "mark the email address as verified")
	name := cmd.fs.String("name", "", "full `name`")
	pwStdin := cmd.fs.Bool("password-stdin", false, "read the password from the first line of standard input (required unless --passkey-only)")
	passkeyOnly := cmd.fs.Bool("passkey-only", false, "no password: print a one-time link on which the user creates a passkey")
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	if *username == "" {
		return usageErrorf("user create: --username is required")
	}
	if *passkeyOnly && *pwStdin {
		return usageErrorf("user create: --passkey-only and --password-stdin exclude each other")
	}
	if !*pwStdin && !*passkeyOnly {
		return usageErrorf("user create: %s (or --passkey-only)", passwordStdinHelp)
	}
	if err := registration.ValidateUsername(*username); err != nil {
		return err
	}
	if *email != "" {
		if err := registration.ValidateEmail(*email); err != nil {
			return err
		}
	}
	if !registration.ValidText(*name) {
		return errors.New("name must be valid UTF-8 without control characters")
	}
	if *emailVerified && *email == "" {
		return errors.New("--email-verified needs --email")
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	// Stored in canonical form (RFC 8265 §3.3): look-alike spellings of
	// one name collide.
	canonical, err := registration.CanonicalUsername(*username)
	if err != nil {
		return fmt.Errorf("username: %w", err)
	}
	u := store.User{Username: canonical, Email: *email, EmailVerified: *emailVerified, Name: *name}
	if *passkeyOnly {
		v, link, err := recs.CreatePasskeyUser(ctx, u)
		if err != nil {
			return err
		}
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "passkey registration link (valid until %s, once):\n%s\n", fmtTime(link.ExpiresAt), link.URL)
		return nil
	}
	v, err := recs.CreateUser(ctx, u, e.stdin)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, v)
}

// CreateUser reads the password first: a configuration or password
// problem is reported before the database is opened.
func (l *localRecords) CreateUser(ctx context.Context, u store.User, pw io.Reader) (userView, error) {
	password, err := l.readPassword(pw)
	if err != nil {
		return userView{}, err
	}
	var v userView
	err = l.service(ctx, func(svc *manage.Service) error {
		v, err = svc.CreateUser(ctx, u, password)
		return err
	})
	return v, err
}

var userSetPasswordHelp = cmdHelp{
	name:     "user set-password",
	synopsis: "USERNAME --password-stdin [--logout]",
	text: `Replaces a user's password with the first line of standard input.
With --logout, the user's sessions end and every grant (refresh token) they
gave is revoked, as after a suspected compromise.`,
}

func runUserSetPassword(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userSetPasswordHelp, false)
	pwStdin := cmd.fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	logout := cmd.fs.Bool("logout", false, "also end the user's sessions and revoke their grants")
	pos, err := cmd.parse(args, "username")
	if err != nil {
		return err
	}
	if !*pwStdin {
		return usageErrorf("user set-password: %s", passwordStdinHelp)
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	sessions, grants, err := recs.SetPassword(ctx, pos[0], e.stdin, *logout)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password of %q updated\n", pos[0])
	if *logout {
		fmt.Fprintf(e.stdout, "ended %d sessions, revoked %d grants\n", sessions, grants)
	}
	return nil
}

func (l *localRecords) SetPassword(ctx context.Context, username string, pw io.Reader, logout bool) (sessions, grants int, err error) {
	password, err := l.readPassword(pw)
	if err != nil {
		return 0, 0, err
	}
	err = l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		res, err := svc.SetPassword(ctx, u.ID, password, logout)
		sessions, grants = res.SessionsEnded, res.GrantsRevoked
		return err
	})
	return sessions, grants, err
}

var userListHelp = cmdHelp{
	name:     "user list",
	synopsis: "[--json]",
	text:     "Lists every user, as a table or as a JSON array. Password hashes are never shown.",
}

func runUserList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userListHelp, false)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	_, recs, err := cmd.open(args)
	if err != nil {
		return err
	}
	views, err := recs.ListUsers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tID\tEMAIL\tVERIFIED\tNAME\tCREATED")
	for _, u := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", cell(u.Username), cell(u.ID), cell(u.Email),
			u.EmailVerified, cell(u.Name), fmtTime(u.CreatedAt))
	}
	return tw.Flush()
}

// ListUsers never returns nil: an empty list prints as [].
func (l *localRecords) ListUsers(ctx context.Context) ([]userView, error) {
	var views []userView
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		views, err = svc.ListUsers(ctx)
		return err
	})
	return views, err
}

var userShowHelp = cmdHelp{
	name:     "user show",
	synopsis: "USERNAME",
	text:     "Prints a user as JSON. The password hash is never shown.",
}

func runUserShow(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userShowHelp, false)
	pos, recs, err := cmd.open(args, "username")
	if err != nil {
		return err
	}
	v, err := recs.GetUser(ctx, pos[0])
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, v)
}

func (l *localRecords) GetUser(ctx context.Context, username string) (userView, error) {
	var u store.User
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		u, err = svc.FindUser(ctx, username)
		return err
	})
	if err != nil {
		return userView{}, err
	}
	return registration.NewUserView(u), nil
}

var userDeleteHelp = cmdHelp{
	name:     "user delete",
	synopsis: "USERNAME",
	text: `Deletes a user with their sessions, consents and grants. Access tokens
already issued stay valid until they expire.`,
}

func runUserDelete(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userDeleteHelp, false)
	pos, recs, err := cmd.open(args, "username")
	if err != nil {
		return err
	}
	if err := recs.DeleteUser(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted user %q\n", pos[0])
	return nil
}

func (l *localRecords) DeleteUser(ctx context.Context, username string) error {
	return l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		return svc.DeleteUser(ctx, u.ID)
	})
}

// readPassword checks the configured argon2id cost, then reads the
// password (see readPassword): both before the database is opened.
func (l *localRecords) readPassword(r io.Reader) (string, error) {
	if err := checkKeys(l.cfg, "password-memory-kib", "password-iterations"); err != nil {
		return "", err
	}
	return readPassword(r)
}

// hashPassword hashes pw at the configured argon2id cost, like the
// server's password.Hasher.
func hashPassword(pw string, cfg config.Config) (string, error) {
	p := password.Default()
	p.Memory, p.Iterations = cfg.PasswordMemoryKiB, cfg.PasswordIterations
	return password.Hash(pw, p)
}

// readPassword reads one line from r. It refuses an empty password, one
// shorter than minPasswordLen characters or longer than maxPasswordBytes,
// and one that is not valid UTF-8. The password never appears in an error.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no password on standard input")
	}
	br := bufio.NewReader(io.LimitReader(r, maxPasswordBytes+3))
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	hadNewline := strings.HasSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" && !hadNewline {
		return "", errors.New("no password on standard input")
	}
	if err := registration.CheckPassword(line); err != nil {
		return "", err
	}
	return line, nil
}

// userView is a user as printed (shared with the admin API).
type userView = registration.UserView

// fmtTime formats t in UTC, RFC 3339, or "-" when zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
