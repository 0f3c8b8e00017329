//go:build !unix

package server_test

import "testing"

// cpuMeter reports nothing where getrusage is not available.
func cpuMeter(*testing.B) func() { return func() {} }
