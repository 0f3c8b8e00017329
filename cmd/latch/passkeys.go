package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/store"
)

// runUserPasskeys is "latch user passkeys list|delete …".
func runUserPasskeys(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return runUserPasskeysList(ctx, e, args[1:])
		case "delete":
			return runUserPasskeysDelete(ctx, e, args[1:])
		}
	}
	return usageErrorf("user passkeys: want list USERNAME or delete USERNAME PASSKEY-ID")
}

var userPasskeysListHelp = cmdHelp{
	name:     "user passkeys list",
	synopsis: "USERNAME [--json]",
	text: `Lists the user's passkeys: ID, name, when added and last used, the signature
counter and the backup flags (backup eligible: may be synced to other devices;
backed up: it is, as reported at registration).`,
}

func runUserPasskeysList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userPasskeysListHelp, false)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	pos, recs, err := cmd.open(args, "username")
	if err != nil {
		return err
	}
	views, err := recs.ListPasskeys(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tCOUNTER\tBACKUP ELIGIBLE\tBACKED UP")
	for _, p := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%t\t%t\n", cell(p.ID), cell(p.Name), fmtTime(p.CreatedAt), fmtTime(p.LastUsedAt),
			p.SignCount, p.BackupEligible, p.BackedUp)
	}
	return tw.Flush()
}

var userPasskeysDeleteHelp = cmdHelp{
	name:     "user passkeys delete",
	synopsis: "USERNAME PASSKEY-ID",
	text: `Removes one passkey of the user (a lost or compromised device); the ID is the
one "latch user passkeys list" shows. Audited (admin_passkey_deleted). To remove
every factor at once: latch user reset-factors.`,
}

func runUserPasskeysDelete(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, userPasskeysDeleteHelp, false)
	pos, recs, err := cmd.open(args, "username", "passkey-id")
	if err != nil {
		return err
	}
	if err := recs.DeletePasskey(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed passkey %q of %q\n", pos[1], pos[0])
	return nil
}

func (l *localRecords) CreatePasskeyUser(ctx context.Context, u store.User) (v userView, link manage.ResetLink, err error) {
	err = l.service(ctx, func(svc *manage.Service) error {
		v, link, err = svc.CreatePasskeyUser(ctx, u)
		return err
	})
	return v, link, err
}

func (l *localRecords) ListPasskeys(ctx context.Context, username string) (views []manage.PasskeyView, err error) {
	err = l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		views, err = svc.ListPasskeys(ctx, u.ID)
		return err
	})
	return views, err
}

func (l *localRecords) DeletePasskey(ctx context.Context, username, id string) error {
	return l.service(ctx, func(svc *manage.Service) error {
		u, err := svc.FindUser(ctx, username)
		if err != nil {
			return err
		}
		return svc.DeletePasskey(ctx, u.ID, id)
	})
}

func (c *adminClient) CreatePasskeyUser(ctx context.Context, u store.User) (userView, manage.ResetLink, error) {
	body := map[string]any{"username": u.Username, "passkey_only": true, "email": u.Email, "email_verified": u.EmailVerified, "name": u.Name}
	var v struct {
		userView
		Link manage.ResetLink `json:"registration_link"`
	}
	err := c.do(ctx, http.MethodPost, "/admin/users", body, &v)
	return v.userView, v.Link, err
}

func (c *adminClient) ListPasskeys(ctx context.Context, username string) ([]manage.PasskeyView, error) {
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return nil, err
	}
	var ps []manage.PasskeyView
	err = c.do(ctx, http.MethodGet, "/admin/users/"+url.PathEscape(u.ID)+"/passkeys", nil, &ps)
	return ps, err
}

func (c *adminClient) DeletePasskey(ctx context.Context, username, id string) error {
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/admin/users/"+url.PathEscape(u.ID)+"/passkeys/"+url.PathEscape(id), nil, nil)
}
