package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Cookie base names; cookieName gives the name actually used.
const (
	csrfCookie    = "latch_csrf"
	sessionCookie = "latch_session"
)

// hostPrefix is the __Host- cookie prefix (RFC 6265bis §4.1.3.2): the
// browser accepts such a cookie only with Secure, Path=/ and no Domain,
// and only from the host itself, so a sibling subdomain cannot plant or
// shadow it (cookie tossing, login CSRF).
const hostPrefix = "__Host-"

// cookieName is the name of the cookie with the given base name. Under an
// https issuer it carries the __Host- prefix; an issuer with a path also
// gets a short hash of that path appended, because __Host- cookies are
// host-wide (Path=/) and two issuers on one host must not share them. An
// http issuer (development on loopback) keeps the plain name.
func (s *Server) cookieName(base string) string {
	if !s.secure {
		return base
	}
	if p := s.basePath(); p != "" {
		sum := sha256.Sum256([]byte(p))
		return hostPrefix + base + "_" + hex.EncodeToString(sum[:4])
	}
	return hostPrefix + base
}

// cookiePath is the Path of every cookie: "/" under https (required by
// __Host-), else the issuer's path.
func (s *Server) cookiePath() string {
	if p := s.basePath(); p != "" && !s.secure {
		return p + "/"
	}
	return "/"
}

// newCookie returns the cookie base=value with the attributes every Latch
// cookie has: HttpOnly, SameSite=Lax, Secure (under https), the host-only
// path above and never a Domain. maxAge < 0 deletes it; expires, when
// not zero, bounds it.
func (s *Server) newCookie(base, value string, expires time.Time, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: s.cookieName(base), Value: value, Path: s.cookiePath(), HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, Expires: expires, MaxAge: maxAge,
	}
}

// cookie returns the value of the request's cookie with that base name,
// or "".
func (s *Server) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(s.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// hstsValue is the Strict-Transport-Security header (RFC 6797 §6.1) for an
// https issuer, or "" for http. Subdomains are not included: Latch does
// not speak for its siblings (its own cookies are protected by __Host-).
func (s *Server) hstsValue() string {
	if !s.secure {
		return ""
	}
	return "max-age=" + strconv.FormatInt(int64(s.opts.HSTSMaxAge/time.Second), 10)
}
