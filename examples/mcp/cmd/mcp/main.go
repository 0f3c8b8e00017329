// Command mcp runs Latch's example MCP server (package examples/mcp) on
// its own:
//
//	go run ./examples/mcp/cmd/mcp --issuer http://localhost:8080 \
//	    --resource http://localhost:3003/mcp --addr localhost:3003
//
// An MCP client given only http://localhost:3003/mcp finds Latch through
// the server's RFC 9728 metadata. With `latch dev` every client ID
// metadata document is accepted; add --registration open for clients
// that register dynamically, and --registration-resources with the
// resource above so self-registered clients may ask for it. The latch
// binary does not link this command.
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
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/latchauth/latch/examples/mcp"
	"github.com/latchauth/latch/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "mcp:", err)
		os.Exit(1)
	}
}

// run serves the MCP server until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://localhost:8080", "the Latch issuer whose access tokens are accepted")
	resource := fs.String("resource", "http://localhost:3003/mcp", "this server's URL and resource identifier (RFC 8707, RFC 9728): tokens must carry it in aud; its path is the MCP endpoint")
	addr := fs.String("addr", "localhost:3003", "listen `address`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*resource)
	if err != nil || u.Path == "" || u.Path == "/" {
		return fmt.Errorf("--resource %q must be a URL with a path, e.g. http://localhost:3003/mcp", *resource)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// verify allows plain http only for loopback hosts (e.g. latch dev).
	v, err := verify.New(ctx, verify.Config{
		Issuer: *issuer, Logger: log,
		ResourceMetadata: &verify.ResourceMetadata{
			Resource: *resource, ScopesSupported: []string{mcp.ScopeTools}, ResourceName: "Latch example MCP server",
		},
	})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           mcp.Handler(v, u.Path),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("example MCP server listening", "url", *resource, "metadata", v.ResourceMetadataURL(), "issuer", *issuer)
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
