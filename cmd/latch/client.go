package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// maxClientIDLen bounds client IDs; they appear in URLs and logs.
const maxClientIDLen = 255

// defaultGrantTypes are a new client's grant types when none are given.
func defaultGrantTypes() []string {
	return []string{string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken)}
}

// knownGrantTypes are the grant types a client may be registered for.
func knownGrantTypes() []string {
	return []string{
		string(oauth.GrantAuthorizationCode),
		string(oauth.GrantRefreshToken),
		string(oauth.GrantClientCredentials),
	}
}

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
	rotateSecret         bool // update only
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
	fs.DurationVar(&f.refreshGrace, "refresh-grace", 0, "how long a rotated refresh token may be presented again (default: the server's)")
	fs.DurationVar(&f.refreshIdle, "refresh-idle", 0, "refresh token idle timeout (default: the server's)")
	fs.DurationVar(&f.refreshAbsolute, "refresh-absolute", 0, "refresh token absolute lifetime (default: the server's)")
	fs.DurationVar(&f.accessTokenTTL, "access-token-ttl", 0, "access token lifetime (default: the server's)")
	fs.BoolVar(&f.revokeOnLogout, "revoke-refresh-on-logout", false, "revoke the client's refresh tokens when the user logs out")
	if update {
		fs.BoolVar(&f.rotateSecret, "rotate-secret", false, "replace a confidential client's secret; the new one is printed once")
	}
}

// apply copies the flags that were given onto c. The type flags (--public,
// --confidential) and the secret are handled by the caller.
func (f *clientFlags) apply(set map[string]bool, c *store.Client) {
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
}

var clientCreateHelp = cmdHelp{
	name:     "client create",
	synopsis: "--id ID (--public | --confidential) --redirect-uri URI... [flags]",
	text: `Registers an OAuth client. A confidential client gets a random 256-bit
secret, printed once in the JSON output as "client_secret": only its hash is
stored. List flags may be repeated or take comma-separated values.`,
}

func runClientCreate(ctx context.Context, e *env, args []string) error {
	h := clientCreateHelp
	fs := newFlagSet(h.name)
	var f clientFlags
	f.register(fs, false)
	shared := addSharedFlags(fs, false)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	if f.id == "" {
		return usageErrorf("client create: --id is required")
	}
	if f.public == f.confidential {
		return usageErrorf("client create: give exactly one of --public and --confidential")
	}
	c := store.Client{
		ID:         f.id,
		Public:     f.public,
		GrantTypes: defaultGrantTypes(),
		CreatedAt:  e.now().UTC(),
	}
	f.apply(setFlags(fs), &c)
	if err := validateClient(&c); err != nil {
		return err
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	var secret string
	if !c.Public {
		secret, c.SecretHash = newClientSecret()
	}
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		return s.CreateClient(ctx, c)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return fmt.Errorf("client %q already exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("creating client %q: %w", c.ID, err)
	}
	return printClient(e, c, secret)
}

// newClientSecret returns a fresh client secret and the hash to store.
// The secret is 256 bits from crypto/rand (token.NewOpaque), so a fast
// SHA-256 (token.Hash) is the right storage hash: a slow password hash only
// helps against guessable secrets, and it would make every client
// authentication cost tens of milliseconds for nothing.
func newClientSecret() (secret, hash string) {
	secret = token.NewOpaque()
	return secret, token.Hash(secret)
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
	h := clientUpdateHelp
	fs := newFlagSet(h.name)
	var f clientFlags
	f.register(fs, true)
	shared := addSharedFlags(fs, false)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "client ID"); err != nil {
		return err
	}
	id := pos[0]
	set := setFlags(fs)
	if f.public && f.confidential {
		return usageErrorf("client update: give at most one of --public and --confidential")
	}
	changes := 0
	for name := range set {
		if name != "config" && name != "db" {
			changes++
		}
	}
	if changes == 0 {
		return usageErrorf("client update: nothing to change (see 'latch client update -h')")
	}
	if f.rotateSecret && f.public {
		return usageErrorf("client update: --rotate-secret with --public: public clients have no secret")
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	var (
		c      store.Client
		secret string
	)
	// A read-modify-write: a concurrent update of the same client by
	// another admin may be lost. Acceptable for an interactive tool.
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
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
		f.apply(set, &c)
		if err := validateClient(&c); err != nil {
			return err
		}
		if err := s.UpdateClient(ctx, c); err != nil {
			return fmt.Errorf("updating client %q: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return printClient(e, c, secret)
}

var clientListHelp = cmdHelp{
	name:     "client list",
	synopsis: "[--json]",
	text:     "Lists every client, as a table or as a JSON array. Secrets are never shown.",
}

func runClientList(ctx context.Context, e *env, args []string) error {
	h := clientListHelp
	fs := newFlagSet(h.name)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	shared := addSharedFlags(fs, false)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	var clients []store.Client
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		clients, err = s.ListClients(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("listing clients: %w", err)
	}
	if *asJSON {
		views := make([]clientView, 0, len(clients))
		for _, c := range clients {
			views = append(views, newClientView(c, ""))
		}
		return writeJSON(e.stdout, views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tNAME\tGRANT TYPES\tREDIRECT URIS")
	for _, c := range clients {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(c.ID), clientType(c), cell(c.Name),
			cell(strings.Join(c.GrantTypes, ",")), cell(strings.Join(c.RedirectURIs, ",")))
	}
	return tw.Flush()
}

var clientShowHelp = cmdHelp{
	name:     "client show",
	synopsis: "ID",
	text:     "Prints a client as JSON. The secret is never shown: it is stored only as a hash.",
}

func runClientShow(ctx context.Context, e *env, args []string) error {
	h := clientShowHelp
	fs := newFlagSet(h.name)
	shared := addSharedFlags(fs, false)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "client ID"); err != nil {
		return err
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	var c store.Client
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		c, err = s.GetClient(ctx, pos[0])
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("client %q not found", pos[0])
	}
	if err != nil {
		return fmt.Errorf("reading client %q: %w", pos[0], err)
	}
	return printClient(e, c, "")
}

var clientDeleteHelp = cmdHelp{
	name:     "client delete",
	synopsis: "ID",
	text: `Deletes a client. Its refresh tokens stop working; access tokens already
issued stay valid until they expire.`,
}

func runClientDelete(ctx context.Context, e *env, args []string) error {
	h := clientDeleteHelp
	fs := newFlagSet(h.name)
	shared := addSharedFlags(fs, false)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "client ID"); err != nil {
		return err
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	err = withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		return s.DeleteClient(ctx, pos[0])
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("client %q not found", pos[0])
	}
	if err != nil {
		return fmt.Errorf("deleting client %q: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "deleted client %q\n", pos[0])
	return nil
}

// validateClient checks a client before it is stored and normalises its
// allowed origins. It is the registration-time policy; the server re-checks
// every request against what is stored (exact redirect URI match, RFC 9700
// §4.1.3).
func validateClient(c *store.Client) error {
	if c.ID == "" || len(c.ID) > maxClientIDLen {
		return fmt.Errorf("client ID must be 1 to %d characters", maxClientIDLen)
	}
	// RFC 6749 Appendix A.1: client_id = *VSCHAR; we also refuse spaces so
	// IDs are safe in tables, logs and Basic credentials.
	for i := 0; i < len(c.ID); i++ {
		if c.ID[i] <= 0x20 || c.ID[i] >= 0x7f {
			return fmt.Errorf("client ID %q: only printable ASCII without spaces is allowed", c.ID)
		}
	}
	if !validText(c.Name) {
		return fmt.Errorf("client name must be valid UTF-8 without control characters")
	}
	if len(c.GrantTypes) == 0 {
		return fmt.Errorf("a client needs at least one grant type (%s)", orList(knownGrantTypes()))
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(knownGrantTypes(), g) {
			return fmt.Errorf("unknown grant type %q (want %s)", g, orList(knownGrantTypes()))
		}
	}
	hasCode := slices.Contains(c.GrantTypes, string(oauth.GrantAuthorizationCode))
	// RFC 6749 §4.4: only confidential clients can use client credentials;
	// a public client has nothing to authenticate with.
	if c.Public && slices.Contains(c.GrantTypes, string(oauth.GrantClientCredentials)) {
		return fmt.Errorf("a public client cannot use the client_credentials grant")
	}
	// Refresh tokens come from an authorization code; client credentials
	// get none (RFC 6749 §4.4.3).
	if slices.Contains(c.GrantTypes, string(oauth.GrantRefreshToken)) && !hasCode {
		return fmt.Errorf("the refresh_token grant needs authorization_code")
	}
	if hasCode && len(c.RedirectURIs) == 0 {
		return fmt.Errorf("--redirect-uri is required for the authorization_code grant")
	}
	for _, u := range c.RedirectURIs {
		if err := oauth.ValidateRegisteredRedirectURI(u); err != nil {
			return fmt.Errorf("invalid --redirect-uri %q: %v", u, err)
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := oauth.ValidateRegisteredRedirectURI(u); err != nil {
			return fmt.Errorf("invalid --post-logout-redirect-uri %q: %v", u, err)
		}
	}
	for i, o := range c.AllowedOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return fmt.Errorf("invalid --allowed-origin %q: %v", o, err)
		}
		c.AllowedOrigins[i] = n
	}
	c.AllowedOrigins = slices.Compact(c.AllowedOrigins)
	for _, s := range c.Scopes {
		if _, err := oauth.ParseScope(s); err != nil {
			return fmt.Errorf("scope %q: only printable ASCII without spaces, quotes or backslashes is allowed (RFC 6749 section 3.3)", s)
		}
	}
	for _, a := range c.Audiences {
		// RFC 8707 §2: a resource indicator is an absolute URI without a
		// fragment.
		u, err := url.Parse(a)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(a, "#") {
			return fmt.Errorf("audience %q must be an absolute URI without a fragment (RFC 8707 section 2)", a)
		}
	}
	if c.IDTokenAlg != "" && !slices.Contains(token.Algorithms(), c.IDTokenAlg) {
		return fmt.Errorf("unknown ID token algorithm %q (want %s)", c.IDTokenAlg, orList(token.Algorithms()))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"refresh-grace", c.RefreshGrace},
		{"refresh-idle", c.RefreshIdle},
		{"refresh-absolute", c.RefreshAbsolute},
		{"access-token-ttl", c.AccessTokenTTL},
	} {
		if d.v < 0 {
			return fmt.Errorf("--%s must not be negative", d.name)
		}
	}
	if c.RefreshIdle > 0 && c.RefreshAbsolute > 0 && c.RefreshIdle > c.RefreshAbsolute {
		return fmt.Errorf("--refresh-idle (%v) is longer than --refresh-absolute (%v)", c.RefreshIdle, c.RefreshAbsolute)
	}
	return nil
}

// normalizeOrigin checks a CORS origin (RFC 6454 §6.1: scheme://host[:port],
// nothing else) and returns it as browsers send it in the Origin header:
// lower-case scheme and host, default port dropped. Like redirect URIs,
// plain http is allowed only for loopback hosts.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", errors.New("want scheme://host[:port]")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#") {
		return "", errors.New("an origin has no user info, path, query or fragment: want scheme://host[:port]")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	switch scheme {
	case "https":
		if port == "443" {
			port = ""
		}
	case "http":
		if !isLoopback(host) {
			return "", errors.New("http is allowed only for loopback hosts; use https")
		}
		if port == "80" {
			port = ""
		}
	default:
		return "", errors.New("scheme must be https (or http for loopback hosts)")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// isLoopback reports whether host is localhost or a loopback IP literal.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validText reports whether s is valid UTF-8 without control characters.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// clientView is a client as printed: metadata names follow RFC 7591 §2
// where one exists. It has no field for the secret hash, so the hash can
// never be printed; client_secret is set only right after it was made.
type clientView struct {
	ClientID               string    `json:"client_id"`
	ClientSecret           string    `json:"client_secret,omitempty"`
	ClientType             string    `json:"client_type"` // public or confidential, RFC 6749 §2.1
	ClientName             string    `json:"client_name,omitempty"`
	RedirectURIs           []string  `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris,omitempty"`
	AllowedOrigins         []string  `json:"allowed_origins,omitempty"`
	GrantTypes             []string  `json:"grant_types"`
	Scopes                 []string  `json:"scopes,omitempty"`
	Audiences              []string  `json:"audiences,omitempty"`
	FirstParty             bool      `json:"first_party"`
	RequireDPoP            bool      `json:"dpop_bound_access_tokens"` // RFC 9449 §5.2
	IDTokenAlg             string    `json:"id_token_signed_response_alg,omitempty"`
	RefreshGrace           string    `json:"refresh_grace,omitempty"`
	RefreshIdle            string    `json:"refresh_idle,omitempty"`
	RefreshAbsolute        string    `json:"refresh_absolute,omitempty"`
	AccessTokenTTL         string    `json:"access_token_ttl,omitempty"`
	RevokeRefreshOnLogout  bool      `json:"revoke_refresh_on_logout"`
	CreatedAt              time.Time `json:"created_at"`
}

func newClientView(c store.Client, secret string) clientView {
	return clientView{
		ClientID:               c.ID,
		ClientSecret:           secret,
		ClientType:             clientType(c),
		ClientName:             c.Name,
		RedirectURIs:           c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		AllowedOrigins:         c.AllowedOrigins,
		GrantTypes:             c.GrantTypes,
		Scopes:                 c.Scopes,
		Audiences:              c.Audiences,
		FirstParty:             c.FirstParty,
		RequireDPoP:            c.RequireDPoP,
		IDTokenAlg:             c.IDTokenAlg,
		RefreshGrace:           fmtDuration(c.RefreshGrace),
		RefreshIdle:            fmtDuration(c.RefreshIdle),
		RefreshAbsolute:        fmtDuration(c.RefreshAbsolute),
		AccessTokenTTL:         fmtDuration(c.AccessTokenTTL),
		RevokeRefreshOnLogout:  c.RevokeRefreshOnLogout,
		CreatedAt:              c.CreatedAt.UTC(),
	}
}

// printClient prints c as JSON; secret, when not empty, is the client
// secret just generated, and a reminder that it is shown once goes to
// stderr.
func printClient(e *env, c store.Client, secret string) error {
	if err := writeJSON(e.stdout, newClientView(c, secret)); err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintln(e.stderr, "latch: store the client_secret now: it is shown only once")
	}
	return nil
}

func clientType(c store.Client) string {
	if c.Public {
		return "public"
	}
	return "confidential"
}

// fmtDuration formats d like "10m" or "24h" ("" for zero).
func fmtDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
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
