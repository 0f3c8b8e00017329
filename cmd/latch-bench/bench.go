package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/latchauth/latch/internal/bench"
	"github.com/latchauth/latch/internal/config"
)

// Environment variables latch-bench reads a target's secrets from.
const (
	benchClientSecretEnv = "LATCH_BENCH_CLIENT_SECRET"
	benchPasswordEnv     = "LATCH_BENCH_PASSWORD"
)

// idleSettle is how long the spawned server has had nothing to do when its
// idle RSS is sampled.
const idleSettle = 2 * time.Second

// benchUsage is what -h prints above the flags.
const benchUsage = `Usage: latch-bench [--target URL | --spawn [--latch PATH]] [flags]

Load-test an authorization server and report, per workload, operations per
second, p50/p95/p99 latency and errors (any non-success is an error):

  W1   client_credentials grant (client_secret_basic)
  W2   Authorization Code + PKCE S256 for a user with an SSO session:
       GET authorize → 302 with code → POST token with the verifier → check
  W3   refresh_token grant with rotation (each worker uses its newest token)
  W4   introspection of a valid access token
  W5   password login (the login form POST; shows the argon2id cost)
  W6   the verify middleware validating an access token in-process, no cache
  W6C  the same, served from verify's token cache

Without --target, latch-bench spawns Latch itself (--spawn): a child
'latch serve' (the binary named by --latch; default: the latch next to
latch-bench, else on $PATH) on a temporary SQLite database (or --db), with a
user and clients seeded through its admin API, and reports the server's CPU
seconds and peak RSS per workload. With --target it drives a running server
— Latch or another OpenID provider — whose endpoints come from its discovery
document; give the clients and user by flags. The exit status is 1 when any
operation failed.`

// benchFlags are the command line of latch-bench.
type benchFlags struct {
	target, db, alg, workloads, jsonFile, htmlFile, cpuProfile, serverLog string
	latch                                                                 string
	spawn, keep                                                           bool
	concurrency, serverPID, seedGrants, seedUsers                         int
	duration, warmup                                                      time.Duration
	clientID, clientSecret, ccScope, publicID, redirectURI, scope         string
	clientSecretFile, pwFile                                              string
	username, pw                                                          string
}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("latch-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f benchFlags
	fs.StringVar(&f.target, "target", "", "issuer `URL` of a running server to drive (default: spawn Latch)")
	fs.BoolVar(&f.spawn, "spawn", false, "start Latch on a temporary database (the default without --target)")
	fs.StringVar(&f.latch, "latch", "", "spawn: the latch `binary` to run (default: latch next to latch-bench, else on $PATH)")
	fs.StringVar(&f.db, "db", "", "spawn: database, sqlite:PATH or a scratch postgres:// `URL` (default: a temporary SQLite file)")
	fs.StringVar(&f.alg, "alg", "ES256", "spawn: server signing `algorithm`: ES256, RS256 or EdDSA")
	fs.StringVar(&f.serverLog, "server-log-level", "info", "spawn: server log `level`; its log goes to a file in the temporary directory")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "spawn: write the server's CPU profile of each workload's measured time to `FILE` with the workload inserted (cpu.prof → cpu.W2.prof); needs a latch built with -tags latchprofile")
	fs.BoolVar(&f.keep, "keep", false, "spawn: keep the temporary directory (database, server log)")
	fs.IntVar(&f.seedGrants, "seed-grants", 0, "spawn: before measuring, bulk-insert `N` live grants, each with a live refresh token, straight into the database")
	fs.IntVar(&f.seedUsers, "seed-users", 0, "spawn: the `N` users the seeded grants belong to (default: seed-grants/10)")
	fs.StringVar(&f.workloads, "workloads", "all", "comma-separated `list` of workloads (W1,W2,W3,W4,W5,W6,W6C) or all")
	fs.IntVar(&f.concurrency, "concurrency", 64, "concurrent workers (`N`)")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "measured time per workload")
	fs.DurationVar(&f.warmup, "warmup", 2*time.Second, "unmeasured warm-up per workload")
	fs.StringVar(&f.jsonFile, "json", "", "write the results as JSON to `FILE`")
	fs.StringVar(&f.htmlFile, "html", "", "write a self-contained HTML report with latency histograms to `FILE`")
	fs.StringVar(&f.clientID, "client-id", "", "target: confidential client for W1, W4 and W6 (client_credentials, introspection)")
	fs.StringVar(&f.clientSecret, "client-secret", "", "target: its secret (default $"+benchClientSecretEnv+"; prefer that or --client-secret-file: a flag shows in ps)")
	fs.StringVar(&f.clientSecretFile, "client-secret-file", "", "target: `file` holding its secret")
	fs.StringVar(&f.ccScope, "cc-scope", "", "target: scope W1 asks for (default: none sent)")
	fs.StringVar(&f.publicID, "public-client-id", "", "target: public client for the code flow with PKCE and refresh tokens (W2, W3, W5)")
	fs.StringVar(&f.redirectURI, "redirect-uri", "", "target: the public client's registered redirect `URI`")
	fs.StringVar(&f.scope, "scope", "openid profile email", "target: scope of the code flow")
	fs.StringVar(&f.username, "username", "", "target: the user who signs in")
	fs.StringVar(&f.pw, "password", "", "target: the user's password (default $"+benchPasswordEnv+"; prefer that or --password-file: a flag shows in ps)")
	fs.StringVar(&f.pwFile, "password-file", "", "target: `file` holding the user's password")
	fs.IntVar(&f.serverPID, "server-pid", 0, "target: `PID` of the server process on this machine, to report its CPU seconds and peak RSS (Linux /proc)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(e.stdout, "%s\n\nFlags:\n", benchUsage)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			return flag.ErrHelp
		}
		return usageErrorf("%v (see 'latch-bench -h')", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, s := range []struct{ flag, env string }{{"client-secret", benchClientSecretEnv}, {"password", benchPasswordEnv}} {
		if set[s.flag] {
			fmt.Fprintf(e.stderr, "latch-bench: warning: --%s on the command line is visible to other local users (ps) and in shell history; use --%s-file or $%s\n", s.flag, s.flag, s.env)
		}
	}
	if f.target != "" && (f.spawn || set["latch"] || set["db"] || set["alg"] || f.cpuProfile != "" || f.seedGrants != 0 || f.seedUsers != 0) {
		return usageErrorf("--target drives a running server; --spawn, --latch, --db, --alg, --cpuprofile and --seed-grants/--seed-users are for a spawned one")
	}
	if f.seedGrants < 0 || f.seedUsers < 0 || (f.seedUsers > 0 && f.seedGrants == 0) {
		return usageErrorf("--seed-grants and --seed-users must not be negative, and --seed-users needs --seed-grants")
	}
	if f.serverPID != 0 && f.target == "" {
		return usageErrorf("--server-pid is for --target (a spawned server is measured anyway)")
	}
	if f.concurrency <= 0 || f.duration <= 0 || f.warmup < 0 {
		return usageErrorf("--concurrency and --duration must be positive, --warmup not negative")
	}
	workloads, err := bench.SelectWorkloads(strings.Split(f.workloads, ","))
	if err != nil {
		return usageErrorf("%v", err)
	}
	for _, s := range []struct {
		flag, file, env string
		v               *string
	}{
		{"client-secret", f.clientSecretFile, benchClientSecretEnv, &f.clientSecret},
		{"password", f.pwFile, benchPasswordEnv, &f.pw},
	} {
		switch {
		case s.file != "" && *s.v != "":
			return usageErrorf("bench: give --%s or --%s-file, not both", s.flag, s.flag)
		case s.file != "":
			v, err := config.ReadSecretFile(s.file)
			if err != nil {
				return fmt.Errorf("bench: --%s-file: %w", s.flag, err)
			}
			*s.v = v
		case *s.v == "":
			*s.v = e.getenv(s.env)
		}
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
				return fmt.Errorf("--server-pid %d: %w", f.serverPID, err)
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
				fmt.Fprintf(e.stderr, "latch-bench: profiling %s: %v\n", w.ID, err)
			}
		}
	}
	rep.Server, rep.Issuer, rep.Alg, rep.Store = srv.describe, srv.target.Issuer, f.alg, srv.store
	if srv.sampler != nil {
		// Idle means idle: the set-up's sign-in hashed a password, and a
		// Latch hands that memory back once it has hashed nothing for a
		// second (password.IdleAfter).
		time.Sleep(idleSettle)
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
		return fmt.Errorf("errors or skipped workloads: %s", strings.Join(failed, ", "))
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
	out := []string{"latch-bench"}
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

// spawned is a Latch child process started by latch-bench.
type spawned struct {
	target   bench.Target
	sampler  bench.Sampler
	describe string
	store    string
	dir      string
	keep     bool
	cmd      *exec.Cmd
	control  string     // profiled child: the file naming the next profile
	exited   chan error // the child's Wait result
}

// childConfig is the spawned server's configuration: the flags of
// `latch serve` and the two secrets, which travel in the environment
// (LATCH_* variables, see internal/config), never on the command line.
type childConfig struct {
	addr, adminAddr, issuer, db, alg, logLevel string
	keySecret, adminToken                      string
}

// spawnLatch starts the latch binary as a child `latch serve` on a
// temporary SQLite file (or f.db), waits until it answers, and seeds the
// bench user and clients through its admin API.
func spawnLatch(ctx context.Context, e *env, f benchFlags, tr http.RoundTripper) (_ *spawned, err error) {
	exe, err := latchBinary(f.latch)
	if err != nil {
		return nil, err
	}
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
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	cfg := childConfig{
		addr:      fmt.Sprintf("127.0.0.1:%d", ports[0]),
		adminAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		db:        f.db, alg: f.alg, logLevel: f.serverLog,
		keySecret: rand.Text() + rand.Text(), adminToken: rand.Text() + rand.Text(),
	}
	cfg.issuer = "http://" + cfg.addr
	if cfg.db == "" {
		cfg.db = "sqlite:" + filepath.Join(dir, "latch.db")
	}
	s.store, _, _ = strings.Cut(cfg.db, ":")
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	s.describe = fmt.Sprintf("latch (spawned child process, %s, %s)", s.store, f.alg)
	if err := s.startChild(exe, cfg, f.cpuProfile, logFile); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := bench.WaitReady(wctx, &http.Client{Transport: tr}, cfg.issuer, s.alive); err != nil {
		hint := ""
		if f.cpuProfile != "" {
			hint = "; --cpuprofile needs a latch built with -tags latchprofile"
		}
		return nil, fmt.Errorf("spawned server: %w (log: %s)%s", err, logFile.Name(), hint)
	}
	if s.target, err = seedBench(ctx, &http.Client{Transport: tr}, cfg); err != nil {
		return nil, fmt.Errorf("%w (log: %s)", err, logFile.Name())
	}
	if f.seedGrants > 0 {
		users := f.seedUsers
		if users <= 0 {
			users = max(f.seedGrants/10, 1)
		}
		start := e.now()
		if err := seedData(ctx, cfg.db, s.target.PublicClientID, users, f.seedGrants, start); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stdout, "seeded %d users and %d live grants with their refresh tokens in %.1f s\n", users, f.seedGrants, e.now().Sub(start).Seconds())
	}
	if err := s.target.Discover(ctx, &http.Client{Transport: tr}, cfg.issuer); err != nil {
		return nil, err
	}
	return s, nil
}

// latchBinary returns the latch executable to spawn: flag when given,
// else the latch next to this executable (go build -o bin/ ./cmd/...),
// else latch on $PATH.
func latchBinary(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if self, err := os.Executable(); err == nil {
		sibling := filepath.Join(filepath.Dir(self), "latch")
		if st, err := os.Stat(sibling); err == nil && st.Mode().IsRegular() {
			return sibling, nil
		}
	}
	if p, err := exec.LookPath("latch"); err == nil {
		return p, nil
	}
	return "", usageErrorf("no latch binary to spawn: pass --latch PATH, or build both with 'go build -o bin/ ./cmd/latch ./cmd/latch-bench'")
}

// startChild runs `latch serve` (or, to write a CPU profile, the same
// server under the hidden `latch serve-profiled` of a latch built with
// -tags latchprofile) with cfg.
func (s *spawned) startChild(exe string, cfg childConfig, cpuProfile string, log *os.File) error {
	args := []string{"serve"}
	if cpuProfile != "" {
		s.control = filepath.Join(s.dir, "cpuprofile.next")
		args = []string{"serve-profiled", "--control", s.control}
	}
	args = append(args,
		"--addr", cfg.addr, "--admin-addr", cfg.adminAddr, "--issuer", cfg.issuer, "--db", cfg.db,
		"--signing-alg", cfg.alg, "--log-level", cfg.logLevel, "--log-format", "json")
	s.cmd = exec.Command(exe, args...)
	s.cmd.Env = append(os.Environ(),
		"LATCH_KEY_ENCRYPTION_SECRET="+cfg.keySecret,
		"LATCH_ADMIN_TOKEN="+cfg.adminToken)
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
	if s.keep {
		fmt.Fprintf(e.stderr, "latch-bench: kept %s\n", s.dir)
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

// seedBench creates the bench user and clients through the admin API,
// as an operator would, with random suffixes so that a scratch PostgreSQL
// database can be reused, and returns the target description of them.
func seedBench(ctx context.Context, c *http.Client, cfg childConfig) (bench.Target, error) {
	suffix := strings.ToLower(rand.Text()[:8])
	t := bench.Target{
		ClientID: "bench-service-" + suffix, CCScope: benchCCScope,
		PublicClientID: "bench-spa-" + suffix, RedirectURI: benchRedirectURI, Scope: benchScope,
		Username: "bench-" + suffix, Password: rand.Text(),
	}
	admin := func(path string, body, out any) error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+cfg.adminAddr+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+cfg.adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(rb))
		}
		if out != nil {
			return json.Unmarshal(rb, out)
		}
		return nil
	}
	err := admin("/admin/users", map[string]any{
		"username": t.Username, "password": t.Password, "email": t.Username + "@bench.test",
		"email_verified": true, "name": "Bench User",
	}, nil)
	if err == nil {
		var created struct {
			Secret string `json:"client_secret"`
		}
		err = admin("/admin/clients", map[string]any{
			"client_id": t.ClientID, "client_type": "confidential", "client_name": "Bench Service",
			"grant_types": []string{"client_credentials"}, "scopes": []string{benchCCScope},
			"audiences": []string{benchAudience}, "resource_server": true, // W4 introspects user tokens
		}, &created)
		t.ClientSecret = created.Secret
	}
	if err == nil && t.ClientSecret == "" {
		err = errors.New("the admin API returned no client_secret")
	}
	if err == nil {
		err = admin("/admin/clients", map[string]any{
			"client_id": t.PublicClientID, "client_type": "public", "client_name": "Bench SPA",
			"first_party": true, "redirect_uris": []string{benchRedirectURI},
			"grant_types": []string{"authorization_code", "refresh_token"},
		}, nil)
	}
	if err != nil {
		return bench.Target{}, fmt.Errorf("seeding the bench server: %w", err)
	}
	return t, nil
}
