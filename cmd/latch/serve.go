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
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/latchauth/latch/internal/admin"
	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/storemetrics"
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
		return flagError("serve", fs, err)
	}
	warnSecretFlags(e, fs)
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
	// adminReady is called with the admin listener's address once
	// serving (not called when admin-addr is empty).
	adminReady func(addr net.Addr)
	// listener, when set, is the public listener instead of one opened on
	// cfg.Addr (tests: the issuer must name the port before serving).
	listener net.Listener
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

// auditLogger is the audit logger over log: the same stream and format,
// each line marked "log":"audit". latch serve writes its audit events
// there, and so do the client, user and keys commands on their local road
// (internal/manage, actor "cli"): an operator who collects the server's
// stderr collects both the same way, and stdout stays the command's
// result for scripts.
func auditLogger(log *slog.Logger) *slog.Logger { return log.With("log", "audit") }

// serve runs Latch with cfg until ctx is cancelled, then shuts down
// gracefully: /readyz turns 503, the public listener stops accepting,
// in-flight requests finish within ShutdownTimeout, the admin listener
// stops, the sweeper is waited for, and the store is closed. A shutdown
// that runs out of time drops the remaining connections and returns an
// error (exit status 1).
func serve(ctx context.Context, e *env, cfg config.Config, hooks serveHooks) (err error) {
	log := newLogger(cfg, e.stderr)
	st, err := openStore(ctx, cfg.DB, cfg.DBMaxConns)
	if err != nil {
		if hooks.listener != nil {
			hooks.listener.Close()
		}
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			log.Error("closing the store", "error", cerr)
			if err == nil {
				err = fmt.Errorf("closing the store: %w", cerr)
			}
			return
		}
		log.Info("stopped: store closed")
	}()
	if hooks.seed != nil {
		if err := hooks.seed(ctx, st); err != nil {
			return err
		}
	}

	// Metrics live in a registry of this run, never the global one.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := server.NewMetrics(reg)
	if err != nil {
		return err
	}
	ist := storemetrics.Instrument(st, metrics)

	audit := auditLogger(log)
	testOnly, err := e2eOptions(cfg, e.getenv) // nil unless built with -tags latch_e2e
	if err != nil {
		return err
	}
	srv, err := app.Assemble(ctx, cfg, ist, log, audit, e.now, hooks.extra,
		append([]func(*server.Options){func(o *server.Options) { o.Metrics, o.Unavailable = metrics, unavailableFor(cfg.DB) }}, testOnly...)...)
	if err != nil {
		return err
	}
	if cfg.Dev {
		// latch dev prints a banner instead; the configuration is for
		// --log-level debug.
		log.Debug("starting", "config", cfg.Redacted())
	} else {
		log.Info("starting", "config", cfg.Redacted())
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests are not cancelled by SIGTERM: shutdown lets them finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln := hooks.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return listenError("addr", cfg.Addr, err)
		}
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

	// The admin listener: probes, metrics, admin API.
	var (
		adm  *admin.Server
		ahs  *http.Server
		aln  net.Listener
		aerr = make(chan error, 1)
	)
	if cfg.AdminAddr != "" {
		// The admin API hashes the passwords of the users it creates; like
		// sign-in's hasher, it returns that memory once it is idle.
		hasher, err := password.NewLimitedHasher(password.Params{Memory: cfg.PasswordMemoryKiB, Iterations: cfg.PasswordIterations, Parallelism: 1},
			password.Limits{Queue: -1, OnIdle: debug.FreeOSMemory})
		if err != nil {
			ln.Close()
			return err
		}
		upstreams, err := app.UpstreamSealer(cfg)
		if err != nil {
			ln.Close()
			return err
		}
		adm, err = admin.New(admin.Options{
			Upstreams: upstreams,
			Store:     srv.Store(), Keys: srv.Keys(), Passwords: hasher, Ready: srv.Ready, Gatherer: reg,
			Token: cfg.AdminToken, Issuer: cfg.Issuer, Logger: log, Audit: audit, Now: e.now,
			MaxFailures: cfg.IPMaxFailures, Window: cfg.ThrottleWindow,
		})
		if err != nil {
			ln.Close()
			return err
		}
		if aln, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("admin-addr: %w (set --admin-addr to another address, or --admin-addr= to disable the admin listener)", err)
		}
		ahs = &http.Server{
			Handler:           adm,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    32 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		go func() { aerr <- ahs.Serve(aln) }()
	}

	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sweep(sweepCtx, ist, cfg.SweepInterval, e.now, log)
	}()
	defer func() {
		stopSweep()
		<-sweepDone // the store is closed only once the sweeper is out of it
	}()
	// Back-channel logouts: every instance delivers from the shared
	// outbox; leases keep two from sending one notification at once.
	bclCtx, stopBCL := context.WithCancel(ctx)
	bclDone := make(chan struct{})
	go func() {
		defer close(bclDone)
		srv.RunBackchannelLogouts(bclCtx, 0)
	}()
	defer func() {
		stopBCL()
		<-bclDone
	}()

	// Automatic key rotation (key-rotation-interval): every instance
	// checks the schedule each key-refresh-interval; the store lets one
	// of them store the next key.
	if cfg.KeyRotationInterval > 0 {
		keysCtx, stopKeys := context.WithCancel(ctx)
		keysDone := make(chan struct{})
		go func() {
			defer close(keysDone)
			srv.Keys().Run(keysCtx)
		}()
		defer func() {
			stopKeys()
			<-keysDone // the store is closed only once the key loop is out of it
		}()
	}

	// Start-up allocated memory it never needs again, above all the
	// argon2id block of the dummy password hash (password-memory-kib,
	// 19 MiB by default). Collect it and hand it back to the OS before
	// serving: otherwise an idle process keeps it, since the next GC only
	// comes once the heap has doubled.
	debug.FreeOSMemory()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "tls", tlsOn)
	if aln != nil {
		api := "enabled"
		if cfg.AdminToken == "" {
			api = "disabled (no admin-token)"
		}
		log.Info("admin listening", "addr", aln.Addr().String(), "admin_api", api)
	}
	if hooks.ready != nil {
		hooks.ready(ln.Addr())
	}
	if hooks.adminReady != nil && aln != nil {
		hooks.adminReady(aln.Addr())
	}
	select {
	case err := <-errc:
		if ahs != nil {
			ahs.Close()
		}
		return err
	case err := <-aerr:
		hs.Close()
		return fmt.Errorf("admin listener: %w", err)
	case <-ctx.Done():
	}

	// Graceful shutdown. Load balancers see /readyz fail first.
	if adm != nil {
		adm.SetDraining()
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close() // out of time: drop what is left
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	if ahs != nil {
		if err := ahs.Shutdown(sctx); err != nil {
			ahs.Close()
		}
		if err := <-aerr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("admin listener: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sweep deletes expired codes, sessions and tokens every interval
// (sweep-interval, default a minute; zero means a minute), in bounded
// batches so no sweep holds the database for long. Safe on every instance
// at once: DeleteExpired only removes rows already expired.
func sweep(ctx context.Context, st store.Store, every time.Duration, now func() time.Time, log *slog.Logger) {
	const batch = 1000
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
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
