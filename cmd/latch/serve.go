package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
)

var serveHelp = cmdHelp{
	name:     "serve",
	synopsis: "[--config FILE] [flags]",
	text: `Run Latch. Every setting can come from a YAML file (--config), a LATCH_*
environment variable or a flag, flags winning. --issuer (the public base URL)
and --key-encryption-secret are required.`,
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("serve")
	cfg, rest, err := config.Load(config.Default(), fs, args, e.getenv)
	if errors.Is(err, flag.ErrHelp) {
		printCmdHelp(e.stdout, fs, serveHelp)
		return flag.ErrHelp
	}
	if err != nil {
		return usageErrorf("serve: %v", err)
	}
	if len(rest) > 0 {
		return usageErrorf("serve: unexpected argument %q", rest[0])
	}
	if err := config.Err(cfg.Validate()); err != nil {
		return err
	}
	return serve(ctx, e, cfg, serveHooks{})
}

// serveHooks lets `latch dev` and tests extend a run.
type serveHooks struct {
	// seed runs once the store is open, before serving.
	seed func(ctx context.Context, st store.Store) error
	// ready is called with the listener's address once serving.
	ready func(addr net.Addr)
	// extra routes on the public listener.
	extra map[string]http.Handler
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve runs Latch with cfg until ctx is cancelled, then shuts down
// gracefully: it stops accepting, lets in-flight requests finish within
// ShutdownTimeout and closes the store.
func serve(ctx context.Context, e *env, cfg config.Config, hooks serveHooks) error {
	log := newLogger(cfg, e.stderr)
	st, err := openStore(ctx, cfg.DB, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer st.Close()
	if hooks.seed != nil {
		if err := hooks.seed(ctx, st); err != nil {
			return err
		}
	}
	audit := log.With("log", "audit")
	srv, err := server.Assemble(ctx, cfg, st, log, audit, e.now, hooks.extra)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.Redacted())

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	tlsOn := cfg.TLSCert != "" && cfg.TLSKey != ""
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}

	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go sweep(sweepCtx, st, e.now, log)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "tls", tlsOn)
	if hooks.ready != nil {
		hooks.ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweep deletes expired codes, sessions and tokens every minute, in
// bounded batches so no sweep holds the database for long. Safe on every
// instance at once.
func sweep(ctx context.Context, st store.Store, now func() time.Time, log *slog.Logger) {
	const batch = 1000
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		total := 0
		for range 100 {
			n, err := st.DeleteExpired(ctx, now(), batch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("sweep failed", "error", err)
				}
				break
			}
			total += n
			if n < batch {
				break
			}
		}
		if total > 0 {
			log.Debug("swept expired records", "rows", total)
		}
	}
}
