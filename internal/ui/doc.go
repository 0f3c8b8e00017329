// Package ui renders Latch's HTML pages (login, consent, device, error, form_post,
// logout) from embedded html/template files and serves the embedded static
// assets (CSS, the form_post script). Pages load nothing from other origins
// and contain no inline script or style, so the server can send a strict
// Content-Security-Policy (default-src 'none'; style-src 'self';
// script-src 'self'; form-action 'self' plus the client origin for
// form_post). It knows nothing of OAuth, storage or HTTP routing.
//
// Every page is rendered from templates/<page>.html inside the shared
// templates/layout.html, with html/template's contextual escaping: any
// string from a page struct (client names, usernames, error text, hidden
// field values) is escaped for where it lands, and URLs in href, src and
// action attributes are sanitised (a javascript: action becomes
// "#ZgotmplZ"). Render writes nothing when a template fails.
//
// Languages: pages are translated with {{t "English text"}} through the
// catalogues in locales/*.json (English is the key; see i18n.go), in the
// language Lang picks from ui_locales and Accept-Language; <html lang>
// says which. Tests fail when a template has literal text outside t/th
// or a catalogue lacks a message a template uses.
//
// Branding (brand.go): a product name, a logo file, accent colours
// (#rrggbb only, written into a generated brand.css) and an extra
// stylesheet, all served by Static from Latch's origin, so the CSP stays
// as strict; or replacement templates from a directory, validated and
// rendered once at start (templates.go).
//
// The UI does not set response headers for pages: the server sets
// Content-Type and the Content-Security-Policy (ContentSecurityPolicy
// builds the one these pages need).
package ui
