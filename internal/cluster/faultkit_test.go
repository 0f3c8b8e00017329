package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault-injection helpers for faults_test.go and soak_test.go: a TCP proxy
// between `latch serve` and PostgreSQL that can cut, refuse and delay
// connections (the shared test server itself is never stopped: other
// packages' tests run against it at the same time), a recorder of request
// outcomes and readers of a process's memory and descriptors.

// dbProxy forwards loopback TCP connections to a PostgreSQL server.
type dbProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	down    bool          // refuse new connections (accept, then close at once)
	latency time.Duration // delay of every chunk from client to server
	conns   map[*proxyConn]struct{}
}

// proxyConn is one forwarded connection: both sockets and a channel that
// is closed when the pair is cut, so a delayed chunk is dropped at once.
type proxyConn struct {
	client, server net.Conn
	cut            chan struct{}
	once           sync.Once
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.cut)
		c.client.Close()
		c.server.Close()
	})
}

// newDBProxy starts a proxy to the server of dsn (a postgres:// URL) and
// returns it with dsn rewritten to go through it. It is closed when the
// test ends.
func newDBProxy(t *testing.T, dsn string) (*dbProxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("proxy: want a postgres:// URL with a host, got %q (%v)", dsn, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{t: t, ln: ln, target: u.Host, conns: map[*proxyConn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *dbProxy) forward(client net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		// PostgreSQL stopped: the connection is refused. (Accept-then-close
		// is what the client sees as a refused or reset connection.)
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	pc := &proxyConn{client: client, server: server, cut: make(chan struct{})}
	p.mu.Lock()
	if p.down { // cut while dialling
		p.mu.Unlock()
		pc.close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(pc, server, client, true) })
	wg.Go(func() { p.pipe(pc, client, server, false) })
	wg.Wait()
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// pipe copies src to dst until either side fails, delaying each chunk by
// the current latency when delayed is set (the client-to-server side: a
// slow network or a slow server delays every round trip by that much).
func (p *dbProxy) pipe(pc *proxyConn, dst, src net.Conn, delayed bool) {
	defer pc.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if delayed {
				p.mu.Lock()
				d := p.latency
				p.mu.Unlock()
				if d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-pc.cut:
						t.Stop()
						return
					}
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// stop makes the database go away: every open connection is cut and new
// ones are refused until start.
func (p *dbProxy) stop() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.cut()
}

// start lets connections through again.
func (p *dbProxy) start() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// setLatency delays every chunk sent to the server by d from now on.
func (p *dbProxy) setLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

func (p *dbProxy) cut() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// outcome is one request as a client saw it.
type outcome struct {
	op         string // "authorize", "exchange", "refresh", "userinfo", "login", ...
	inst       string // the instance's name
	start      time.Time
	dur        time.Duration
	status     int    // 0: no answer (transport error)
	retryAfter string // the Retry-After header
	ctype      string // the Content-Type header
	errCode    string // the JSON error code, if any
}

// recorder collects outcomes from many goroutines.
type recorder struct {
	mu  sync.Mutex
	all []outcome
}

func (r *recorder) add(o outcome) {
	r.mu.Lock()
	r.all = append(r.all, o)
	r.mu.Unlock()
}

// between returns the outcomes of requests started in [from, to).
func (r *recorder) between(from, to time.Time) []outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []outcome
	for _, o := range r.all {
		if !o.start.Before(from) && o.start.Before(to) {
			out = append(out, o)
		}
	}
	return out
}

// timed sends one request and records its outcome.
func (r *recorder) timed(op, inst string, c *http.Client, req *http.Request) (reply, error) {
	start := time.Now()
	rep, err := do(c, req)
	if err != nil && req.Context().Err() != nil {
		return rep, err // the test stopped the load: not an outcome
	}
	o := outcome{op: op, inst: inst, start: start, dur: time.Since(start), status: rep.status}
	if err == nil {
		o.retryAfter = rep.header.Get("Retry-After")
		o.ctype = rep.header.Get("Content-Type")
		if strings.HasPrefix(o.ctype, "application/json") {
			o.errCode = jsonErrorCode(rep.body)
		}
	}
	r.add(o)
	return rep, err
}

func jsonErrorCode(b []byte) string {
	const key = `"error":"`
	i := strings.Index(string(b), key)
	if i < 0 {
		return ""
	}
	rest := string(b[i+len(key):])
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// durations returns the durations of the outcomes keep selects.
func durations(os []outcome, keep func(outcome) bool) []time.Duration {
	var ds []time.Duration
	for _, o := range os {
		if keep(o) {
			ds = append(ds, o.dur)
		}
	}
	return ds
}

// countBy counts outcomes by a key, for the log: "200:123 503:45".
func countBy(os []outcome, key func(outcome) string) string {
	m := map[string]int{}
	for _, o := range os {
		m[key(o)]++
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s:%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// procStatus returns a field of /proc/PID/status in KiB (VmRSS, VmHWM).
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// openFDs counts the open file descriptors of pid.
func openFDs(pid int) (int, error) {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es), err
}

// adminURL is the base URL of the instance's admin listener.
func (in *instance) adminURL() string {
	in.logs.mu.Lock()
	defer in.logs.mu.Unlock()
	return "http://" + in.logs.adminAddr
}

// readyz returns the status of the instance's /readyz.
func (in *instance) readyz(ctx context.Context, c *http.Client) int {
	r, err := get(ctx, c, in.adminURL()+"/readyz")
	if err != nil {
		return 0
	}
	return r.status
}

// metric returns the value of an unlabelled gauge or counter from the
// instance's /metrics (e.g. go_goroutines).
func (in *instance) metric(ctx context.Context, c *http.Client, name string) (float64, error) {
	r, err := get(ctx, c, in.adminURL()+"/metrics")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(r.body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// accessLogDurations returns the durations of the requests the instance
// logged (its access log's "request" records) with the given status,
// logged in [from, to].
func (in *instance) accessLogDurations(from, to time.Time, status int) []time.Duration {
	var ds []time.Duration
	for _, rec := range in.logs.records("request") {
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"]))
		st, _ := rec["status"].(float64)
		ns, _ := rec["duration"].(float64)
		if err != nil || int(st) != status || at.Before(from) || at.After(to) {
			continue
		}
		ds = append(ds, time.Duration(ns))
	}
	return ds
}

// pid is the instance's process id.
func (in *instance) pid() int { return in.cmd.Process.Pid }

// loadClient is an HTTP client for generated load: no cookies, no
// redirects followed, enough idle connections for every worker.
func loadClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 1024
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newPost is a form POST with optional Basic client authentication.
func newPost(ctx context.Context, u string, form url.Values, user, pass string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		panic(err) // a malformed URL built by the test
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return req
}

func newGet(ctx context.Context, u string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}
