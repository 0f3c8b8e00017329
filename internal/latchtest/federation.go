package latchtest

import (
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/store"
)

// Federation is a Latch (Down) with another real Latch (Up) as its
// upstream OpenID Provider "up". Up's issuer is on localhost and Down's
// on 127.0.0.1, so a browser keeps their cookies apart (cookies ignore
// ports).
type Federation struct {
	t        testing.TB
	Up, Down *Env
	// UpClientID is Down's client at Up.
	UpClientID string
}

// UpstreamCallback is the path of Down's redirect URI at upstreams.
const UpstreamCallback = "/login/upstream/callback"

// Localhost moves an issuer from 127.0.0.1 to localhost (a config
// mutation for StartWith).
func Localhost(c *config.Config) { c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1) }

// StartFederation starts Up and Down and adds Up to Down as upstream
// "up" with the link policy, through the admin service (as `latch idp
// add` does; the client secret sealed). upOpts start Up (Localhost is
// added).
func StartFederation(t testing.TB, policy string, upOpts Options) *Federation {
	t.Helper()
	return StartFederationWith(t, policy, upOpts, Options{})
}

// StartFederationWith is StartFederation with Down started with
// downOpts (its store: PostgreSQL, say).
func StartFederationWith(t testing.TB, policy string, upOpts, downOpts Options) *Federation {
	t.Helper()
	upOpts.Config = append([]func(*config.Config){Localhost}, upOpts.Config...)
	up := StartWith(t, upOpts)
	up.Issuer = up.Config.Issuer
	down := StartWith(t, downOpts)
	f := &Federation{t: t, Up: up, Down: down, UpClientID: "downstream"}
	up.MustClient(store.Client{
		ID: f.UpClientID, Name: "Downstream Latch", FirstParty: true,
		RedirectURIs: []string{down.Issuer + UpstreamCallback},
		GrantTypes:   []string{"authorization_code"},
	})
	f.AddUpstream("up", up.Issuer, policy)
	return f
}

// AddUpstream adds an upstream to Down through the admin service.
func (f *Federation) AddUpstream(id, issuer, policy string) {
	f.t.Helper()
	sealer, err := app.UpstreamSealer(f.Down.Config)
	if err != nil {
		f.t.Fatal(err)
	}
	svc, err := manage.New(manage.Options{Store: f.Down.Store, Upstreams: sealer, Actor: manage.ActorCLI})
	if err != nil {
		f.t.Fatal(err)
	}
	name, secret := "Upstream Latch", f.Up.Secrets[f.UpClientID]
	if _, err := svc.AddUpstream(f.t.Context(), id, manage.UpstreamChange{
		Issuer: &issuer, ClientID: &f.UpClientID, ClientSecret: &secret, DisplayName: &name, LinkPolicy: &policy,
	}); err != nil {
		f.t.Fatalf("AddUpstream: %v", err)
	}
}

// FedBrowser is a user agent for both servers: it follows redirects
// between them and stops at any other host (the client's callback).
// Rewrite, when set, may change a request before it is followed.
type FedBrowser struct {
	*Browser
	Rewrite func(*http.Request)
	// StopAt, when set, is a path the browser does not follow a redirect
	// to (the test sees the redirect).
	StopAt string
}

// Browser returns a fresh browser for both servers.
func (f *Federation) Browser() *FedBrowser {
	jar, _ := cookiejar.New(nil)
	fb := &FedBrowser{Browser: &Browser{t: f.t, e: f.Down}}
	hosts := []string{hostOf(f.Up.Issuer), hostOf(f.Down.Issuer)}
	fb.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if fb.Rewrite != nil {
			fb.Rewrite(req)
		}
		if fb.StopAt != "" && req.URL.Path == fb.StopAt {
			return http.ErrUseLastResponse
		}
		for _, h := range hosts {
			if req.URL.Host == h {
				return nil
			}
		}
		return http.ErrUseLastResponse
	}}
	return fb
}

func hostOf(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

var upstreamLinkRE = regexp.MustCompile(`href="([^"]*/login/upstream\?[^"]*)"`)

// UpstreamLink is the first "Sign in with …" link of a login page.
func UpstreamLink(t testing.TB, p Page) string {
	t.Helper()
	m := upstreamLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no upstream link on the page (%d):\n%s", p.Status, p.Body)
	}
	return html.UnescapeString(m[1])
}

// SPAFlow is an authorization request of Down's spa client.
type SPAFlow struct {
	Config   *oauth2.Config
	Verifier string
	Nonce    string
	URL      string
}

// NewSPAFlow builds a fresh authorization request of Down's spa client.
func (f *Federation) NewSPAFlow(scopes ...string) SPAFlow {
	cfg := f.Down.OAuthConfig("spa", SPARedirect, append([]string{"openid"}, scopes...)...)
	v := oauth2.GenerateVerifier()
	nonce := oauth2.GenerateVerifier()
	return SPAFlow{Config: cfg, Verifier: v, Nonce: nonce,
		URL: cfg.AuthCodeURL("st-"+nonce[:8], oauth2.S256ChallengeOption(v), oidc.Nonce(nonce))}
}

// SignInUp runs a sign-in at Down through Up as username: Down's login
// page, its "Sign in with …" link, Up's login form. It returns the page
// where the browser stopped: the spa's callback (a redirect) or an
// error page.
func (f *Federation) SignInUp(b *FedBrowser, flow SPAFlow, username, pw string) Page {
	f.t.Helper()
	login := b.Get(flow.URL)
	p := b.Get(UpstreamLink(f.t, login))
	if !IsLoginPage(p) {
		return p
	}
	return b.Post(f.Up.Issuer+"/login", url.Values{"interaction": {Hidden(f.t, p.Body)}, "username": {username}, "password": {pw}})
}

// Code is the authorization code of a page that redirected to the
// spa's callback, or "" (and the test fails) for any other.
func (f *Federation) Code(p Page) string {
	f.t.Helper()
	loc := p.Header.Get("Location")
	if p.Status/100 != 3 || !strings.HasPrefix(loc, SPARedirect) {
		f.t.Fatalf("want a redirect to the spa's callback, got %d %s:\n%s", p.Status, loc, p.Body)
	}
	u, _ := url.Parse(loc)
	if c := u.Query().Get("code"); c != "" {
		return c
	}
	f.t.Fatalf("no code in %s", loc)
	return ""
}
