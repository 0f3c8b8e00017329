// Command bff runs Latch's example backend-for-frontend (package
// examples/bff):
//
//	go run ./examples/bff/cmd/bff --client-secret <demo-web secret printed by latch dev>
//
// With the defaults it signs in as the confidential client demo-web of
// `latch dev` (http://localhost:8080), serves http://localhost:3002 and
// proxies /api/ to the example API on http://localhost:3001. The secret
// may also come from the environment (BFF_CLIENT_SECRET), which keeps it
// out of the process list.
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
	"strings"
	"syscall"
	"time"

	"github.com/latchauth/latch/examples/bff"
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
	cookieKey := fs.String("cookie-key", getenv("BFF_COOKIE_KEY"), "base64url `key` of 32 bytes sealing the login cookie; share it between instances (default $BFF_COOKIE_KEY, else random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var key []byte
	if *cookieKey != "" {
		var err error
		if key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(*cookieKey, "=")); err != nil {
			return fmt.Errorf("--cookie-key: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	b, err := bff.New(dctx, bff.Config{
		Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret,
		BaseURL: *baseURL, APIURL: *apiURL, Scopes: strings.Fields(*scopes),
		CookieKey: key, Logger: log,
	})
	cancel()
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           b,
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
