//go:build race

package cluster

// raceEnabled: the tests run with -race, so the latch binary is built with
// it too. The servers then report data races themselves (and exit 66), and
// the build reuses the race-instrumented packages the test run compiled.
const raceEnabled = true
