package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// The idp commands: upstream OpenID Providers users sign in through
// ("Sign in with …", docs/federation.md).

const idpFlagsSynopsis = "[--client-secret-stdin] [--scope SCOPE]... [--display-name NAME] [--username-claim CLAIM] [--email-claim CLAIM] [--name-claim CLAIM]"

var idpAddHelp = cmdHelp{
	name:     "idp add",
	synopsis: "ID --issuer URL --client-id ID --link jit|verified-email|explicit " + idpFlagsSynopsis,
	text: `Adds an upstream OpenID Provider; its login page link reads "Sign in with NAME".
Register Latch at the upstream first, with the redirect URI
  ISSUER/login/upstream/callback
(ISSUER is this Latch's issuer). A confidential client's secret is the first
line of standard input (--client-secret-stdin), sealed at rest:
  printf '%s\n' "$SECRET" | latch idp add corp --issuer https://login.corp.example \
    --client-id latch --client-secret-stdin --link verified-email --display-name Corp
--link says how a first sign-in finds its user: jit creates one, verified-email
links the user with the same verified email (the upstream must say it is
verified), explicit only links from the account page.`,
}

var idpUpdateHelp = cmdHelp{
	name:     "idp update",
	synopsis: "ID [--issuer URL] [--client-id ID] [--link POLICY] [--no-client-secret] " + idpFlagsSynopsis,
	text: `Changes the settings given; --client-secret-stdin replaces the client secret,
--no-client-secret removes it (a public client at the upstream).`,
}

var idpListHelp = cmdHelp{name: "idp list", synopsis: "[--json]", text: `Lists the upstream OpenID Providers.`}

var idpDeleteHelp = cmdHelp{
	name:     "idp delete",
	synopsis: "ID",
	text:     `Deletes an upstream and the links of its identities to users (the users stay).`,
}

// idpFlags are the flags of idp add and update.
type idpFlags struct {
	issuer, clientID, display, userClaim, emailClaim, nameClaim, link *string
	secretStdin, noSecret                                             *bool
	scopes                                                            listFlag
}

func addIdpFlags(cmd *adminCmd, update bool) *idpFlags {
	fs := cmd.fs
	f := &idpFlags{
		issuer:      fs.String("issuer", "", "the upstream's issuer `URL` (https; http only to a loopback host)"),
		clientID:    fs.String("client-id", "", "Latch's client `ID` at the upstream"),
		display:     fs.String("display-name", "", "`name` on the login page: \"Sign in with NAME\" (default the ID)"),
		userClaim:   fs.String("username-claim", "", "ID token `claim` with the username of a new user (default "+registration.DefaultUsernameClaim+")"),
		emailClaim:  fs.String("email-claim", "", "ID token `claim` with the email address (default "+registration.DefaultEmailClaim+")"),
		nameClaim:   fs.String("name-claim", "", "ID token `claim` with the full name (default "+registration.DefaultNameClaim+")"),
		link:        fs.String("link", "", "linking `policy`: jit, verified-email or explicit"),
		secretStdin: fs.Bool("client-secret-stdin", false, "read Latch's client secret at the upstream from the first line of standard input"),
	}
	fs.Var(&f.scopes, "scope", "`scope` to ask for (repeatable or comma-separated; default openid email profile; openid is always added)")
	if update {
		f.noSecret = fs.Bool("no-client-secret", false, "remove the client secret (a public client at the upstream)")
	}
	return f
}

// change is the UpstreamChange of the flags given; the secret is read
// from stdin.
func (f *idpFlags) change(given map[string]bool, stdin io.Reader) (manage.UpstreamChange, error) {
	var c manage.UpstreamChange
	for _, v := range []struct {
		flag string
		dst  **string
		val  *string
	}{
		{"issuer", &c.Issuer, f.issuer}, {"client-id", &c.ClientID, f.clientID}, {"display-name", &c.DisplayName, f.display},
		{"username-claim", &c.UsernameClaim, f.userClaim}, {"email-claim", &c.EmailClaim, f.emailClaim},
		{"name-claim", &c.NameClaim, f.nameClaim}, {"link", &c.LinkPolicy, f.link},
	} {
		if given[v.flag] {
			*v.dst = v.val
		}
	}
	if given["scope"] {
		c.Scopes = &f.scopes.vals
	}
	if *f.secretStdin && f.noSecret != nil && *f.noSecret {
		return c, usageErrorf("give --client-secret-stdin or --no-client-secret, not both")
	}
	if f.noSecret != nil && *f.noSecret {
		empty := ""
		c.ClientSecret = &empty
	}
	if *f.secretStdin {
		s, err := readSecretLine(stdin)
		if err != nil {
			return c, err
		}
		c.ClientSecret = &s
	}
	return c, nil
}

// readSecretLine reads a client secret from the first line of r.
func readSecretLine(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no client secret on standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4097)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the client secret from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" || len(line) > 4096 || !registration.ValidText(line) {
		return "", errors.New("no client secret on standard input (want one line of at most 4096 bytes)")
	}
	return line, nil
}

func runIdpAdd(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, idpAddHelp, true)
	f := addIdpFlags(cmd, false)
	pos, err := cmd.parse(args, "ID")
	if err != nil {
		return err
	}
	given := cmd.given()
	for _, req := range []string{"issuer", "client-id", "link"} {
		if !given[req] {
			return usageErrorf("idp add: --%s is required", req)
		}
	}
	c, err := f.change(given, e.stdin)
	if err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	v, err := recs.AddUpstream(ctx, pos[0], c)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added upstream %q (%s); register this redirect URI at it: %s\n", v.ID, v.Issuer, redirectHint(cmd))
	return nil
}

// redirectHint is the redirect URI to register at an upstream.
func redirectHint(cmd *adminCmd) string {
	cfg, err := cmd.shared.load(cmd.e, cmd.fs)
	if err != nil || cfg.Issuer == "" {
		return "ISSUER/login/upstream/callback"
	}
	return strings.TrimSuffix(cfg.Issuer, "/") + "/login/upstream/callback"
}

func runIdpUpdate(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, idpUpdateHelp, true)
	f := addIdpFlags(cmd, true)
	pos, err := cmd.parse(args, "ID")
	if err != nil {
		return err
	}
	c, err := f.change(cmd.given(), e.stdin)
	if err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	v, err := recs.UpdateUpstream(ctx, pos[0], c)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "updated upstream %q\n", v.ID)
	return nil
}

func runIdpList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, idpListHelp, false)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	_, recs, err := cmd.open(args)
	if err != nil {
		return err
	}
	views, err := recs.ListUpstreams(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDISPLAY NAME\tISSUER\tCLIENT ID\tSECRET\tLINK\tSCOPES")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\n", cell(v.ID), cell(v.DisplayName), cell(v.Issuer), cell(v.ClientID),
			v.ClientSecretSet, v.LinkPolicy, cell(strings.Join(v.Scopes, " ")))
	}
	return tw.Flush()
}

func runIdpDelete(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, idpDeleteHelp, false)
	pos, err := cmd.parse(args, "ID")
	if err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	if err := recs.DeleteUpstream(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted upstream %q\n", pos[0])
	return nil
}

// upstreamService runs fn with the admin service, able to seal a client
// secret when c sets one (the key-encryption secret is loaded only then).
func (l *localRecords) upstreamService(ctx context.Context, c *manage.UpstreamChange, fn func(*manage.Service) error) error {
	return l.withStore(ctx, func(s store.Store) error {
		opts := l.serviceOptions(s, nil)
		if c != nil && c.ClientSecret != nil && *c.ClientSecret != "" {
			cfg := l.cfg
			var err error
			if cfg.KeyEncryptionSecret, err = loadSecret(cfg); err != nil {
				return err
			}
			if opts.Upstreams, err = app.UpstreamSealer(cfg); err != nil {
				return err
			}
		}
		svc, err := manage.New(opts)
		if err != nil {
			return err
		}
		return fn(svc)
	})
}

func (l *localRecords) AddUpstream(ctx context.Context, id string, c manage.UpstreamChange) (v registration.UpstreamView, err error) {
	err = l.upstreamService(ctx, &c, func(svc *manage.Service) error {
		v, err = svc.AddUpstream(ctx, id, c)
		return err
	})
	return v, err
}

func (l *localRecords) UpdateUpstream(ctx context.Context, id string, c manage.UpstreamChange) (v registration.UpstreamView, err error) {
	err = l.upstreamService(ctx, &c, func(svc *manage.Service) error {
		v, err = svc.UpdateUpstream(ctx, id, c)
		return err
	})
	return v, err
}

// ListUpstreams never returns nil: an empty list prints as [].
func (l *localRecords) ListUpstreams(ctx context.Context) (vs []registration.UpstreamView, err error) {
	err = l.service(ctx, func(svc *manage.Service) error {
		vs, err = svc.ListUpstreams(ctx)
		return err
	})
	return vs, err
}

func (l *localRecords) DeleteUpstream(ctx context.Context, id string) error {
	return l.service(ctx, func(svc *manage.Service) error { return svc.DeleteUpstream(ctx, id) })
}

// upstreamJSON is the admin API body of an upstream change.
func upstreamJSON(c manage.UpstreamChange) map[string]any {
	m := map[string]any{}
	for k, v := range map[string]*string{
		"issuer": c.Issuer, "client_id": c.ClientID, "client_secret": c.ClientSecret, "display_name": c.DisplayName,
		"username_claim": c.UsernameClaim, "email_claim": c.EmailClaim, "name_claim": c.NameClaim, "link_policy": c.LinkPolicy,
	} {
		if v != nil {
			m[k] = *v
		}
	}
	if c.Scopes != nil {
		m["scopes"] = append([]string{}, *c.Scopes...)
	}
	return m
}

func (c *adminClient) AddUpstream(ctx context.Context, id string, ch manage.UpstreamChange) (registration.UpstreamView, error) {
	body := upstreamJSON(ch)
	body["id"] = id
	var v registration.UpstreamView
	err := c.do(ctx, http.MethodPost, "/admin/upstreams", body, &v)
	return v, err
}

func (c *adminClient) UpdateUpstream(ctx context.Context, id string, ch manage.UpstreamChange) (registration.UpstreamView, error) {
	var v registration.UpstreamView
	err := c.do(ctx, http.MethodPatch, "/admin/upstreams/"+url.PathEscape(id), upstreamJSON(ch), &v)
	return v, err
}

func (c *adminClient) ListUpstreams(ctx context.Context) ([]registration.UpstreamView, error) {
	vs := []registration.UpstreamView{}
	err := c.do(ctx, http.MethodGet, "/admin/upstreams", nil, &vs)
	return vs, err
}

func (c *adminClient) DeleteUpstream(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/admin/upstreams/"+url.PathEscape(id), nil, nil)
}
