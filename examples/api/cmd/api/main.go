// Command api runs Latch's example resource server (package
// examples/api) on its own:
//
//	go run ./examples/api/cmd/api --issuer http://localhost:8080 \
//	    --audience http://localhost:3001 --addr localhost:3001 --origin http://localhost:3000
//
// This is how the API runs next to `latch dev` (scripts/demo starts both;
// the latch binary does not link it), against another Latch, or as the
// starting point of your own API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/latchauth/latch/examples/api"
	"github.com/latchauth/latch/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// run serves the API until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://localhost:8080", "the Latch issuer whose access tokens are accepted")
	audience := fs.String("audience", "http://localhost:3001", "this API's identifier: tokens must carry it in aud")
	addr := fs.String("addr", "localhost:3001", "listen `address`")
	origin := fs.String("origin", "http://localhost:3000", "the web origin allowed to call the API from a browser (CORS); empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// verify allows plain http only for loopback issuers (e.g. latch dev).
	v, err := verify.New(ctx, verify.Config{Issuer: *issuer, Audience: *audience, Logger: log})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           api.Handler(v, *origin),
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
	log.Info("example API listening", "url", "http://"+ln.Addr().String()+"/api/messages", "issuer", *issuer, "audience", *audience, "origin", *origin)
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
