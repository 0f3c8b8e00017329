// Command latch-bench load-tests an OpenID provider and reports, per
// workload, operations per second, p50/p95/p99 latency, errors and the
// server's CPU and memory (internal/bench holds the workloads).
//
// It is its own command, not a subcommand of latch, so that the server
// binary carries only what it runs: latch-bench never links the server.
// It drives Latch the way an operator runs it — a child `latch serve`
// process, seeded through the admin API — or any running provider with
// --target.
//
//	go build -o bin/ ./cmd/latch ./cmd/latch-bench
//	bin/latch-bench                          # spawns bin/latch on a temporary SQLite database
//	bin/latch-bench --target https://op.example --client-id … (see -h)
//
// Per-workload server CPU profiles (--cpuprofile) need a latch built with
// -tags latchprofile, whose hidden serve-profiled mode the release binary
// does not contain.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what the command receives instead of reading globals.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run executes latch-bench with args (without the program name) and
// returns the exit status: 0 success, 1 failure (including any failed
// operation), 2 usage error. Help (-h) goes to stdout and exits 0.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr, now: time.Now}
	err := runBench(ctx, e, args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "latch-bench: "+oneLine(ue.Error()))
		return 2
	default:
		fmt.Fprintln(stderr, "latch-bench: "+oneLine(err.Error()))
		return 1
	}
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
