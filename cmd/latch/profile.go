//go:build latchprofile

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
)

// This file is only in a latch built with -tags latchprofile, for
// latch-bench --cpuprofile: the release binary has no hidden commands.

// hiddenCommands are commands "latch help" does not list.
func hiddenCommands() []command {
	return []command{{name: profiledServeCmd, run: runProfiledServe}}
}

// profiledServeCmd is the hidden mode latch-bench runs its child in when
// asked for CPU profiles: exactly `latch serve`, plus a CPU profile between
// SIGUSR1 (written to the path named in the --control file) and SIGUSR2.
const profiledServeCmd = "serve-profiled"

func runProfiledServe(ctx context.Context, e *env, args []string) error {
	if len(args) < 2 || args[0] != "--control" {
		return usageErrorf("%s: want --control FILE [serve flags]", profiledServeCmd)
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
					fmt.Fprintf(e.stderr, "latch: %s: cpu profile: %v\n", profiledServeCmd, err)
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
