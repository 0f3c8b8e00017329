package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store/sqlite"
)

// buildLatch compiles this command into a temporary directory.
func buildLatch(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latch")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running `latch serve` whose JSON log is parsed as it comes.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []map[string]any
	raw    strings.Builder
	exited chan struct{}
	err    error // from Wait, once exited is closed
	newLn  chan struct{}
}

func startLatch(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{}), newLn: make(chan struct{}, 1)}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			_ = json.Unmarshal(sc.Bytes(), &m)
			p.mu.Lock()
			p.raw.WriteString(sc.Text() + "\n")
			if m != nil {
				p.lines = append(p.lines, m)
			}
			p.mu.Unlock()
			select {
			case p.newLn <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		<-readDone
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitFor returns the first log line with msg, waiting until the deadline.
func (p *process) waitFor(t *testing.T, msg string, deadline time.Duration) map[string]any {
	t.Helper()
	timeout := time.After(deadline)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if l["msg"] == msg {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.newLn:
		case <-p.exited:
			t.Fatalf("latch exited (%v) before logging %q:\n%s", p.err, msg, p.log())
		case <-timeout:
			t.Fatalf("latch did not log %q within %s:\n%s", msg, deadline, p.log())
		}
	}
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

func (p *process) logLines() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.lines...)
}

// outcome is what the client saw for one request.
type outcome struct {
	id               string
	status           int
	err              error
	endedAfterSignal bool // the client saw the outcome after SIGTERM was sent
}

// TestGracefulShutdownUnderLoad starts the real binary, drives concurrent
// client_credentials token requests and discovery fetches, sends SIGTERM
// in the middle and checks, using the request ids the server logged:
//   - every request the server accepted (logged) got its 200 response to
//     the client: none was cut off, none failed with a 5xx;
//   - every request that failed at the connection level was never seen by
//     the server (refused or closed before it was read) and was sent
//     after SIGTERM;
//   - the process exits 0 within the shutdown timeout and closes the
//     store (the SQLite WAL is checkpointed away; the file reopens).
func TestGracefulShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildLatch(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "latch.db")
	db := "sqlite:" + dbPath

	// A confidential machine client, created with the CLI itself.
	h := newHarness(t)
	if r := h.exec("", "migrate", "--db", db); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	out := h.exec("", "client", "create", "--id", "svc", "--confidential", "--grant-type", "client_credentials", "--db", db)
	var created struct {
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &created); err != nil || created.Secret == "" {
		t.Fatalf("client create: %v %+v", err, out)
	}

	const shutdownTimeout = 10 * time.Second
	p := startLatch(t, bin,
		"--db", db, "--issuer", "http://localhost:8080", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--key-encryption-secret", testSecret, "--signing-alg", "ES256", "--log-format", "json",
		"--trusted-proxies", "127.0.0.0/8", // so the load's X-Request-Id reaches the access log
		"--shutdown-timeout", shutdownTimeout.String(),
	)
	addr := p.waitFor(t, "listening", 30*time.Second)["addr"].(string)
	adminAddr := p.waitFor(t, "admin listening", 5*time.Second)["addr"].(string)
	base := "http://" + addr

	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	if resp, err := client.Get("http://" + adminAddr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz before the load: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	const workers = 8
	var (
		signalled atomic.Bool
		gate      sync.RWMutex // write-locked: the load is paused
		okCount   atomic.Int64
		mu        sync.Mutex
		outcomes  []outcome
		wg        sync.WaitGroup
	)
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				gate.RLock() // blocks while the load is paused
				gate.RUnlock()
				o := outcome{id: fmt.Sprintf("load-%d-%d", w, n)}
				var req *http.Request
				if n%2 == 0 {
					req, _ = http.NewRequest(http.MethodPost, base+"/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("svc", created.Secret)
				} else {
					req, _ = http.NewRequest(http.MethodGet, base+"/.well-known/openid-configuration", nil)
				}
				req.Header.Set("X-Request-Id", o.id)
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					o.status = resp.StatusCode
					if err == nil && o.status == 200 {
						okCount.Add(1)
					}
				}
				o.err = err
				o.endedAfterSignal = signalled.Load()
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if err != nil && signalled.Load() {
					// Refused or closed after SIGTERM: the server is going.
					// Keep trying until the port is closed for good.
					if isRefused(err) {
						return
					}
				}
				select {
				case <-p.exited:
					return
				default:
				}
			}
		}()
	}

	// SIGTERM once the load is well under way.
	deadline := time.After(60 * time.Second)
	for okCount.Load() < 400 {
		select {
		case <-p.newLn:
		case <-deadline:
			t.Fatalf("only %d requests succeeded in 60s", okCount.Load())
		case <-p.exited:
			t.Fatalf("latch exited early: %v\n%s", p.err, p.log())
		}
	}
	// Requests in flight at SIGTERM, deterministically: token requests
	// whose body is still being sent. The server has read their headers
	// (the in-flight gauge counts them, with the load paused) and must let
	// them finish.
	gate.Lock()
	const slow = 3
	type slowReq struct {
		w    *io.PipeWriter
		done chan outcome
	}
	var slows []slowReq
	for i := range slow {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, base+"/token", pr)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Request-Id", fmt.Sprintf("load-slow-%d", i))
		req.SetBasicAuth("svc", created.Secret)
		sr := slowReq{w: pw, done: make(chan outcome, 1)}
		go func() {
			o := outcome{id: req.Header.Get("X-Request-Id")}
			resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				o.status = resp.StatusCode
			}
			o.err = err
			o.endedAfterSignal = signalled.Load()
			sr.done <- o
		}()
		io.WriteString(pw, "grant_type=")
		slows = append(slows, sr)
	}
	// Let the pause take hold: once only the slow requests are in flight,
	// resume the load and send SIGTERM into it.
	waitInFlight(t, "http://"+adminAddr+"/metrics", slow)
	gate.Unlock()
	for n := okCount.Load(); okCount.Load() < n+50; {
		select {
		case <-p.newLn: // each request logs a line
		case <-deadline:
			t.Fatal("the load did not resume")
		}
	}

	signalled.Store(true)
	sigAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "shutting down", 5*time.Second)
	for _, sr := range slows {
		io.WriteString(sr.w, "client_credentials")
		sr.w.Close()
	}
	for _, sr := range slows {
		o := <-sr.done
		if o.err != nil || o.status != 200 {
			t.Errorf("%s, in flight at SIGTERM: status %d, error %v; want 200", o.id, o.status, o.err)
		}
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
	}
	select {
	case <-p.exited:
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("latch did not exit within %s of SIGTERM", shutdownTimeout+5*time.Second)
	}
	exitAfter := time.Since(sigAt)
	wg.Wait()

	if p.err != nil {
		t.Errorf("latch exited with %v, want status 0:\n%s", p.err, tail(p.log(), 20))
	}

	// What the server handled, by request id.
	served := map[string]float64{}
	shuttingDown, stopped := false, false
	afterShutdownLogged := 0
	for _, l := range p.logLines() {
		switch l["msg"] {
		case "shutting down":
			shuttingDown = true
		case "stopped: store closed":
			stopped = true
		case "request":
			id, _ := l["request_id"].(string)
			if strings.HasPrefix(id, "load-") {
				served[id] = l["status"].(float64)
				if shuttingDown {
					afterShutdownLogged++
				}
			}
		}
	}
	if !shuttingDown || !stopped {
		t.Errorf("log lacks shutting down (%v) or stopped: store closed (%v)", shuttingDown, stopped)
	}

	var ok, refusedOrClosed int
	seen := map[string]bool{}
	for _, o := range outcomes {
		seen[o.id] = true
		status, wasServed := served[o.id]
		switch {
		case o.err == nil && o.status != 200:
			t.Errorf("%s: status %d, want 200", o.id, o.status)
		case o.err == nil:
			ok++
			if !wasServed {
				t.Errorf("%s: 200 at the client but not in the server's access log", o.id)
			}
		case wasServed:
			t.Errorf("%s: accepted by the server (logged %v) but the client got %v", o.id, status, o.err)
		case !o.endedAfterSignal:
			t.Errorf("%s: connection error before shutdown: %v", o.id, o.err)
		case !isConnClosed(o.err):
			t.Errorf("%s: unexpected error during shutdown: %v", o.id, o.err)
		default:
			refusedOrClosed++
		}
	}
	for id, status := range served {
		if !seen[id] {
			t.Errorf("%s: served (status %v) but the client never recorded it", id, status)
		}
		if status >= 500 {
			t.Errorf("%s: server logged status %v", id, status)
		}
	}
	t.Logf("%d requests OK, %d refused/closed before being read; %d completed after shutdown began; exit %s after SIGTERM",
		ok, refusedOrClosed, afterShutdownLogged, exitAfter.Round(time.Millisecond))

	// The store was closed: the WAL was checkpointed into the database
	// and removed, and the file opens again.
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("%s-wal holds %d bytes after exit: the store was not closed", dbPath, fi.Size())
	}
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("reopening the database: %v", err)
	}
	defer st.Close()
	if _, err := st.GetClient(t.Context(), "svc"); err != nil {
		t.Errorf("reading the reopened database: %v", err)
	}
}

// waitInFlight polls the metrics until exactly n requests are in flight
// on the public listener.
func waitInFlight(t *testing.T, metricsURL string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	want := fmt.Sprintf("latch_http_requests_in_flight %d", n)
	for {
		resp, err := http.Get(metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if line == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %d requests in flight after 10s", n)
		}
		runtime.Gosched()
	}
}

// isRefused: nobody listens any more (the listener is closed).
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// isConnClosed: the connection was refused, reset or closed before a
// response; which one depends on timing.
func isConnClosed(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
