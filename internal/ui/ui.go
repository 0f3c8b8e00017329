// Package ui renders Latch's HTML pages (login, consent, error, form_post,
// logout) from embedded html/template files and serves the embedded static
// assets (CSS, the form_post script). Pages load nothing from other origins
// and contain no inline script or style, so the server can send a strict
// Content-Security-Policy (default-src 'none'; style-src 'self';
// script-src 'self'; form-action 'self' plus the client origin for
// form_post). It knows nothing of OAuth, storage or HTTP routing.
package ui

import (
	"io"
	"net/http"
)

// UI renders pages. Safe for concurrent use.
type UI struct {
	// unexported: parsed templates, static file system
}

// New parses the embedded templates. productName is shown in page titles
// ("Latch" by default when empty).
func New(productName string) (*UI, error) {
	panic("unimplemented")
}

// StaticPrefix is where Static must be mounted.
const StaticPrefix = "/static/"

// Static serves the embedded assets under StaticPrefix with long-lived
// caching headers (file names are content-addressed or versioned).
func (u *UI) Static() http.Handler {
	panic("unimplemented")
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
}

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
}

// ErrorPage is shown when Latch must not redirect (unknown client,
// unregistered redirect URI, bad login state). Title is short; Message is
// a sentence for a person; Code is the OAuth error code, if any.
type ErrorPage struct {
	Title   string
	Message string
	Code    string
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

// Render writes page (one of the page types above, by value) as HTML.
// An unknown page type is an error.
func (u *UI) Render(w io.Writer, page any) error {
	panic("unimplemented")
}
