// Command bff runs Latch's example backend-for-frontend: the page of
// package examples/bff over the bff package:
//
//	go run ./examples/bff/cmd/bff --client-secret <demo-web secret printed by latch dev>
//
// With the defaults it signs in as the confidential client demo-web of
// `latch dev` (http://localhost:8080), serves http://localhost:3002 and
// proxies /api/ to the example API on http://localhost:3001. The secret
// may also come from the environment (BFF_CLIENT_SECRET), which keeps it
// out of the process list.
//
// Sessions live in memory unless --sessions names a shared store
// ("sqlite:PATH" or a postgres:// URL): run several instances with the
// same store and --cookie-key behind a load balancer, and they share
// sessions and survive restarts.
//
// --static serves a built single-page app instead of the example page, on
// the BFF's origin: the Angular example (examples/angular/bff) runs as
//
//	go run ./examples/bff/cmd/bff --static examples/angular/dist/bff/browser --xsrf-cookie
//
// where --xsrf-cookie switches the CSRF defence to Angular's double-submit
// convention (XSRF-TOKEN cookie, X-XSRF-TOKEN header).
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/bff/bffpostgres"
	"github.com/latchauth/latch/bff/bffsqlite"
	example "github.com/latchauth/latch/examples/bff"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bff:", err)
		os.Exit(1)
	}
}

// run serves the BFF until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://localhost:8080", "the Latch issuer to sign in with")
	clientID := fs.String("client-id", "demo-web", "this confidential client's id at Latch")
	secret := fs.String("client-secret", getenv("BFF_CLIENT_SECRET"), "the client's secret (default $BFF_CLIENT_SECRET)")
	baseURL := fs.String("base-url", "http://localhost:3002", "this BFF's public URL; the redirect URI is <base-url>/callback")
	apiURL := fs.String("api", "http://localhost:3001", "the API proxied under /api/")
	addr := fs.String("addr", "localhost:3002", "listen `address`")
	scopes := fs.String("scopes", "openid profile email offline_access messages:read", "the scopes to request, space-separated")
	cookieKey := fs.String("cookie-key", getenv("BFF_COOKIE_KEY"), "base64url `key` of 32 bytes sealing the login cookie and the stored tokens; share it between instances (default $BFF_COOKIE_KEY, else random)")
	sessions := fs.String("sessions", getenv("BFF_SESSIONS"), "session `store`: empty (memory), sqlite:PATH, or a postgres:// URL (default $BFF_SESSIONS)")
	staticDir := fs.String("static", "", "serve the app's built files from `dir` instead of the example page (e.g. examples/angular/dist/bff/browser)")
	xsrfCookie := fs.Bool("xsrf-cookie", false, "CSRF by double submit, Angular's convention: an XSRF-TOKEN cookie echoed in X-XSRF-TOKEN (default: the X-Requested-With header)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	key := bff.NewCookieKey()
	if *cookieKey != "" {
		var err error
		if key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(*cookieKey, "=")); err != nil {
			return fmt.Errorf("--cookie-key: %w", err)
		}
	} else if *sessions != "" {
		log.Warn("no --cookie-key: a random one; sessions stored by another instance (or before a restart) will not open")
	}
	store, closeStore, err := openSessions(ctx, *sessions)
	if err != nil {
		return err
	}
	defer closeStore()
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	b, err := bff.New(dctx, bff.Config{
		Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret,
		BaseURL: *baseURL, Scopes: strings.Fields(*scopes),
		Upstreams: []bff.Upstream{{Prefix: "/api/", URL: *apiURL}},
		Resources: []string{*apiURL},
		CookieKey: key, Sessions: store, Logger: log,
		CSRF: bff.CSRF{DoubleSubmit: *xsrfCookie},
	})
	cancel()
	if err != nil {
		return err
	}
	handler := example.Handler(b, *issuer)
	if *staticDir != "" {
		if _, err := os.Stat(filepath.Join(*staticDir, "index.html")); err != nil {
			return fmt.Errorf("--static: %w (build the app first)", err)
		}
		handler = example.AppHandler(b, *issuer, os.DirFS(*staticDir))
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("BFF listening", "url", *baseURL, "addr", ln.Addr().String(), "issuer", *issuer, "client_id", *clientID, "api", *apiURL)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openSessions opens the session store named by spec.
func openSessions(ctx context.Context, spec string) (bff.SessionStore, func(), error) {
	switch {
	case spec == "":
		return bff.NewMemoryStore(), func() {}, nil
	case strings.HasPrefix(spec, "sqlite:"):
		s, err := bffsqlite.Open(ctx, strings.TrimPrefix(spec, "sqlite:"))
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		s, err := bffpostgres.Open(ctx, spec)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	return nil, nil, fmt.Errorf("--sessions %q: want sqlite:PATH or a postgres:// URL", spec)
}
