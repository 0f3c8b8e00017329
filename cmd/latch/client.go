package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// clientFlags are the flags of client create and client update.
type clientFlags struct {
	id                   string
	public, confidential bool
	redirectURIs         listFlag
	postLogoutURIs       listFlag
	origins              listFlag
	grantTypes           listFlag
	scopes               listFlag
	audiences            listFlag
	name                 string
	firstParty           bool
	requireDPoP          bool
	idTokenAlg           string
	refreshGrace         time.Duration
	refreshIdle          time.Duration
	refreshAbsolute      time.Duration
	accessTokenTTL       time.Duration
	revokeOnLogout       bool
	resourceServer       bool
	rotateSecret         bool // update only

	// given names the flags given on the command line, once parsed: only
	// those change a client (apply, clientJSON).
	given map[string]bool
}

func (f *clientFlags) register(fs *flag.FlagSet, update bool) {
	if !update {
		fs.StringVar(&f.id, "id", "", "client `ID` (required): printable ASCII without spaces")
	}
	fs.BoolVar(&f.public, "public", false, "a public client (SPA, native app): no secret, PKCE only")
	fs.BoolVar(&f.confidential, "confidential", false, "a confidential client: gets a client secret, printed once")
	fs.Var(&f.redirectURIs, "redirect-uri", "registered redirect `URI`, matched exactly (repeatable; https, http on loopback, or a private-use scheme like com.example.app:/cb)")
	fs.Var(&f.postLogoutURIs, "post-logout-redirect-uri", "`URI` allowed after RP-initiated logout (repeatable)")
	fs.Var(&f.origins, "allowed-origin", "browser `origin` scheme://host[:port] allowed by CORS on the token endpoints (repeatable)")
	fs.Var(&f.grantTypes, "grant-type", "grant `type`: authorization_code, refresh_token or client_credentials (repeatable; default authorization_code,refresh_token)")
	fs.Var(&f.scopes, "scope", "`scope` the client may request (repeatable; default: the server's default scopes)")
	fs.Var(&f.audiences, "audience", "resource `URI` the client may ask tokens for (RFC 8707; repeatable)")
	fs.StringVar(&f.name, "name", "", "display `name` shown on the consent page")
	fs.BoolVar(&f.firstParty, "first-party", false, "trusted first-party client: no consent page")
	fs.BoolVar(&f.requireDPoP, "require-dpop", false, "refuse tokens without a DPoP proof (RFC 9449)")
	fs.StringVar(&f.idTokenAlg, "id-token-alg", "", "ID token signing `alg`: RS256, ES256 or EdDSA (default: the server's)")
	fs.DurationVar(&f.refreshGrace, "refresh-grace", 0, "how long the predecessor of the newest refresh token may be presented again (default 0, at most 30s)")
	fs.DurationVar(&f.refreshIdle, "refresh-idle", 0, "refresh token idle timeout (default: the server's)")
	fs.DurationVar(&f.refreshAbsolute, "refresh-absolute", 0, "refresh token absolute lifetime (default: the server's)")
	fs.DurationVar(&f.accessTokenTTL, "access-token-ttl", 0, "access token lifetime (default: the server's)")
	fs.BoolVar(&f.revokeOnLogout, "revoke-refresh-on-logout", false, "revoke the client's refresh tokens when the user logs out")
	fs.BoolVar(&f.resourceServer, "resource-server", false, "a confidential client that may introspect tokens issued to other clients (default: only its own)")
	if update {
		fs.BoolVar(&f.rotateSecret, "rotate-secret", false, "replace a confidential client's secret; the new one is printed once")
	}
}

// apply copies the flags that were given onto c. The type flags (--public,
// --confidential) and the secret are handled by the caller.
func (f *clientFlags) apply(c *store.Client) {
	set := f.given
	if set["redirect-uri"] {
		c.RedirectURIs = f.redirectURIs.vals
	}
	if set["post-logout-redirect-uri"] {
		c.PostLogoutRedirectURIs = f.postLogoutURIs.vals
	}
	if set["allowed-origin"] {
		c.AllowedOrigins = f.origins.vals
	}
	if set["grant-type"] {
		c.GrantTypes = f.grantTypes.vals
	}
	if set["scope"] {
		c.Scopes = f.scopes.vals
	}
	if set["audience"] {
		c.Audiences = f.audiences.vals
	}
	if set["name"] {
		c.Name = f.name
	}
	if set["first-party"] {
		c.FirstParty = f.firstParty
	}
	if set["require-dpop"] {
		c.RequireDPoP = f.requireDPoP
	}
	if set["id-token-alg"] {
		c.IDTokenAlg = f.idTokenAlg
	}
	if set["refresh-grace"] {
		c.RefreshGrace = f.refreshGrace
	}
	if set["refresh-idle"] {
		c.RefreshIdle = f.refreshIdle
	}
	if set["refresh-absolute"] {
		c.RefreshAbsolute = f.refreshAbsolute
	}
	if set["access-token-ttl"] {
		c.AccessTokenTTL = f.accessTokenTTL
	}
	if set["revoke-refresh-on-logout"] {
		c.RevokeRefreshOnLogout = f.revokeOnLogout
	}
	if set["resource-server"] {
		c.ResourceServer = f.resourceServer
	}
}

var clientCreateHelp = cmdHelp{
	name:     "client create",
	synopsis: "--id ID (--public | --confidential) --redirect-uri URI... [flags]",
	text: `Registers an OAuth client. A confidential client gets a random 256-bit
secret, printed once in the JSON output as "client_secret": only its hash is
stored. List flags may be repeated or take comma-separated values.`,
}

func runClientCreate(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientCreateHelp, false)
	var f clientFlags
	f.register(cmd.fs, false)
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	f.given = cmd.given()
	if f.id == "" {
		return usageErrorf("client create: --id is required")
	}
	if f.public == f.confidential {
		return usageErrorf("client create: give exactly one of --public and --confidential")
	}
	c := store.Client{
		ID:         f.id,
		Public:     f.public,
		GrantTypes: registration.DefaultGrantTypes(),
		CreatedAt:  e.now().UTC(),
	}
	f.apply(&c)
	if err := validateClient(&c); err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	v, err := recs.CreateClient(ctx, c, &f)
	if err != nil {
		return err
	}
	return printClientView(e, v)
}

func (l *localRecords) CreateClient(ctx context.Context, c store.Client, _ *clientFlags) (clientView, error) {
	var secret string
	if !c.Public {
		secret, c.SecretHash = newClientSecret()
	}
	err := l.withStore(ctx, func(s store.Store) error {
		return s.CreateClient(ctx, c)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return clientView{}, fmt.Errorf("client %q already exists", c.ID)
	}
	if err != nil {
		return clientView{}, fmt.Errorf("creating client %q: %w", c.ID, err)
	}
	return newClientView(c, secret), nil
}

// newClientSecret: see registration.NewClientSecret.
func newClientSecret() (secret, hash string) { return registration.NewClientSecret() }

var clientUpdateHelp = cmdHelp{
	name:     "client update",
	synopsis: "ID [flags]",
	text: `Changes the given settings of a client; settings not given are kept.
A list flag replaces the whole list (give an empty value, e.g. --scope "",
to clear it). --rotate-secret, or turning a public client --confidential,
prints a new secret once; --public deletes the secret.`,
}

func runClientUpdate(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientUpdateHelp, false)
	var f clientFlags
	f.register(cmd.fs, true)
	pos, err := cmd.parse(args, "client ID")
	if err != nil {
		return err
	}
	f.given = cmd.given()
	if f.public && f.confidential {
		return usageErrorf("client update: give at most one of --public and --confidential")
	}
	changes := 0
	for name := range f.given {
		switch name {
		case "config", "db", "server", "admin-token":
		default:
			changes++
		}
	}
	if changes == 0 {
		return usageErrorf("client update: nothing to change (see 'latch client update -h')")
	}
	if f.rotateSecret && f.public {
		return usageErrorf("client update: --rotate-secret with --public: public clients have no secret")
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	v, err := recs.UpdateClient(ctx, pos[0], &f)
	if err != nil {
		return err
	}
	return printClientView(e, v)
}

func (l *localRecords) UpdateClient(ctx context.Context, id string, f *clientFlags) (clientView, error) {
	var (
		c      store.Client
		secret string
	)
	// A read-modify-write: a concurrent update of the same client by
	// another admin may be lost. Acceptable for an interactive tool.
	err := l.withStore(ctx, func(s store.Store) error {
		var err error
		if c, err = s.GetClient(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("client %q not found", id)
			}
			return fmt.Errorf("reading client %q: %w", id, err)
		}
		switch {
		case f.public:
			c.Public, c.SecretHash = true, ""
		case f.confidential && c.Public:
			c.Public = false
			secret, c.SecretHash = newClientSecret()
		}
		if f.rotateSecret {
			if c.Public {
				return fmt.Errorf("client %q is a public client: it has no secret to rotate", id)
			}
			secret, c.SecretHash = newClientSecret()
		}
		f.apply(&c)
		if err := validateClient(&c); err != nil {
			return err
		}
		if err := s.UpdateClient(ctx, c); err != nil {
			return fmt.Errorf("updating client %q: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return clientView{}, err
	}
	return newClientView(c, secret), nil
}

var clientListHelp = cmdHelp{
	name:     "client list",
	synopsis: "[--json]",
	text:     "Lists every client, as a table or as a JSON array. Secrets are never shown.",
}

func runClientList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientListHelp, false)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	views, err := recs.ListClients(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tNAME\tGRANT TYPES\tREDIRECT URIS")
	for _, c := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(c.ClientID), c.ClientType, cell(c.ClientName),
			cell(strings.Join(c.GrantTypes, ",")), cell(strings.Join(c.RedirectURIs, ",")))
	}
	return tw.Flush()
}

// ListClients never returns nil: an empty list prints as [].
func (l *localRecords) ListClients(ctx context.Context) ([]clientView, error) {
	var clients []store.Client
	err := l.withStore(ctx, func(s store.Store) error {
		var err error
		clients, err = s.ListClients(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}
	views := []clientView{}
	for _, c := range clients {
		views = append(views, newClientView(c, ""))
	}
	return views, nil
}

var clientShowHelp = cmdHelp{
	name:     "client show",
	synopsis: "ID",
	text:     "Prints a client as JSON. The secret is never shown: it is stored only as a hash.",
}

func runClientShow(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientShowHelp, false)
	pos, err := cmd.parse(args, "client ID")
	if err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	v, err := recs.GetClient(ctx, pos[0])
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, v)
}

func (l *localRecords) GetClient(ctx context.Context, id string) (clientView, error) {
	var c store.Client
	err := l.withStore(ctx, func(s store.Store) error {
		var err error
		c, err = s.GetClient(ctx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return clientView{}, fmt.Errorf("client %q not found", id)
	}
	if err != nil {
		return clientView{}, fmt.Errorf("reading client %q: %w", id, err)
	}
	return newClientView(c, ""), nil
}

var clientDeleteHelp = cmdHelp{
	name:     "client delete",
	synopsis: "ID",
	text: `Deletes a client. Its refresh tokens stop working; access tokens already
issued stay valid until they expire.`,
}

func runClientDelete(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientDeleteHelp, false)
	pos, err := cmd.parse(args, "client ID")
	if err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	if err := recs.DeleteClient(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted client %q\n", pos[0])
	return nil
}

func (l *localRecords) DeleteClient(ctx context.Context, id string) error {
	err := l.withStore(ctx, func(s store.Store) error {
		return s.DeleteClient(ctx, id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("client %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("deleting client %q: %w", id, err)
	}
	return nil
}

// validateClient applies the registration policy shared with the admin
// API (internal/registration), naming fields by their flags.
func validateClient(c *store.Client) error {
	return registration.ValidateClient(c, registration.Field.Flag)
}

// normalizeOrigin: see registration.NormalizeOrigin.
func normalizeOrigin(o string) (string, error) { return registration.NormalizeOrigin(o) }

// validText: see registration.ValidText.
func validText(s string) bool { return registration.ValidText(s) }

// clientView is a client as printed (shared with the admin API).
type clientView = registration.ClientView

func newClientView(c store.Client, secret string) clientView {
	return registration.NewClientView(c, secret)
}

// printClientView prints v (a client just created or updated) as JSON;
// when it carries a client secret just generated, a reminder that it is
// shown once goes to stderr, and so does any warning of clientWarnings.
func printClientView(e *env, v clientView) error {
	if err := writeJSON(e.stdout, v); err != nil {
		return err
	}
	if v.ClientSecret != "" {
		fmt.Fprintln(e.stderr, "latch: store the client_secret now: it is shown only once")
	}
	for _, w := range clientWarnings(v) {
		fmt.Fprintln(e.stderr, "latch: warning: "+w)
	}
	return nil
}

// clientWarnings returns what is probably wrong with a valid client, one
// line each. Today: a public client with https redirect URIs (a browser
// app, a SPA) and no allowed origin. Its token requests are cross-origin
// fetches that the browser refuses without CORS headers (the Fetch
// standard's CORS check; Latch sends them only for registered origins), so
// the SPA sees only "TypeError: Failed to fetch" and Latch logs a
// successful OPTIONS /token. A native app with https (claimed) redirect
// URIs needs no origin, hence a warning rather than an error.
func clientWarnings(v clientView) []string {
	if v.ClientType != "public" || len(v.AllowedOrigins) > 0 || !slices.Contains(v.GrantTypes, "authorization_code") {
		return nil
	}
	var origins []string
	for _, r := range v.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "https" {
			continue
		}
		if o, err := normalizeOrigin(u.Scheme + "://" + u.Host); err == nil && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	if len(origins) == 0 {
		return nil
	}
	var add strings.Builder
	for _, o := range origins {
		add.WriteString(" --allowed-origin " + o)
	}
	return []string{fmt.Sprintf("public client %q has https redirect URIs but no allowed origin: "+
		"if it is a browser app (SPA), its token requests from %s are refused by the browser (CORS) "+
		"and it sees only \"Failed to fetch\". Add the origin: latch client update %s%s "+
		"(a native app with https redirect URIs can ignore this)",
		v.ClientID, orList(origins), v.ClientID, add.String())}
}

func clientType(c store.Client) string { return registration.ClientType(c) }

// fmtDuration formats d like "10m" or "24h" ("" for zero).
func fmtDuration(d time.Duration) string { return registration.FormatDuration(d) }

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cell makes s safe for one tabwriter cell: no tabs or line breaks, "-"
// when empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
