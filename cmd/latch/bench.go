package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/latchauth/latch/internal/bench"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

var benchHelp = cmdHelp{
	name:     "bench",
	synopsis: "[--target URL | --spawn] [flags]",
	text: `Load-test an authorization server and report, per workload, operations per
second, p50/p95/p99 latency and errors (any non-success is an error):

  W1   client_credentials grant (client_secret_basic)
  W2   Authorization Code + PKCE S256 for a user with an SSO session:
       GET authorize → 302 with code → POST token with the verifier → check
  W3   refresh_token grant with rotation (each worker uses its newest token)
  W4   introspection of a valid access token
  W5   password login (the login form POST; shows the argon2id cost)
  W6   the verify middleware validating an access token in-process, no cache
  W6C  the same, served from verify's token cache

Without --target, bench spawns Latch itself (--spawn): a child 'latch serve'
on a temporary SQLite database (or --db), with a user and clients seeded
through the store, and reports the server's CPU seconds and peak RSS per
workload. With --target it drives a running server — Latch or another
OpenID provider — whose endpoints come from its discovery document; give the
clients and user by flags. The exit status is 1 when any operation failed.`,
}

// benchFlags are the command line of latch bench.
type benchFlags struct {
	target, db, alg, workloads, jsonFile, htmlFile, cpuProfile, serverLog string
	spawn, inProcess, keep                                                bool
	concurrency, serverPID                                                int
	duration, warmup                                                      time.Duration
	clientID, clientSecret, ccScope, publicID, redirectURI, scope         string
	username, pw                                                          string
}

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == profiledServeCmd {
		return runProfiledServe(ctx, e, args[1:])
	}
	fs := newFlagSet("bench")
	var f benchFlags
	fs.StringVar(&f.target, "target", "", "issuer `URL` of a running server to drive (default: spawn Latch)")
	fs.BoolVar(&f.spawn, "spawn", false, "start Latch on a temporary database (the default without --target)")
	fs.BoolVar(&f.inProcess, "in-process", false, "spawn: run the server inside this process instead of a child (no CPU/RSS figures)")
	fs.StringVar(&f.db, "db", "", "spawn: database, sqlite:PATH or a scratch postgres:// `URL` (default: a temporary SQLite file)")
	fs.StringVar(&f.alg, "alg", token.ES256, "spawn: server signing `algorithm`: ES256, RS256 or EdDSA")
	fs.StringVar(&f.serverLog, "server-log-level", "info", "spawn: server log `level`; its log goes to a file in the temporary directory")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "spawn: write the server's CPU profile of each workload's measured time to `FILE` with the workload inserted (cpu.prof → cpu.W2.prof)")
	fs.BoolVar(&f.keep, "keep", false, "spawn: keep the temporary directory (database, server log)")
	fs.StringVar(&f.workloads, "workloads", "all", "comma-separated `list` of workloads (W1,W2,W3,W4,W5,W6,W6C) or all")
	fs.IntVar(&f.concurrency, "concurrency", 64, "concurrent workers (`N`)")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "measured time per workload")
	fs.DurationVar(&f.warmup, "warmup", 2*time.Second, "unmeasured warm-up per workload")
	fs.StringVar(&f.jsonFile, "json", "", "write the results as JSON to `FILE`")
	fs.StringVar(&f.htmlFile, "html", "", "write a self-contained HTML report with latency histograms to `FILE`")
	fs.StringVar(&f.clientID, "client-id", "", "target: confidential client for W1, W4 and W6 (client_credentials, introspection)")
	fs.StringVar(&f.clientSecret, "client-secret", "", "target: its secret (default $LATCH_BENCH_CLIENT_SECRET)")
	fs.StringVar(&f.ccScope, "cc-scope", "", "target: scope W1 asks for (default: none sent)")
	fs.StringVar(&f.publicID, "public-client-id", "", "target: public client for the code flow with PKCE and refresh tokens (W2, W3, W5)")
	fs.StringVar(&f.redirectURI, "redirect-uri", "", "target: the public client's registered redirect `URI`")
	fs.StringVar(&f.scope, "scope", "openid profile email", "target: scope of the code flow")
	fs.StringVar(&f.username, "username", "", "target: the user who signs in")
	fs.StringVar(&f.pw, "password", "", "target: the user's password (default $LATCH_BENCH_PASSWORD)")
	fs.IntVar(&f.serverPID, "server-pid", 0, "target: `PID` of the server process on this machine, to report its CPU seconds and peak RSS (Linux /proc)")
	pos, err := parseFlags(e, fs, benchHelp, args)
	if err != nil {
		return err
	}
	if err := wantArgs(benchHelp, pos); err != nil {
		return err
	}
	set := setFlags(fs)
	if f.target != "" && (f.spawn || f.inProcess || set["db"] || set["alg"] || f.cpuProfile != "") {
		return usageErrorf("bench: --target drives a running server; --spawn, --in-process, --db, --alg and --cpuprofile are for a spawned one")
	}
	if f.serverPID != 0 && f.target == "" {
		return usageErrorf("bench: --server-pid is for --target (a spawned server is measured anyway)")
	}
	if f.inProcess && f.cpuProfile != "" {
		return usageErrorf("bench: --cpuprofile profiles a child server; drop --in-process")
	}
	if f.concurrency <= 0 || f.duration <= 0 || f.warmup < 0 {
		return usageErrorf("bench: --concurrency and --duration must be positive, --warmup not negative")
	}
	workloads, err := bench.SelectWorkloads(strings.Split(f.workloads, ","))
	if err != nil {
		return usageErrorf("bench: %v", err)
	}
	if f.clientSecret == "" {
		f.clientSecret = e.getenv("LATCH_BENCH_CLIENT_SECRET")
	}
	if f.pw == "" {
		f.pw = e.getenv("LATCH_BENCH_PASSWORD")
	}

	rep := &bench.Report{
		Date: e.now(), Command: benchCommandLine(args), Concurrency: f.concurrency,
		Duration: f.duration.String(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		CPUs: runtime.NumCPU(), CPUModel: bench.CPUModel(),
	}
	if f.warmup > 0 {
		rep.Warmup = f.warmup.String()
	}
	rep.LoadBefore, _ = bench.LoadAverage()
	tr := bench.NewTransport(f.concurrency)
	defer tr.CloseIdleConnections()
	opts := bench.Options{
		Transport: tr, Concurrency: f.concurrency, Duration: f.duration, Warmup: f.warmup,
		Progress: bench.NewProgress(e.stdout, isTerminal(e.stdout)),
	}
	if f.target != "" {
		opts.Target = bench.Target{
			ClientID: f.clientID, ClientSecret: f.clientSecret, CCScope: f.ccScope,
			PublicClientID: f.publicID, RedirectURI: f.redirectURI, Scope: f.scope,
			Username: f.username, Password: f.pw,
		}
		if err := opts.Target.Discover(ctx, &http.Client{Transport: tr}, f.target); err != nil {
			return err
		}
		rep.Server, rep.Issuer = "running server at "+f.target, opts.Target.Issuer
		opts.Client = bench.ProcSampler{PID: os.Getpid()}
		if f.serverPID > 0 {
			sp := bench.ProcSampler{PID: f.serverPID}
			u, err := sp.Sample()
			if err != nil {
				return fmt.Errorf("bench: --server-pid %d: %w", f.serverPID, err)
			}
			opts.Server, rep.IdleRSSBytes = sp, u.RSSBytes
		}
		return finishBench(ctx, e, f, rep, opts, workloads)
	}

	srv, err := spawnLatch(ctx, e, f, tr)
	if err != nil {
		return err
	}
	defer srv.stop(e)
	opts.Target, opts.Server = srv.target, srv.sampler
	opts.Client = bench.ProcSampler{PID: os.Getpid()}
	if f.cpuProfile != "" {
		opts.Measure = func(w bench.Workload, start bool) {
			if err := srv.profile(profilePath(f.cpuProfile, w.ID), start); err != nil {
				fmt.Fprintf(e.stderr, "latch bench: profiling %s: %v\n", w.ID, err)
			}
		}
	}
	rep.Server, rep.Issuer, rep.Alg, rep.Store = srv.describe, srv.target.Issuer, f.alg, srv.store
	if srv.sampler != nil {
		if u, err := srv.sampler.Sample(); err == nil {
			rep.IdleRSSBytes = u.RSSBytes
		}
	}
	fmt.Fprintf(e.stdout, "%s at %s\n", srv.describe, srv.target.Issuer)
	return finishBench(ctx, e, f, rep, opts, workloads)
}

// finishBench runs the workloads and writes the table and the files.
func finishBench(ctx context.Context, e *env, f benchFlags, rep *bench.Report, opts bench.Options, workloads []bench.Workload) error {
	results, runErr := bench.Run(ctx, opts, workloads)
	rep.Results = results
	rep.LoadAfter, _ = bench.LoadAverage()
	fmt.Fprintln(e.stdout)
	if err := rep.WriteText(e.stdout); err != nil {
		return err
	}
	if f.jsonFile != "" {
		if err := writeFileWith(f.jsonFile, rep.WriteJSON); err != nil {
			return err
		}
	}
	if f.htmlFile != "" {
		if err := writeFileWith(f.htmlFile, rep.WriteHTML); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	var failed []string
	for _, r := range results {
		if r.Errors > 0 || r.Skipped != "" {
			failed = append(failed, r.ID)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench: errors or skipped workloads: %s", strings.Join(failed, ", "))
	}
	return nil
}

func writeFileWith(path string, write func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		fh.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return fh.Close()
}

// benchCommandLine is the command for the report, secrets masked.
func benchCommandLine(args []string) string {
	out := []string{"latch", "bench"}
	mask := false
	for _, a := range args {
		switch {
		case mask:
			a, mask = "REDACTED", false
		case a == "--client-secret" || a == "-client-secret" || a == "--password" || a == "-password":
			mask = true
		case strings.HasPrefix(a, "--client-secret=") || strings.HasPrefix(a, "--password=") ||
			strings.HasPrefix(a, "-client-secret=") || strings.HasPrefix(a, "-password="):
			k, _, _ := strings.Cut(a, "=")
			a = k + "=REDACTED"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// --- spawning Latch -------------------------------------------------------

// Seeded records of a spawned server.
const (
	benchRedirectURI = "https://app.bench.test/callback"
	benchAudience    = "https://api.bench.test"
	benchCCScope     = "api:read"
	benchScope       = "openid profile email"
)

// spawned is a Latch started by bench.
type spawned struct {
	target   bench.Target
	sampler  bench.Sampler // nil in process
	describe string
	store    string
	dir      string
	keep     bool
	cmd      *exec.Cmd
	control  string     // profiled child: the file naming the next profile
	exited   chan error // the child's Wait result
	cancel   context.CancelFunc
	done     chan error // the in-process server's result
}

// spawnLatch seeds a database and starts Latch on it, as a child process
// (default) or in this process, and waits until it answers.
func spawnLatch(ctx context.Context, e *env, f benchFlags, tr http.RoundTripper) (_ *spawned, err error) {
	dir, err := os.MkdirTemp("", "latch-bench-")
	if err != nil {
		return nil, err
	}
	s := &spawned{dir: dir, keep: f.keep}
	defer func() {
		if err != nil {
			s.stop(e)
		}
	}()
	cfg, _, err := config.Load(config.Default(), nil, nil, e.getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg.DB = f.db
	if cfg.DB == "" {
		cfg.DB = sqlitePrefix + filepath.Join(dir, "latch.db")
	}
	s.store = strings.SplitN(cfg.DB, ":", 2)[0]
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	cfg.Addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	cfg.AdminAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	cfg.Issuer = "http://" + cfg.Addr
	cfg.KeyEncryptionSecret = rand.Text() + rand.Text()
	cfg.SigningAlg = f.alg
	cfg.LogLevel = f.serverLog
	cfg.LogFormat = "json"
	if err := config.Err(cfg.Validate()); err != nil {
		return nil, err
	}
	if s.target, err = seedBench(ctx, e, cfg); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	if f.inProcess {
		s.describe = fmt.Sprintf("latch (spawned in process, %s, %s)", s.store, f.alg)
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.cancel, s.done = cancel, make(chan error, 1)
		se := &env{getenv: e.getenv, stdin: strings.NewReader(""), stdout: io.Discard, stderr: logFile, now: e.now}
		go func() { s.done <- serve(sctx, se, cfg, serveHooks{}) }()
	} else {
		s.describe = fmt.Sprintf("latch (spawned child process, %s, %s)", s.store, f.alg)
		if err := s.startChild(cfg, f.cpuProfile, logFile); err != nil {
			return nil, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := bench.WaitReady(wctx, &http.Client{Transport: tr}, cfg.Issuer, s.alive); err != nil {
		return nil, fmt.Errorf("spawned server: %w (log: %s)", err, logFile.Name())
	}
	if err := s.target.Discover(ctx, &http.Client{Transport: tr}, cfg.Issuer); err != nil {
		return nil, err
	}
	return s, nil
}

// startChild runs `latch serve` (or, to write a CPU profile, the same
// server under `latch bench serve-profiled`) with cfg. The secret travels
// in the environment, not on the command line.
func (s *spawned) startChild(cfg config.Config, cpuProfile string, log *os.File) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"serve"}
	if cpuProfile != "" {
		s.control = filepath.Join(s.dir, "cpuprofile.next")
		args = []string{"bench", profiledServeCmd, "--control", s.control}
	}
	args = append(args,
		"--addr", cfg.Addr, "--admin-addr", cfg.AdminAddr, "--issuer", cfg.Issuer, "--db", cfg.DB,
		"--signing-alg", cfg.SigningAlg, "--log-level", cfg.LogLevel, "--log-format", cfg.LogFormat)
	s.cmd = exec.Command(exe, args...)
	s.cmd.Env = append(os.Environ(), config.EnvName("key-encryption-secret")+"="+cfg.KeyEncryptionSecret)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.Dir = s.dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", exe, err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	s.sampler = bench.ProcSampler{PID: s.cmd.Process.Pid}
	return nil
}

// profile starts (start) or stops the profiled child's CPU profile:
// the path goes into the control file, then SIGUSR1 starts and SIGUSR2
// stops. Signals are asynchronous: the profile may begin a few
// milliseconds late.
func (s *spawned) profile(path string, start bool) error {
	if s.cmd == nil || s.control == "" {
		return errors.New("no profiled child")
	}
	if !start {
		return s.cmd.Process.Signal(syscall.SIGUSR2)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.control, []byte(abs), 0o600); err != nil {
		return err
	}
	return s.cmd.Process.Signal(syscall.SIGUSR1)
}

// profilePath inserts the workload before the extension: cpu.prof →
// cpu.W2.prof.
func profilePath(base, id string) string {
	ext := filepath.Ext(base)
	return strings.TrimSuffix(base, ext) + "." + id + ext
}

// alive reports an error once the server has stopped.
func (s *spawned) alive() error {
	select {
	case err := <-s.exited:
		s.exited <- err
		return fmt.Errorf("the server exited: %v", err)
	case err := <-s.done:
		s.done <- err
		return fmt.Errorf("the server stopped: %v", err)
	default:
		return nil
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 20 s) and removes
// the temporary directory unless --keep.
func (s *spawned) stop(e *env) {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.cmd = nil
	}
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.cancel = nil
	}
	if s.keep {
		fmt.Fprintf(e.stderr, "latch bench: kept %s\n", s.dir)
	} else if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1 (they could be
// taken again before the server binds them; unlikely on a test machine).
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// seedBench creates the bench user and clients through the store, with
// random suffixes so that a scratch PostgreSQL database can be reused, and
// returns the target description of them.
func seedBench(ctx context.Context, e *env, cfg config.Config) (bench.Target, error) {
	suffix := strings.ToLower(rand.Text()[:8])
	t := bench.Target{
		ClientID: "bench-service-" + suffix, ClientSecret: token.NewOpaque(), CCScope: benchCCScope,
		PublicClientID: "bench-spa-" + suffix, RedirectURI: benchRedirectURI, Scope: benchScope,
		Username: "bench-" + suffix, Password: rand.Text(),
	}
	err := withStore(ctx, cfg.DB, cfg.DBMaxConns, func(st store.Store) error {
		now := e.now()
		hash, err := password.Hash(t.Password, password.Params{Memory: cfg.PasswordMemoryKiB, Iterations: cfg.PasswordIterations, Parallelism: 1})
		if err != nil {
			return err
		}
		if err := st.CreateUser(ctx, store.User{
			ID: newUserID(), Username: t.Username, Email: t.Username + "@bench.test", EmailVerified: true,
			Name: "Bench User", PasswordHash: hash, CreatedAt: now,
		}); err != nil {
			return err
		}
		if err := st.CreateClient(ctx, store.Client{
			ID: t.ClientID, SecretHash: token.Hash(t.ClientSecret), Name: "Bench Service",
			GrantTypes: []string{"client_credentials"}, Scopes: []string{benchCCScope},
			Audiences: []string{benchAudience}, ResourceServer: true, CreatedAt: now, // W4 introspects user tokens
		}); err != nil {
			return err
		}
		return st.CreateClient(ctx, store.Client{
			ID: t.PublicClientID, Public: true, FirstParty: true, Name: "Bench SPA",
			RedirectURIs: []string{benchRedirectURI},
			GrantTypes:   []string{"authorization_code", "refresh_token"}, CreatedAt: now,
		})
	})
	if err != nil {
		return bench.Target{}, fmt.Errorf("seeding the bench database: %w", err)
	}
	return t, nil
}

// --- the profiled child ---------------------------------------------------

// profiledServeCmd is the hidden mode bench runs its child in when asked
// for CPU profiles: exactly `latch serve`, plus a CPU profile between
// SIGUSR1 (written to the path named in the --control file) and SIGUSR2.
const profiledServeCmd = "serve-profiled"

func runProfiledServe(ctx context.Context, e *env, args []string) error {
	if len(args) < 2 || args[0] != "--control" {
		return usageErrorf("bench %s: want --control FILE [serve flags]", profiledServeCmd)
	}
	control := args[1]
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	var mu sync.Mutex // guards out
	var out *os.File
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		if out != nil {
			pprof.StopCPUProfile()
			out.Close()
			out = nil
		}
	}
	defer stop()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-pctx.Done():
				return
			case sig := <-sigs:
				stop()
				if sig != syscall.SIGUSR1 {
					continue
				}
				mu.Lock()
				path, err := os.ReadFile(control)
				if err == nil {
					out, err = os.Create(strings.TrimSpace(string(path)))
				}
				if err == nil {
					if err = pprof.StartCPUProfile(out); err != nil {
						out.Close()
						out = nil
					}
				}
				mu.Unlock()
				if err != nil {
					fmt.Fprintf(e.stderr, "latch bench: cpu profile: %v\n", err)
				}
			}
		}
	}()
	err := runServe(ctx, e, args[2:])
	cancel()
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
