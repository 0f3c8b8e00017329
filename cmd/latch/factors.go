package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/latchauth/latch/internal/manage"
)

var userRequireMFAHelp = cmdHelp{
	name:     "user require-mfa",
	synopsis: "USERNAME [--off]",
	text: `Requires a second factor (an authenticator app) at every sign-in of the user,
whatever the application asks; --off lifts the requirement. A user without a
second factor is refused until they add one on the account page (/account).`,
}

func runUserRequireMFA(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userRequireMFAHelp, false)
	off := cmd.fs.Bool("off", false, "stop requiring a second factor")
	pos, recs, err := cmd.open(args, "username")
	if err != nil {
		return err
	}
	if err := recs.RequireMFA(ctx, pos[0], !*off); err != nil {
		return err
	}
	if *off {
		fmt.Fprintf(e.stdout, "user %q no longer needs a second factor\n", pos[0])
	} else {
		fmt.Fprintf(e.stdout, "user %q needs a second factor at every sign-in\n", pos[0])
	}
	return nil
}

var userResetFactorsHelp = cmdHelp{
	name:     "user reset-factors",
	synopsis: "USERNAME",
	text: `Removes every sign-in factor of the user (authenticator app, recovery codes,
passkeys, open reset links), for a user who lost their device. The password
stays; the user can add a new authenticator app on the account page.`,
}

func runUserResetFactors(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userResetFactorsHelp, false)
	pos, recs, err := cmd.open(args, "username")
	if err != nil {
		return err
	}
	n, err := recs.ResetFactors(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %d factors of %q\n", n, pos[0])
	return nil
}

var userResetLinkHelp = cmdHelp{
	name:     "user reset-link",
	synopsis: "USERNAME",
	text: `Prints a one-time link with which the user sets a new password once, within
24 hours (a newer link replaces an older one). Latch sends no mail: hand the
link to the user over a channel you trust. Their sessions end when it is used.`,
}

func runUserResetLink(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userResetLinkHelp, false)
	pos, recs, err := cmd.open(args, "username")
	if err != nil {
		return err
	}
	link, err := recs.ResetLink(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\nvalid until %s, once\n", link.URL, fmtTime(link.ExpiresAt))
	return nil
}

func (l *localRecords) RequireMFA(ctx context.Context, username string, on bool) error {
	return l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		return svc.RequireMFA(ctx, u.ID, on)
	})
}

func (l *localRecords) ResetFactors(ctx context.Context, username string) (n int, err error) {
	err = l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		n, err = svc.ResetFactors(ctx, u.ID)
		return err
	})
	return n, err
}

func (l *localRecords) ResetLink(ctx context.Context, username string) (link manage.ResetLink, err error) {
	err = l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		link, err = svc.IssueResetLink(ctx, u.ID)
		return err
	})
	return link, err
}

func (c *adminClient) RequireMFA(ctx context.Context, username string, on bool) error {
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, "/admin/users/"+url.PathEscape(u.ID)+"/mfa", map[string]any{"required": on}, nil)
}

func (c *adminClient) ResetFactors(ctx context.Context, username string) (int, error) {
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return 0, err
	}
	var res struct {
		N int `json:"factors_removed"`
	}
	err = c.do(ctx, http.MethodDelete, "/admin/users/"+url.PathEscape(u.ID)+"/factors", nil, &res)
	return res.N, err
}

func (c *adminClient) ResetLink(ctx context.Context, username string) (manage.ResetLink, error) {
	var link manage.ResetLink
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return link, err
	}
	err = c.do(ctx, http.MethodPost, "/admin/users/"+url.PathEscape(u.ID)+"/reset-link", nil, &link)
	return link, err
}
