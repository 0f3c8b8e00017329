package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Run.
type Options struct {
	Target Target
	// Transport is shared by every worker; nil: NewTransport(Concurrency).
	Transport   http.RoundTripper
	Concurrency int
	// Duration is the measured time of each workload.
	Duration time.Duration
	// Warmup runs each workload this long before the clock starts
	// (connections, caches, JIT of the peer); its operations are not
	// counted.
	Warmup time.Duration
	// Progress receives the progress line; nil: none.
	Progress *Progress
	// Server, when set, measures the server process's CPU time and peak
	// RSS per workload.
	Server Sampler
	// Client, when set, measures the load generator itself (this
	// process), whose CPU competes with the server's on one machine.
	Client Sampler
	// Measure, when set, is called as a workload's measured time starts
	// (start true) and ends, e.g. to profile the server for exactly that
	// window.
	Measure func(w Workload, start bool)
	// MaxErrorSamples is how many distinct error messages a Result keeps
	// (default 5).
	MaxErrorSamples int
}

// Result is the outcome of one workload.
type Result struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Concurrency int    `json:"concurrency"`
	// Skipped says why the workload did not run (its setup failed).
	Skipped string `json:"skipped,omitempty"`

	Seconds   float64 `json:"seconds"` // measured wall time
	Ops       uint64  `json:"ops"`     // successful and failed operations
	Errors    uint64  `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"` // successful operations per second
	// Latencies of every operation (failures included), in milliseconds.
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
	// ErrorSamples are the first distinct error messages.
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Server is the server process's usage during the measured time.
	Server *Usage `json:"server,omitempty"`
	// ClientCPUCores is the load generator's CPU use (cores) meanwhile.
	ClientCPUCores float64 `json:"client_cpu_cores,omitempty"`
	// LoadAverage is the system's 1-minute load average at the end.
	LoadAverage float64 `json:"load_average,omitempty"`
	// Histogram is the latency distribution in 40 log-spaced bins.
	Histogram []Bin `json:"histogram,omitempty"`

	hist *Histogram
}

// Latencies returns the merged latency histogram (nil for a skipped
// workload or a Result read back from JSON).
func (r *Result) Latencies() *Histogram { return r.hist }

// errStop ends a worker's loop when the measured time is over.
var errStop = errors.New("stop")

// workerStats is one worker's counters, padded so that workers on
// different cores do not share a cache line.
type workerStats struct {
	ops  atomic.Uint64
	errs atomic.Uint64
	_    [48]byte
	hist *Histogram
}

// Run runs each workload in turn for opts.Duration and returns one
// Result per workload. A workload whose setup fails is reported as
// Skipped and the others still run; a cancelled ctx stops the run and
// returns what was measured so far along with ctx's error.
func Run(ctx context.Context, opts Options, workloads []Workload) ([]Result, error) {
	if opts.Concurrency <= 0 {
		return nil, errors.New("bench: concurrency must be positive")
	}
	if opts.Duration <= 0 {
		return nil, errors.New("bench: duration must be positive")
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport(opts.Concurrency)
	}
	if opts.MaxErrorSamples == 0 {
		opts.MaxErrorSamples = 5
	}
	var results []Result
	for _, w := range workloads {
		r := runOne(ctx, opts, w)
		results = append(results, r)
		if err := ctx.Err(); err != nil {
			return results, err
		}
	}
	return results, nil
}

func runOne(ctx context.Context, opts Options, w Workload) Result {
	res := Result{ID: w.ID, Name: w.Name, Description: w.Description, Concurrency: opts.Concurrency}
	p := opts.Progress
	p.Status(w, "setting up %d workers", opts.Concurrency)
	env := &runEnv{t: &opts.Target, rt: opts.Transport, signIns: &sync.Mutex{}}
	newWorker, err := w.prepare(ctx, env)
	if err != nil {
		res.Skipped = err.Error()
		p.Skipped(w, err)
		return res
	}
	ops, err := setupWorkers(ctx, opts.Concurrency, newWorker)
	if err != nil {
		res.Skipped = err.Error()
		p.Skipped(w, err)
		return res
	}

	stats := make([]*workerStats, opts.Concurrency)
	for i := range stats {
		stats[i] = &workerStats{hist: NewHistogram()}
	}
	var errMu sync.Mutex
	var samples []string
	noteError := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		msg := err.Error()
		if len(samples) < opts.MaxErrorSamples && !contains(samples, msg) {
			samples = append(samples, msg)
		}
	}

	if opts.Warmup > 0 {
		p.Status(w, "warming up for %s", opts.Warmup)
		drive(ctx, ops, nil, time.Now().Add(opts.Warmup), nil)
	}
	server := opts.Server
	if w.InProcess {
		server = nil // the server idles while this process works
	}
	var before, clientBefore Usage
	if server != nil {
		_ = server.ResetPeak()
		before, _ = server.Sample()
	}
	if opts.Client != nil {
		clientBefore, _ = opts.Client.Sample()
	}
	if opts.Measure != nil {
		opts.Measure(w, true)
	}
	start := time.Now()
	end := start.Add(opts.Duration)
	done := make(chan struct{})
	go p.watch(w, start, opts.Duration, stats, done)
	drive(ctx, ops, stats, end, noteError)
	elapsed := time.Since(start)
	close(done)
	if opts.Measure != nil {
		opts.Measure(w, false)
	}
	if opts.Client != nil {
		if after, err := opts.Client.Sample(); err == nil {
			res.ClientCPUCores = (after.CPUSeconds - clientBefore.CPUSeconds) / elapsed.Seconds()
		}
	}
	if la, err := LoadAverage(); err == nil {
		res.LoadAverage = la[0]
	}
	if server != nil {
		if after, err := server.Sample(); err == nil {
			u := after
			u.CPUSeconds = after.CPUSeconds - before.CPUSeconds
			u.CPUCores = u.CPUSeconds / elapsed.Seconds()
			u.RSSBeforeBytes = before.RSSBytes
			res.Server = &u
		}
	}

	h := NewHistogram()
	for _, s := range stats {
		h.Merge(s.hist)
		res.Ops += s.ops.Load()
		res.Errors += s.errs.Load()
	}
	res.hist = h
	res.Seconds = elapsed.Seconds()
	res.OpsPerSec = float64(res.Ops-res.Errors) / elapsed.Seconds()
	res.MeanMS = ms(h.Mean())
	res.P50MS, res.P95MS, res.P99MS = ms(h.Quantile(0.50)), ms(h.Quantile(0.95)), ms(h.Quantile(0.99))
	res.MaxMS = ms(h.Max())
	res.ErrorSamples = samples
	if u := res.Server; u != nil && res.Ops > res.Errors {
		u.CPUPerOpUS = u.CPUSeconds * 1e6 / float64(res.Ops-res.Errors)
	}
	res.Histogram = h.Bins(40)
	p.Done(res)
	return res
}

// setupWorkers builds n workers' operations, a few at a time (sign-ins
// are expensive), and returns the first error.
func setupWorkers(ctx context.Context, n int, newWorker func(context.Context, int) (op, error)) ([]op, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ops := make([]op, n)
	errs := make([]error, n)
	sem := make(chan struct{}, min(n, 16))
	var wg sync.WaitGroup
	for i := range ops {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			o, err := newWorker(ctx, i)
			if err != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, err)
				cancel()
				return
			}
			ops[i] = o
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ops, nil
}

// drive runs every worker's op in a loop until end (or ctx ends). With
// stats nil nothing is recorded (warm-up).
func drive(ctx context.Context, ops []op, stats []*workerStats, end time.Time, noteError func(error)) {
	var wg sync.WaitGroup
	for i, o := range ops {
		wg.Go(func() {
			var s *workerStats
			if stats != nil {
				s = stats[i]
			}
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				err := o(ctx)
				if s == nil {
					continue
				}
				if ctx.Err() != nil {
					return // an operation cut short by Ctrl-C is no error
				}
				s.hist.Record(time.Since(t0))
				s.ops.Add(1)
				if err != nil {
					s.errs.Add(1)
					noteError(err)
				}
			}
		})
	}
	wg.Wait()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
