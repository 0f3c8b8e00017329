package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"reflect"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames lists the pages; page NAME is templates/NAME.html.
func pageNames() []string {
	return []string{"login", "code", "account", "reset", "consent", "device", "error", "form_post", "logout", "logged_out"}
}

// UI renders pages. Safe for concurrent use.
type UI struct {
	product string
	// pages maps a language, then a page name, to layout + page with t
	// and th bound to that language.
	pages  map[string]map[string]*template.Template
	cat    catalogues
	langs  []string          // supported languages, DefaultLang first
	static fs.FS             // the embedded static/ directory
	etags  map[string]string // static file name → quoted ETag
	vers   map[string]string // static file name → version (?v=)
	brand  map[string]asset  // branded static files (brand.go), by name
	extra  []string          // branded stylesheets, in link order
	logo   string            // branded logo file name, "" for the built-in mark
	base   string            // path prefix of asset URLs, "" or "/x"
}

// New parses the embedded templates. productName is shown in page titles
// ("Latch" by default when empty). It is NewBranded with only a product
// name.
func New(productName string) (*UI, error) {
	return NewBranded(Branding{Product: productName})
}

// NewBranded parses the templates (the embedded ones, or those of
// b.TemplatesDir), loads the translations and the branded assets of b,
// and checks that every page renders in every language with sample data,
// so a broken template or asset fails start-up, not a sign-in.
func NewBranded(b Branding) (*UI, error) {
	if b.Product == "" {
		b.Product = "Latch"
	}
	u := &UI{
		product: b.Product,
		pages:   make(map[string]map[string]*template.Template),
		etags:   make(map[string]string),
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: static: %w", err)
	}
	u.static = static
	// Hash every asset once: the hash is both the ETag and the ?v= version
	// in asset URLs, so a new release busts the day-long browser cache.
	versions := make(map[string]string)
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		v := contentVersion(b)
		versions[name] = v
		u.etags[name] = `"` + v + `"`
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: static: %w", err)
	}
	u.vers = versions
	for _, name := range []string{"latch.css", "form_post.js", "passkey.js"} {
		if _, ok := versions[name]; !ok {
			return nil, fmt.Errorf("ui: missing static asset %s", name)
		}
	}
	if err := u.loadBrand(b); err != nil {
		return nil, err
	}

	if u.cat, err = loadCatalogues(); err != nil {
		return nil, err
	}
	u.langs = u.cat.langs()

	for _, lang := range u.langs {
		if u.pages[lang], err = parseTemplates(b.TemplatesDir, u.translator(lang)); err != nil {
			return nil, err
		}
	}
	if err := u.selfTest(); err != nil {
		return nil, err
	}
	return u, nil
}

// contentVersion is the ETag and ?v= version of a static file's content.
func contentVersion(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// WithBasePath returns a copy of u whose pages link their assets under
// base+StaticPrefix instead of StaticPrefix, for an issuer with a path
// (https://example.com/auth → base "/auth"), where Static is mounted at
// base+StaticPrefix behind http.StripPrefix(base, …). base is a URL path
// taken from the validated issuer; a trailing slash is ignored and a
// missing leading slash is added. u itself is unchanged.
func (u *UI) WithBasePath(base string) *UI {
	c := *u
	c.base = strings.TrimRight(base, "/")
	if c.base != "" && !strings.HasPrefix(c.base, "/") {
		c.base = "/" + c.base
	}
	return &c
}

// asset is the versioned URL of a static file.
func (u *UI) asset(name string) string {
	return u.base + StaticPrefix + name + "?v=" + u.vers[name]
}

// StaticPrefix is where Static must be mounted.
const StaticPrefix = "/static/"

// Static serves the embedded assets, and the branded ones, under
// StaticPrefix with long-lived caching headers (file names are
// content-addressed or versioned).
//
// Only GET and HEAD are served; only the embedded and branded files exist, so
// directories (including StaticPrefix itself) are 404, never a listing.
// Every file gets Cache-Control: public, max-age=86400, an ETag of its
// content hash and X-Content-Type-Options: nosniff. Pages link assets as
// /static/NAME?v=HASH, so a new release is fetched at once.
func (u *UI) Static() http.Handler {
	files := http.StripPrefix(strings.TrimSuffix(StaticPrefix, "/"), http.FileServerFS(u.static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, StaticPrefix)
		etag, known := u.etags[name]
		if !ok || !known {
			// Also covers "" (the directory) and anything with ".." in it:
			// only exact embedded file names are served.
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", etag)
		if a, ok := u.brand[name]; ok {
			// An operator's file: typed by Latch, never sniffed, and
			// sandboxed should someone open it as a document (an SVG
			// logo may contain script).
			h.Set("Content-Type", a.ctype)
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// LoginPage is the sign-in form. Its inputs are named username and
// password; Interaction goes back in a hidden input named "interaction".
type LoginPage struct {
	Action      string // form action URL (POST)
	Interaction string // opaque sealed state, hidden input
	ClientName  string // the app asking, shown as "to continue to X"
	Username    string // prefilled (login_hint or the last attempt)
	Error       string // shown above the form when non-empty
	// Locked disables the form and shows Error as a lockout notice.
	Locked bool
	// PasskeyOptions, when set, offers a passkey sign-in: the
	// PublicKeyCredentialRequestOptions as JSON (base64url byte fields),
	// read by static/passkey.js from a data attribute, which posts the
	// assertion as "credential" with Interaction to PasskeyAction.
	PasskeyOptions string
	PasskeyAction  string
	// PasskeyRequired hides the password form: only a passkey will do.
	PasskeyRequired bool
	// Upstreams are the "Sign in with …" links (federation).
	Upstreams []UpstreamButton
}

// AccountUpstream is an upstream OpenID Provider on the account page:
// linked to the user, or LinkURL starts linking it.
type AccountUpstream struct {
	Name    string
	Linked  bool
	LinkURL string
}

// UpstreamButton is a link that starts a sign-in at an upstream OpenID
// Provider: "Sign in with <Name>".
type UpstreamButton struct {
	Name string
	URL  string
}

// CodePage is the second sign-in step: a TOTP code or a recovery code
// in an input named code; Interaction goes back in a hidden input.
type CodePage struct {
	Action      string
	Interaction string
	ClientName  string // may be empty (the account page's sign-in)
	Error       string
	Locked      bool // the form disabled, Error as a lockout notice
}

// AccountPage is the signed-in user's account page (/account). Every
// form posts Interaction (single-use, bound to the browser) to Action
// with a button named "action"; Notice is a confirmation at the top.
// Enrol, when set, shows the TOTP enrolment step instead of the
// overview; Codes, when set, shows freshly made recovery codes (once).
type AccountPage struct {
	Action      string
	Interaction string
	Username    string
	Name        string
	Notice      string
	Error       string
	// Methods are the user's sign-in methods (password, authenticator
	// app, …; passkeys add theirs).
	Methods       []AccountMethod
	HasPassword   bool
	HasTOTP       bool
	RecoveryLeft  int
	Sessions      []AccountSession
	Apps          []AccountApp
	Enrol         *TOTPEnrolment
	Codes         []string
	SignOutAction string // the logout endpoint
	// Upstreams are the upstream OpenID Providers: linked ones, and a
	// link action for the others (federation).
	Upstreams []AccountUpstream
	// Passkeys are the user's passkeys; PasskeyOptions, when set, offers
	// to add one (PublicKeyCredentialCreationOptions as JSON, for
	// static/passkey.js): the form posts action "passkey-add" with
	// inputs name and credential.
	Passkeys       []AccountPasskey
	PasskeyOptions string
}

// AccountPasskey is one passkey on the account page; removing it posts
// ID as "passkey".
type AccountPasskey struct {
	ID       string
	Name     string // the user's name for it
	Added    string // date
	LastUsed string // date, "" when never used
	// BackupEligible: the passkey may be synced to the user's other
	// devices; BackedUp: it is (as reported at registration).
	BackupEligible, BackedUp bool
}

// AccountMethod is one sign-in method on the account page.
type AccountMethod struct {
	Kind  string // "password", "totp", "recovery" (passkeys: "passkey")
	Name  string // English, translated on the page
	Added string // date, "" when unknown
}

// AccountSession is one active session of the user.
type AccountSession struct {
	Started string // date and time (UTC)
	Methods string // amr values, e.g. "pwd otp mfa"
	Current bool
}

// AccountApp is one application with access: the client and the scopes
// of its active grants. Revoking posts ClientID as "client".
type AccountApp struct {
	ClientID string
	Name     string
	Scopes   []string
}

// TOTPEnrolment is the enrolment step: the QR code (a data: URL the CSP
// allows as img-src data:) and the secret as text; the user confirms
// with a first code.
type TOTPEnrolment struct {
	QR     template.URL // data:image/png;base64,… (made by Latch, never user input)
	Secret string
}

// ResetPage sets a new password with an administrator's one-time reset
// link: a form (input new_password, hidden Interaction), or Done, or
// Invalid (the link is used, expired or unknown).
type ResetPage struct {
	Action      string
	Interaction string
	Username    string
	Error       string
	Done        bool
	Invalid     bool
	// PasskeyOptions, when set, makes it the registration link of a
	// passkey-only account: the form creates a passkey (inputs name and
	// credential, see AccountPage) instead of setting a password;
	// PasskeyDone confirms the passkey was created.
	PasskeyOptions string
	PasskeyDone    bool
}

// QRImage admits a data: URL of a PNG image as an <img src> (html/template
// would otherwise refuse the data: scheme); anything else gives "".
func QRImage(dataURL string) template.URL {
	if !strings.HasPrefix(dataURL, "data:image/png;base64,") || strings.ContainsAny(dataURL, "\"'<> ") {
		return ""
	}
	return template.URL(dataURL)
}

// Product is the product name the pages show ("Latch" by default).
func (u *UI) Product() string { return u.product }

// Scope is one line of the consent page.
type Scope struct {
	Name        string
	Description string
}

// ConsentPage asks the user to allow a client the listed scopes. The form
// posts Interaction and a button named "decision" with value "allow" or
// "deny".
type ConsentPage struct {
	Action      string
	Interaction string
	ClientName  string
	ClientID    string
	Username    string
	Scopes      []Scope
	// RedirectHost, when set, is shown prominently: the host the user
	// is sent back to, for a client that registered itself (a client ID
	// metadata document or dynamic registration).
	RedirectHost string
	// LocalhostOnly warns that every redirect URI of the client is on
	// this computer, so nothing vouches for who wrote it.
	LocalhostOnly bool
}

// DevicePage is the device verification page (RFC 8628 §3.3) in one of
// three steps. "enter": a form with an input named user_code (prefilled
// from verification_uri_complete); "confirm": which client asks for
// which scopes, with buttons named "decision" valued "allow" and "deny";
// "done": the outcome (Approved or denied). Every form posts Interaction.
type DevicePage struct {
	Action      string
	Interaction string
	Step        string // "enter", "confirm" or "done"
	UserCode    string // as shown: XXXX-XXXX
	Username    string
	ClientName  string
	ClientID    string
	Scopes      []Scope
	Approved    bool   // step "done"
	Error       string // step "enter": shown above the form
	// Locked disables the form and shows Error as a lockout notice.
	Locked bool
}

// ErrorPage is shown when Latch must not redirect (unknown client,
// unregistered redirect URI, bad login state). Title is short; Message is
// a sentence for a person; Code is the OAuth error code, if any. Title
// and Message are English and shown translated when a catalogue has them.
// RequestID lets a user quote the request the server log describes.
type ErrorPage struct {
	Title     string
	Message   string
	Code      string
	RequestID string
	// Dev, set only in development mode, shows a developer what was
	// wrong with an authorization request and how to fix it. It must
	// stay nil in production: it echoes request and registration data.
	Dev *ErrorDetails
}

// ErrorDetails are the development-mode details of an authorization
// error: the client, the redirect URI received and those registered, and
// the likely fix (English: it is for the developer).
type ErrorDetails struct {
	ClientID    string
	RedirectURI string
	Registered  []string
	Fix         string
}

// Field is a hidden form field.
type Field struct {
	Name, Value string
}

// FormPostPage delivers an authorization response with response_mode
// form_post: a form that POSTs Fields to Action, submitted by the static
// script, with a button for browsers without JavaScript.
type FormPostPage struct {
	Action string
	Fields []Field
}

// LogoutPage asks the user to confirm signing out (RP-Initiated Logout
// without a valid id_token_hint). The form posts Interaction and a button
// named "decision" with value "logout" or "cancel".
type LogoutPage struct {
	Action      string
	Interaction string
	ClientName  string // may be empty
}

// LoggedOutPage confirms the user is signed out (when there is no
// post_logout_redirect_uri to go to).
type LoggedOutPage struct{}

// view is what every template executes with: the layout reads Product and
// the asset URLs, the page template reads Page.
type view struct {
	Lang       string // BCP 47 tag of the page language, for <html lang>
	Product    string
	CSS        string
	ExtraCSS   []string // branded stylesheets, after CSS
	Logo       string   // branded logo URL, "" for the built-in mark
	FormPostJS string
	PasskeyJS  string
	Page       any
}

// ErrUnknownPage is returned by Render for a value that is not one of the
// page types.
var ErrUnknownPage = errors.New("ui: unknown page type")

// Render writes page in English; see RenderLang.
func (u *UI) Render(w io.Writer, page any) error {
	return u.RenderLang(w, DefaultLang, page)
}

// RenderLang writes page (one of the page types above, by value) as HTML
// in lang (one of Languages, as chosen by Lang; any other value renders
// English). An unknown page type is an error.
//
// A non-nil pointer to a page type is accepted too. The page is rendered
// into a buffer first, so on any error nothing is written to w. A
// FormPostPage without an Action is an error (the form would post back
// to Latch itself).
func (u *UI) RenderLang(w io.Writer, lang string, page any) error {
	if v := reflect.ValueOf(page); v.Kind() == reflect.Pointer && !v.IsNil() {
		page = v.Elem().Interface()
	}
	var name string
	switch p := page.(type) {
	case LoginPage:
		name = "login"
	case CodePage:
		name = "code"
	case AccountPage:
		name = "account"
	case ResetPage:
		name = "reset"
	case ConsentPage:
		name = "consent"
	case DevicePage:
		name = "device"
	case ErrorPage:
		name = "error"
	case FormPostPage:
		if p.Action == "" {
			return errors.New("ui: FormPostPage.Action is empty")
		}
		name = "form_post"
	case LogoutPage:
		name = "logout"
	case LoggedOutPage:
		name = "logged_out"
	default:
		return fmt.Errorf("%w %T", ErrUnknownPage, page)
	}
	pages, ok := u.pages[lang]
	if !ok {
		lang, pages = DefaultLang, u.pages[DefaultLang]
	}
	v := view{
		Lang:       lang,
		Product:    u.product,
		CSS:        u.asset("latch.css"),
		FormPostJS: u.asset("form_post.js"),
		PasskeyJS:  u.asset("passkey.js"),
		Page:       page,
	}
	for _, name := range u.extra {
		v.ExtraCSS = append(v.ExtraCSS, u.asset(name))
	}
	if u.logo != "" {
		v.Logo = u.asset(u.logo)
	}
	var buf bytes.Buffer
	err := pages[name].ExecuteTemplate(&buf, "layout", v)
	if err != nil {
		return fmt.Errorf("ui: render %s: %w", name, err)
	}
	_, err = buf.WriteTo(w)
	return err
}
