package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/bff"
	examplebff "github.com/latchauth/latch/examples/bff"
	"github.com/latchauth/latch/examples/spa"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/oauth"
)

// How `latch dev` shows the examples, and why it links the SPA and the BFF
// but not the API:
//
// examples/spa is static files (HTML, JavaScript, CSS) embedded by a
// stdlib-only package, so `latch dev` serves it on its own origin. The
// example API (examples/api) is a resource server built on the verify
// package; linking it would make the latch binary import verify, which is
// meant to become its own module one day (the root module must then never
// import it). So the API runs as its own process — `go run
// ./examples/api/cmd/api`, or scripts/demo, which starts both — and
// `latch dev` only registers demo-spa for its URL (--api-url: audience,
// CORS and config.js). The layering test (layout_test.go) holds both
// halves: cmd/latch links neither verify nor examples/api, and
// examples/spa stays stdlib-only.
//
// The example BFF (examples/bff over the bff package) is linked and served
// on its own origin (--bff-addr) as the confidential client demo-web: bff
// needs only the standard library, go-jose and go-oidc, and imports
// nothing of Latch (the layering test holds that). Its sessions live in
// memory: a restart of latch dev signs its users out.

// demoSPAScope is what the example SPA asks for; messages:read is the
// example API's scope (examples/api.ScopeMessagesRead).
const demoSPAScope = "openid profile email offline_access messages:read"

// exampleFlags are the flags of `latch dev` for the example apps.
type exampleFlags struct {
	enabled bool
	spaAddr string
	bffAddr string
	apiURL  string
}

func addExampleFlags(fs *flag.FlagSet) *exampleFlags {
	f := &exampleFlags{}
	fs.BoolVar(&f.enabled, "examples", true, "also serve the example SPA (examples/spa) on its own origin, registered to call the example API at --api-url")
	fs.StringVar(&f.spaAddr, "spa-addr", "localhost:3000", "listen `address` of the example SPA")
	fs.StringVar(&f.bffAddr, "bff-addr", "localhost:3002", "listen `address` of the example backend-for-frontend (examples/bff, client demo-web)")
	fs.StringVar(&f.apiURL, "api-url", demoAPI, "`URL` of the example API the SPA calls, run on its own: go run ./examples/api/cmd/api (its --audience)")
	return f
}

// devExamples is the example SPA that `latch dev` serves next to Latch,
// on its own listener so it has its own origin, as in production: the SPA
// calls Latch and the API cross-origin (CORS).
type devExamples struct {
	spaLn  net.Listener
	spaURL string // what a browser uses, e.g. http://localhost:3000
	bffLn  net.Listener
	bffURL string // e.g. http://localhost:3002
	apiURL string // the example API, served by its own process
	server *http.Server
	bff    *http.Server
	errc   chan error
}

// listenExamples binds the SPA's listener before Latch starts, so that the
// demo clients can be registered for the actual URL (with port 0, the
// port the system picked) and a busy port fails `latch dev` at once.
func listenExamples(cfg config.Config, f *exampleFlags) (*devExamples, error) {
	// Browsers give crypto.subtle (PKCE's SHA-256) and Web Locks only to
	// secure contexts: https or loopback; verify wants the same of the issuer.
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Scheme == "http" && !oauth.IsLoopbackHost(strings.ToLower(u.Hostname())) {
		return nil, usageErrorf("dev: the example apps need an https or loopback issuer, not %s; add --examples=false", cfg.Issuer)
	}
	api, err := url.Parse(f.apiURL)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" || api.Path != "" || api.RawQuery != "" {
		return nil, usageErrorf("dev: --api-url %q: want an origin such as %s", f.apiURL, demoAPI)
	}
	x := &devExamples{errc: make(chan error, 2), apiURL: f.apiURL}
	if x.spaLn, x.spaURL, err = listenLocal(f.spaAddr); err != nil {
		return nil, fmt.Errorf("dev: example SPA: %w", listenError("spa-addr", f.spaAddr, err))
	}
	if x.bffLn, x.bffURL, err = listenLocal(f.bffAddr); err != nil {
		x.spaLn.Close()
		return nil, fmt.Errorf("dev: example BFF: %w", listenError("bff-addr", f.bffAddr, err))
	}
	return x, nil
}

// listenLocal listens on addr and returns the http URL a browser uses to
// reach it: the host as given ("localhost" when empty or a wildcard) with
// the port the listener got.
func listenLocal(addr string) (net.Listener, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return ln, "http://" + net.JoinHostPort(host, port), nil
}

// start serves the SPA and the BFF once Latch is up (the BFF reads
// Latch's discovery document). webSecret is demo-web's secret.
func (x *devExamples) start(ctx context.Context, cfg config.Config, log *slog.Logger, webSecret string) error {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	b, err := bff.New(dctx, bff.Config{
		Issuer: cfg.Issuer, ClientID: "demo-web", ClientSecret: webSecret, BaseURL: x.bffURL,
		Scopes:    strings.Fields(demoSPAScope),
		Upstreams: []bff.Upstream{{Prefix: "/api/", URL: x.apiURL}},
		Resources: []string{x.apiURL},
		CookieKey: bff.NewCookieKey(), Logger: log,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("example BFF: %w", err)
	}
	x.bff = &http.Server{
		Handler:           examplebff.Handler(b, cfg.Issuer),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { x.errc <- x.bff.Serve(x.bffLn) }()
	x.server = &http.Server{
		Handler:           spa.Handler(spa.Config{Issuer: cfg.Issuer, ClientID: "demo-spa", Scope: demoSPAScope, APIURL: x.apiURL}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { x.errc <- x.server.Serve(x.spaLn) }()
	return nil
}

// stop shuts the SPA and the BFF down within timeout, or closes the
// listeners of those that never started. Safe on a nil *devExamples.
func (x *devExamples) stop(ctx context.Context, timeout time.Duration) error {
	if x == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for _, s := range []struct {
		hs *http.Server
		ln net.Listener
	}{{x.server, x.spaLn}, {x.bff, x.bffLn}} {
		if s.hs == nil {
			_ = s.ln.Close()
			continue
		}
		errs = append(errs, s.hs.Shutdown(sctx))
		if err := <-x.errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
