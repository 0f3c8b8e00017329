//go:build unix

package server_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter starts measuring this process's CPU time (user + system, all
// threads, GC included); the returned func reports it per iteration as
// cpu-ns/op. On a shared machine wall time per op mostly measures the
// neighbours; CPU time per op is the cost of the operation.
func cpuMeter(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
