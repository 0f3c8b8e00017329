package bff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

type upstream struct {
	prefix string
	target *url.URL
}

func newUpstream(u Upstream) (upstream, error) {
	if !strings.HasPrefix(u.Prefix, "/") || !strings.HasSuffix(u.Prefix, "/") || len(u.Prefix) < 2 {
		return upstream{}, fmt.Errorf("bff: upstream prefix %q must start and end with / and not be /", u.Prefix)
	}
	for _, reserved := range []string{"/login", "/callback", "/me", "/logout", "/backchannel-logout"} {
		if strings.HasPrefix(reserved+"/", u.Prefix) {
			return upstream{}, fmt.Errorf("bff: upstream prefix %q covers the BFF's own %s", u.Prefix, reserved)
		}
	}
	t, err := url.Parse(u.URL)
	if err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" || t.RawQuery != "" || t.User != nil {
		return upstream{}, fmt.Errorf("bff: upstream URL %q is not an http(s) URL without query", u.URL)
	}
	t.Path = strings.TrimSuffix(t.Path, "/")
	return upstream{prefix: u.Prefix, target: t}, nil
}

type accessTokenKey struct{}

// proxyHandler forwards requests under up.prefix to up.target with the
// session's access token (RFC 6750 §2.1, or RFC 9449 §7.1 when DPoP is
// configured). The path is the one ServeMux matched: cleaned, so "..",
// even percent-encoded, cannot climb out of the prefix (the mux redirects
// it first). The browser's cookies and Authorization never leave the BFF,
// and the upstream cannot set cookies on the BFF's origin.
func (b *BFF) proxyHandler(up upstream) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up.target)
			pr.Out.Host = up.target.Host
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("DPoP")
			at, _ := pr.In.Context().Value(accessTokenKey{}).(string)
			if b.cfg.DPoP == nil {
				pr.Out.Header.Set("Authorization", "Bearer "+at)
				return
			}
			htu := *pr.Out.URL
			htu.RawQuery, htu.Fragment = "", ""
			proof, err := b.cfg.DPoP.Proof(pr.In.Context(), pr.Out.Method, htu.String(), at, "")
			if err != nil {
				b.log.ErrorContext(pr.In.Context(), "dpop proof", "error", err)
				return // no Authorization: the upstream answers 401
			}
			pr.Out.Header.Set("Authorization", "DPoP "+at)
			pr.Out.Header.Set("DPoP", proof)
		},
		Transport: b.client.Transport,
		ModifyResponse: func(res *http.Response) error {
			// The upstream cannot set cookies on the BFF's origin, nor open
			// it to other origins with CORS headers meant for its own.
			res.Header.Del("Set-Cookie")
			for k := range res.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					res.Header.Del(k)
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b.log.WarnContext(r.Context(), "proxying upstream", "error", err, "upstream", up.target.Host)
			jsonError(w, http.StatusBadGateway, "upstream_unavailable", "the API did not answer")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		l, err := b.session(ctx, r)
		if err == nil {
			var at string
			if at, err = b.accessToken(ctx, l); err == nil {
				r.Body = http.MaxBytesReader(w, r.Body, maxProxyBody)
				rp.ServeHTTP(w, r.WithContext(context.WithValue(ctx, accessTokenKey{}, at)))
				return
			}
		}
		switch {
		case errors.Is(err, errNoSession):
			b.clearCookies(w)
			jsonError(w, http.StatusUnauthorized, "login_required", "no session: sign in at /login")
		case errors.Is(err, errRefreshBusy):
			w.Header().Set("Retry-After", "1")
			jsonError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the session's tokens are being refreshed; retry")
		default:
			b.log.WarnContext(ctx, "session or refresh failed", "error", err)
			jsonError(w, http.StatusBadGateway, "token_refresh_failed", "the sign-in server did not refresh the session; retry")
		}
	})
}

// clearCookies ends the browser's side of a session.
func (b *BFF) clearCookies(w http.ResponseWriter) {
	b.setSessionCookie(w, "", 0)
	b.setXSRFCookie(w, "", 0)
}
