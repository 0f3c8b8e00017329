package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress shows what the run is doing. On a terminal it keeps one line
// updated in place (carriage return, no newline); otherwise it prints a
// line every Every. A nil *Progress shows nothing.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	every time.Duration // non-TTY: how often a line is printed
	tick  time.Duration // how often the counters are read
	width int           // length of the line on screen (TTY)
}

// NewProgress writes to w; tty selects the in-place line.
func NewProgress(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty, every: 5 * time.Second, tick: 250 * time.Millisecond}
}

// line replaces the in-place line (TTY) or prints one.
func (p *Progress) line(s string, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintln(p.w, s)
		return
	}
	pad := ""
	if n := p.width - len(s); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	if final {
		fmt.Fprintf(p.w, "\r%s%s\n", s, pad)
		p.width = 0
		return
	}
	fmt.Fprintf(p.w, "\r%s%s", s, pad)
	p.width = len(s)
}

// Status shows what a workload is doing before its clock starts.
func (p *Progress) Status(w Workload, format string, args ...any) {
	if p == nil {
		return
	}
	p.line(fmt.Sprintf("%-4s %-18s %s", w.ID, w.Name, fmt.Sprintf(format, args...)), false)
}

// Skipped reports a workload whose setup failed.
func (p *Progress) Skipped(w Workload, err error) {
	if p == nil {
		return
	}
	p.line(fmt.Sprintf("%-4s %-18s skipped: %v", w.ID, w.Name, err), true)
}

// Done prints a workload's final line.
func (p *Progress) Done(r Result) {
	if p == nil {
		return
	}
	p.line(fmt.Sprintf("%-4s %-18s %10.0f ops/s  p50 %s  p99 %s  errors %d",
		r.ID, r.Name, r.OpsPerSec, fmtMS(r.P50MS), fmtMS(r.P99MS), r.Errors), true)
}

// watch reads the workers' counters every tick until done is closed and
// shows elapsed time, operations, the current rate and errors.
func (p *Progress) watch(w Workload, start time.Time, d time.Duration, stats []*workerStats, done <-chan struct{}) {
	if p == nil {
		return
	}
	t := time.NewTicker(p.tick)
	defer t.Stop()
	lastPrint := start
	lastOps, lastAt := uint64(0), start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			var ops, errs uint64
			for _, s := range stats {
				ops += s.ops.Load()
				errs += s.errs.Load()
			}
			rate := float64(ops-lastOps) / now.Sub(lastAt).Seconds()
			lastOps, lastAt = ops, now
			if !p.tty && now.Sub(lastPrint) < p.every {
				continue
			}
			lastPrint = now
			el := min(now.Sub(start), d)
			p.line(fmt.Sprintf("%-4s %-18s %5.1fs/%.0fs  %10d ops  %9.0f/s  errors %d",
				w.ID, w.Name, el.Seconds(), d.Seconds(), ops, rate, errs), false)
		}
	}
}

// fmtMS formats milliseconds with sensible precision.
func fmtMS(v float64) string {
	switch {
	case v < 0.01:
		return fmt.Sprintf("%.1fµs", v*1000)
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}
