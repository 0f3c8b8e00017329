package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/latchauth/latch/internal/manage"
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
	authMethod           string
	jwksFile             string
	jwks                 string // the contents of jwksFile, read by load
	jwksURI              string
	requirePAR           bool
	backchannelURI       string
	backchannelSession   bool
	freshChallenge       bool
	authPolicy           string
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
	fs.Var(&f.grantTypes, "grant-type", "grant `type`: authorization_code, refresh_token, client_credentials or urn:ietf:params:oauth:grant-type:device_code (RFC 8628) (repeatable; default authorization_code,refresh_token)")
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
	fs.StringVar(&f.authMethod, "auth", "", "token endpoint auth `method` of a confidential client: client_secret_basic (default; also accepts client_secret_post) or private_key_jwt (RFC 7523: no secret, needs --jwks-uri or --jwks-file)")
	fs.StringVar(&f.jwksURI, "jwks-uri", "", "private_key_jwt: https `URL` of the client's JWK Set (fetched and cached)")
	fs.StringVar(&f.jwksFile, "jwks-file", "", "private_key_jwt: `file` holding the client's public keys as a JWK Set")
	fs.BoolVar(&f.requirePAR, "require-par", false, "accept authorization requests from this client only through /par (RFC 9126)")
	fs.StringVar(&f.backchannelURI, "backchannel-logout-uri", "", "https `URL` that receives a Logout Token when a session the client got tokens in ends (OpenID Connect Back-Channel Logout; \"\" removes it)")
	fs.BoolVar(&f.backchannelSession, "backchannel-logout-session-required", false, "the client needs sid in Logout Tokens (Latch always sends it)")
	fs.BoolVar(&f.freshChallenge, "require-fresh-challenge", false, "refuse an authorization request that reuses a code_challenge or nonce (default: only audit and count it)")
	fs.StringVar(&f.authPolicy, "authentication-policy", "", "how the client's users must sign in: `policy` password, second_factor or passkey (default: the server's authentication-policy; the stricter applies)")
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
	if set["auth"] {
		c.AuthMethod = f.authMethod
	}
	if set["jwks-uri"] {
		c.JWKSURI = f.jwksURI
		if !set["jwks-file"] && f.jwksURI != "" {
			c.JWKS = "" // one or the other: the new one replaces the old
		}
	}
	if set["jwks-file"] {
		c.JWKS = f.jwks
		if !set["jwks-uri"] && f.jwks != "" {
			c.JWKSURI = ""
		}
	}
	if set["require-par"] {
		c.RequirePAR = f.requirePAR
	}
	if set["backchannel-logout-uri"] {
		c.BackchannelLogoutURI = f.backchannelURI
	}
	if set["backchannel-logout-session-required"] {
		c.BackchannelLogoutSessionRequired = f.backchannelSession
	}
	if set["require-fresh-challenge"] {
		c.RequireFreshChallenge = f.freshChallenge
	}
	if set["authentication-policy"] {
		c.AuthenticationPolicy = f.authPolicy
	}
}

// load reads --jwks-file ("" clears the keys).
func (f *clientFlags) load() error {
	if !f.given["jwks-file"] || f.jwksFile == "" {
		return nil
	}
	b, err := os.ReadFile(f.jwksFile)
	if err != nil {
		return usageErrorf("--jwks-file: %v", err)
	}
	f.jwks = strings.TrimSpace(string(b))
	return nil
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
	if err := f.load(); err != nil {
		return err
	}
	if f.id == "" {
		return usageErrorf("client create: --id is required")
	}
	if f.authMethod == "private_key_jwt" && !f.public {
		f.confidential = true // a key-holding client is confidential
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
	// Checked before anything is opened or sent; the road checks again
	// (internal/manage, the admin API).
	if err := registration.ValidateClient(&c, registration.Field.Flag); err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	res, err := recs.CreateClient(ctx, c, &f)
	if err != nil {
		return err
	}
	return printClientResult(e, res)
}

func (l *localRecords) CreateClient(ctx context.Context, c store.Client, _ *clientFlags) (manage.ClientResult, error) {
	var res manage.ClientResult
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		res, err = svc.CreateClient(ctx, c)
		return err
	})
	return res, err
}

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
	if err := f.load(); err != nil {
		return err
	}
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
	res, err := recs.UpdateClient(ctx, pos[0], &f)
	if err != nil {
		return err
	}
	return printClientResult(e, res)
}

func (l *localRecords) UpdateClient(ctx context.Context, id string, f *clientFlags) (manage.ClientResult, error) {
	u := manage.ClientUpdate{
		RotateSecret: f.rotateSecret,
		Apply:        func(c *store.Client) error { f.apply(c); return nil },
	}
	switch {
	case f.public:
		u.Public = new(true)
	case f.confidential:
		u.Public = new(false)
	}
	var res manage.ClientResult
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		res, err = svc.UpdateClient(ctx, id, u)
		return err
	})
	return res, err
}

var clientListHelp = cmdHelp{
	name:     "client list",
	synopsis: "[--json]",
	text:     "Lists every client, as a table or as a JSON array. Secrets are never shown.",
}

func runClientList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientListHelp, false)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	_, recs, err := cmd.open(args)
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
	fmt.Fprintln(tw, "ID\tTYPE\tORIGIN\tNAME\tGRANT TYPES\tREDIRECT URIS")
	for _, c := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(c.ClientID), c.ClientType, cell(c.Origin), cell(c.ClientName),
			cell(strings.Join(c.GrantTypes, ",")), cell(strings.Join(c.RedirectURIs, ",")))
	}
	return tw.Flush()
}

// ListClients never returns nil: an empty list prints as [].
func (l *localRecords) ListClients(ctx context.Context) ([]clientView, error) {
	var views []clientView
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		views, err = svc.ListClients(ctx)
		return err
	})
	return views, err
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
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		c, err = svc.GetClient(ctx, id)
		return err
	})
	if err != nil {
		return clientView{}, err
	}
	return registration.NewClientView(c, ""), nil
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
	return l.service(ctx, func(svc *manage.Service) error {
		return svc.DeleteClient(ctx, id)
	})
}

// clientView is a client as printed (shared with the admin API).
type clientView = registration.ClientView

// printClientResult prints the view of a client just created or updated
// as JSON; when it carries a client secret just generated, a reminder that
// it is shown once goes to stderr, and so does each warning of the road
// (registration.ClientWarnings, also returned by the admin API).
func printClientResult(e *env, res manage.ClientResult) error {
	if err := writeJSON(e.stdout, res.View); err != nil {
		return err
	}
	if res.View.ClientSecret != "" {
		fmt.Fprintln(e.stderr, "latch: store the client_secret now: it is shown only once")
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(e.stderr, "latch: warning: "+w)
	}
	return nil
}

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
