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
	"time"

	"github.com/latchauth/latch/examples/api"
	"github.com/latchauth/latch/examples/spa"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/verify"
)

// demoSPAScope is what the example SPA asks for.
const demoSPAScope = "openid profile email offline_access " + api.ScopeMessagesRead

// exampleFlags are the flags of `latch dev` for the example apps.
type exampleFlags struct {
	enabled          bool
	spaAddr, apiAddr string
}

func addExampleFlags(fs *flag.FlagSet) *exampleFlags {
	f := &exampleFlags{}
	fs.BoolVar(&f.enabled, "examples", true, "also serve the example SPA and API (examples/spa, examples/api), each on its own origin")
	fs.StringVar(&f.spaAddr, "spa-addr", "localhost:3000", "listen `address` of the example SPA")
	fs.StringVar(&f.apiAddr, "api-addr", "localhost:3001", "listen `address` of the example API")
	return f
}

// devExamples are the example SPA and API that `latch dev` serves next to
// Latch, each on its own listener so each has its own origin, as in
// production: the SPA calls Latch and the API cross-origin (CORS).
type devExamples struct {
	spaLn, apiLn   net.Listener
	spaURL, apiURL string // what a browser uses, e.g. http://localhost:3000
	servers        []*http.Server
	errc           chan error
}

// listenExamples binds both listeners, before Latch starts, so that the
// demo clients can be registered for the actual URLs (with port 0, the
// port the system picked) and a busy port fails `latch dev` at once.
func listenExamples(cfg config.Config, f *exampleFlags) (*devExamples, error) {
	// Browsers give crypto.subtle (PKCE's SHA-256) and Web Locks only to
	// secure contexts: https or loopback; verify wants the same of the issuer.
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return nil, usageErrorf("dev: the example apps need an https or loopback issuer, not %s; add --examples=false", cfg.Issuer)
	}
	x := &devExamples{errc: make(chan error, 2)}
	var err error
	if x.spaLn, x.spaURL, err = listenLocal(f.spaAddr); err != nil {
		return nil, fmt.Errorf("dev: example SPA: %w", listenError("spa-addr", f.spaAddr, err))
	}
	if x.apiLn, x.apiURL, err = listenLocal(f.apiAddr); err != nil {
		x.spaLn.Close()
		return nil, fmt.Errorf("dev: example API: %w", listenError("api-addr", f.apiAddr, err))
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

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

// start serves the examples; Latch must be up, since the API's verifier
// fetches its keys now (a failed fetch is retried on the first request).
func (x *devExamples) start(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	v, err := verify.New(ctx, verify.Config{Issuer: cfg.Issuer, Audience: x.apiURL, Logger: log.With("example", "api")})
	if err != nil {
		return err
	}
	handlers := map[net.Listener]http.Handler{
		x.spaLn: spa.Handler(spa.Config{Issuer: cfg.Issuer, ClientID: "demo-spa", Scope: demoSPAScope, APIURL: x.apiURL}),
		x.apiLn: api.Handler(v, x.spaURL),
	}
	for ln, h := range handlers {
		hs := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		x.servers = append(x.servers, hs)
		go func() { x.errc <- hs.Serve(ln) }()
	}
	return nil
}

// stop shuts the examples down within timeout, or closes their listeners
// if they never started. Safe on a nil *devExamples.
func (x *devExamples) stop(ctx context.Context, timeout time.Duration) error {
	if x == nil {
		return nil
	}
	if len(x.servers) == 0 {
		return errors.Join(x.spaLn.Close(), x.apiLn.Close())
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for _, hs := range x.servers {
		errs = append(errs, hs.Shutdown(sctx))
	}
	for range x.servers {
		if err := <-x.errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
