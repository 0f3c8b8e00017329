package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchauth/latch/internal/config"
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
	synopsis: "--username USERNAME --password-stdin [--email EMAIL] [--email-verified] [--name NAME]",
	text: `Creates a user. The password is the first line of standard input, e.g.
  printf '%s\n' "$PASSWORD" | latch user create --username alice --password-stdin
It is hashed with argon2id at the configured cost (password-memory-kib,
password-iterations). The user's ID (the OIDC sub) is a random UUID.`,
}

func runUserCreate(ctx context.Context, e *env, args []string) error {
	h := userCreateHelp
	fs := newFlagSet(h.name)
	username := fs.String("username", "", "`username` used to sign in (required; unique, case-sensitive)")
	email := fs.String("email", "", "email `address`")
	emailVerified := fs.Bool("email-verified", false, "mark the email address as verified")
	name := fs.String("name", "", "full `name`")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	shared := addSharedFlags(fs, false)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	if *username == "" {
		return usageErrorf("user create: --username is required")
	}
	if !*pwStdin {
		return usageErrorf("user create: %s", passwordStdinHelp)
	}
	if err := validateUsername(*username); err != nil {
		return err
	}
	if *email != "" {
		if err := validateEmail(*email); err != nil {
			return err
		}
	}
	if !validText(*name) {
		return errors.New("name must be valid UTF-8 without control characters")
	}
	if *emailVerified && *email == "" {
		return errors.New("--email-verified needs --email")
	}
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		pw, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		var v userView
		body := map[string]any{"username": *username, "password": pw, "email": *email, "email_verified": *emailVerified, "name": *name}
		if err := ac.do(ctx, http.MethodPost, "/admin/users", body, &v); err != nil {
			return err
		}
		return writeJSON(e.stdout, v)
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	hash, err := readAndHashPassword(e.stdin, cfg)
	if err != nil {
		return err
	}
	u := store.User{
		ID:            newUserID(),
		Username:      *username,
		Email:         *email,
		EmailVerified: *emailVerified,
		Name:          *name,
		PasswordHash:  hash,
		CreatedAt:     e.now().UTC(),
	}
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		return s.CreateUser(ctx, u)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return fmt.Errorf("user %q already exists", u.Username)
	}
	if err != nil {
		return fmt.Errorf("creating user %q: %w", u.Username, err)
	}
	return writeJSON(e.stdout, newUserView(u))
}

var userSetPasswordHelp = cmdHelp{
	name:     "user set-password",
	synopsis: "USERNAME --password-stdin [--logout]",
	text: `Replaces a user's password with the first line of standard input.
With --logout, the user's sessions end and every grant (refresh token) they
gave is revoked, as after a suspected compromise.`,
}

func runUserSetPassword(ctx context.Context, e *env, args []string) error {
	h := userSetPasswordHelp
	fs := newFlagSet(h.name)
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	logout := fs.Bool("logout", false, "also end the user's sessions and revoke their grants")
	shared := addSharedFlags(fs, false)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "username"); err != nil {
		return err
	}
	if !*pwStdin {
		return usageErrorf("user set-password: %s", passwordStdinHelp)
	}
	var sessions, grants int
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		pw, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		u, err := remoteUser(ctx, ac, pos[0])
		if err != nil {
			return err
		}
		var res struct {
			Sessions int `json:"sessions_ended"`
			Grants   int `json:"grants_revoked"`
		}
		body := map[string]any{"password": pw, "logout": *logout}
		if err := ac.do(ctx, http.MethodPut, "/admin/users/"+url.PathEscape(u.ID)+"/password", body, &res); err != nil {
			return err
		}
		sessions, grants = res.Sessions, res.Grants
	} else if err := setPasswordLocal(ctx, e, shared, fs, pos[0], *logout, &sessions, &grants); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password of %q updated\n", pos[0])
	if *logout {
		fmt.Fprintf(e.stdout, "ended %d sessions, revoked %d grants\n", sessions, grants)
	}
	return nil
}

// setPasswordLocal is user set-password on the database itself.
func setPasswordLocal(ctx context.Context, e *env, shared *sharedFlags, fs *flag.FlagSet, username string, logout bool, sessions, grants *int) error {
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	hash, err := readAndHashPassword(e.stdin, cfg)
	if err != nil {
		return err
	}
	return withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		u, err := getUser(ctx, s, username)
		if err != nil {
			return err
		}
		if err := s.SetUserPassword(ctx, u.ID, hash); err != nil {
			return fmt.Errorf("setting the password of %q: %w", u.Username, err)
		}
		if !logout {
			return nil
		}
		if *sessions, err = s.DeleteUserSessions(ctx, u.ID); err != nil {
			return fmt.Errorf("ending the sessions of %q: %w", u.Username, err)
		}
		if *grants, err = s.RevokeUserGrants(ctx, u.ID, "", e.now()); err != nil {
			return fmt.Errorf("revoking the grants of %q: %w", u.Username, err)
		}
		return nil
	})
}

var userListHelp = cmdHelp{
	name:     "user list",
	synopsis: "[--json]",
	text:     "Lists every user, as a table or as a JSON array. Password hashes are never shown.",
}

func runUserList(ctx context.Context, e *env, args []string) error {
	h := userListHelp
	fs := newFlagSet(h.name)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	shared := addSharedFlags(fs, false)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	views := []userView{}
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		if err := ac.do(ctx, http.MethodGet, "/admin/users", nil, &views); err != nil {
			return err
		}
	} else {
		cfg, err := shared.load(e, fs)
		if err != nil {
			return err
		}
		var users []store.User
		err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
			users, err = s.ListUsers(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("listing users: %w", err)
		}
		for _, u := range users {
			views = append(views, newUserView(u))
		}
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

var userShowHelp = cmdHelp{
	name:     "user show",
	synopsis: "USERNAME",
	text:     "Prints a user as JSON. The password hash is never shown.",
}

func runUserShow(ctx context.Context, e *env, args []string) error {
	h := userShowHelp
	fs := newFlagSet(h.name)
	shared := addSharedFlags(fs, false)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "username"); err != nil {
		return err
	}
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		v, err := remoteUser(ctx, ac, pos[0])
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, v)
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	var u store.User
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		u, err = getUser(ctx, s, pos[0])
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, newUserView(u))
}

var userDeleteHelp = cmdHelp{
	name:     "user delete",
	synopsis: "USERNAME",
	text: `Deletes a user with their sessions, consents and grants. Access tokens
already issued stay valid until they expire.`,
}

func runUserDelete(ctx context.Context, e *env, args []string) error {
	h := userDeleteHelp
	fs := newFlagSet(h.name)
	shared := addSharedFlags(fs, false)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "username"); err != nil {
		return err
	}
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		u, err := remoteUser(ctx, ac, pos[0])
		if err != nil {
			return err
		}
		if err := ac.do(ctx, http.MethodDelete, "/admin/users/"+url.PathEscape(u.ID), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted user %q\n", pos[0])
		return nil
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		u, err := getUser(ctx, s, pos[0])
		if err != nil {
			return err
		}
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) { // deleted meanwhile
				return fmt.Errorf("user %q not found", pos[0])
			}
			return fmt.Errorf("deleting user %q: %w", pos[0], err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted user %q\n", pos[0])
	return nil
}

// getUser looks a user up by username, with a one-line error.
func getUser(ctx context.Context, s store.Store, username string) (store.User, error) {
	u, err := s.GetUserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("user %q not found", username)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("reading user %q: %w", username, err)
	}
	return u, nil
}

// readAndHashPassword reads the password from the first line of r (the
// line break, \n or \r\n, is not part of it; nothing else is trimmed) and
// hashes it at the configured argon2id cost.
func readAndHashPassword(r io.Reader, cfg config.Config) (string, error) {
	if err := checkKeys(cfg, "password-memory-kib", "password-iterations"); err != nil {
		return "", err
	}
	pw, err := readPassword(r)
	if err != nil {
		return "", err
	}
	p := password.Default()
	p.Memory, p.Iterations = cfg.PasswordMemoryKiB, cfg.PasswordIterations
	hash, err := password.Hash(pw, p)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return hash, nil
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

// validateUsername: see registration.ValidateUsername.
func validateUsername(u string) error { return registration.ValidateUsername(u) }

// validateEmail: see registration.ValidateEmail.
func validateEmail(e string) error { return registration.ValidateEmail(e) }

// newUserID: see registration.NewUserID.
func newUserID() string { return registration.NewUserID() }

// userView is a user as printed (shared with the admin API).
type userView = registration.UserView

func newUserView(u store.User) userView { return registration.NewUserView(u) }

// fmtTime formats t in UTC, RFC 3339, or "-" when zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
