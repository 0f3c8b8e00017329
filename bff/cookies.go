package bff

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Cookies (RFC 10017 §6.1.3.2; RFC 6265bis §4.1.3):
//
//   - session: "__Host-" (or "__Host-Http-") + Cookies.Name under https,
//     HttpOnly, Secure, Path=/, no Domain, SameSite=Strict (or Lax). Its
//     value is a random 256-bit id; the store keeps only its SHA-256.
//   - login: one per sign-in attempt, named after its state so that two
//     tabs signing in at once do not overwrite each other; "__Host-" under
//     https, HttpOnly, Path=/ (the __Host- prefix requires it),
//     SameSite=Lax because the callback is a cross-site top-level
//     navigation on which Strict cookies are not sent; sealed with
//     AES-256-GCM, its name as additional data, expiry inside.
//   - XSRF-TOKEN (CSRF.DoubleSubmit only): readable by the page's script
//     by design (Angular copies it into X-XSRF-TOKEN); SameSite=Strict,
//     Secure under https; its value is a MAC of the session key, so it
//     is worthless without the session cookie and cannot be planted.

func (b *BFF) prefix() string {
	switch {
	case !b.secure:
		// Over plain http (local development) browsers refuse the
		// prefixes, which require Secure.
		return ""
	case b.cfg.Cookies.HostHTTPPrefix:
		return "__Host-Http-"
	default:
		return "__Host-"
	}
}

func (b *BFF) sessionCookieName() string { return b.prefix() + b.cfg.Cookies.Name }

func (b *BFF) loginCookieName(state string) string {
	return b.prefix() + "bff_login_" + state
}

// setSessionCookie sets (maxAge > 0) or clears the session cookie.
func (b *BFF) setSessionCookie(w http.ResponseWriter, id string, maxAge time.Duration) {
	age := int(maxAge / time.Second)
	if maxAge <= 0 {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name: b.sessionCookieName(), Value: id, Path: "/", MaxAge: age,
		HttpOnly: true, Secure: b.secure, SameSite: b.cfg.Cookies.SameSite,
	})
}

// setXSRFCookie sets (or clears, key "") the double-submit cookie.
func (b *BFF) setXSRFCookie(w http.ResponseWriter, key string, maxAge time.Duration) {
	if !b.cfg.CSRF.DoubleSubmit {
		return
	}
	age := int(maxAge / time.Second)
	if key == "" {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name: b.cfg.CSRF.CookieName, Value: b.xsrfToken(key), Path: "/", MaxAge: age,
		Secure: b.secure, SameSite: http.SameSiteStrictMode, // not HttpOnly: the page's script reads it
	})
}

// xsrfToken is the double-submit token of a session: HMAC-SHA256 of the
// session key under the cookie key.
func (b *BFF) xsrfToken(key string) string {
	if key == "" {
		return ""
	}
	m := hmac.New(sha256.New, b.cfg.CookieKey)
	m.Write([]byte("bff xsrf\x00" + key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrf guards a route the session cookie authorises (RFC 10017 §6.1.3.3):
//
//  1. Origin: when the browser sends Origin, it must be BaseURL's or one
//     of CSRF.AllowedOrigins; when it sends Sec-Fetch-Site, it must be
//     same-origin (or none: typed by the user). A state-changing request
//     from a browser always carries one of them.
//  2. The custom header (CSRF.Header) must be present — or, with
//     CSRF.DoubleSubmit, X-XSRF-TOKEN must equal the session's token on
//     every request that is not GET or HEAD. Another origin cannot add
//     either without a CORS preflight, which this BFF never answers.
//
// stateChanging routes need the header even in double-submit mode.
// Refusals are 403 with a JSON error; nothing after runs.
func (b *BFF) csrf(next http.Handler, stateChanging bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !b.origins[o] {
			b.log.InfoContext(r.Context(), "cross-origin request refused", "origin", o, "path", r.URL.Path)
			jsonError(w, http.StatusForbidden, "cross_origin", "requests to this BFF must come from its own origin")
			return
		}
		if s := r.Header.Get("Sec-Fetch-Site"); r.Header.Get("Origin") == "" && s != "" && s != "same-origin" && s != "none" {
			// Fetch Metadata (W3C): a cross-site subrequest without Origin.
			b.log.InfoContext(r.Context(), "cross-site request refused", "sec-fetch-site", s, "path", r.URL.Path)
			jsonError(w, http.StatusForbidden, "cross_origin", "requests to this BFF must come from its own origin")
			return
		}
		if !b.cfg.CSRF.DoubleSubmit {
			if r.Header.Get(b.cfg.CSRF.Header) == "" {
				jsonError(w, http.StatusForbidden, "csrf_header_missing", "send the "+b.cfg.CSRF.Header+" header with this request")
				return
			}
		} else if stateChanging || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			c, err := r.Cookie(b.sessionCookieName())
			want := ""
			if err == nil && c.Value != "" {
				want = b.xsrfToken(SessionKey(c.Value))
			}
			got := r.Header.Get(b.cfg.CSRF.HeaderName)
			if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				jsonError(w, http.StatusForbidden, "csrf_token_mismatch", "send the "+b.cfg.CSRF.CookieName+" cookie's value in the "+b.cfg.CSRF.HeaderName+" header")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// loginState is what a login cookie carries, sealed.
type loginState struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
	Expires  int64  `json:"exp"` // unix seconds
}

// seal encrypts and authenticates v (JSON) with ad as additional data:
// the value opens only under the same ad (the cookie's name, or the
// session key).
func (b *BFF) seal(ad string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plain, []byte(ad)), nil
}

// open is seal's inverse: it fails for a value sealed under another key
// or ad, or altered in any way.
func (b *BFF) open(ad string, sealed []byte, v any) error {
	ns := b.aead.NonceSize()
	if len(sealed) < ns {
		return errors.New("bff: sealed value too short")
	}
	plain, err := b.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(ad))
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

func (b *BFF) sealCookie(name string, v any) (string, error) {
	s, err := b.seal(name, v)
	return base64.RawURLEncoding.EncodeToString(s), err
}

func (b *BFF) openCookie(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return err
	}
	return b.open(name, raw, v)
}
