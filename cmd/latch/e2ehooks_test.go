//go:build !latch_e2e

package main

import (
	"testing"

	"github.com/latchauth/latch/internal/config"
)

// TestE2EHooksAbsent: an ordinary build ignores the variables that lift
// the client-metadata fetcher's SSRF guard in the browser tests' build
// (-tags latch_e2e, e2ehooks_on.go).
func TestE2EHooksAbsent(t *testing.T) {
	env := map[string]string{"LATCH_E2E_CIMD_CA": "/etc/ssl/certs/ca-certificates.crt", "LATCH_E2E_CIMD_ALLOW": "127.0.0.0/8,::1/128"}
	opts, err := e2eOptions(config.Config{Dev: true}, func(k string) string { return env[k] })
	if opts != nil || err != nil {
		t.Fatalf("e2eOptions = %d options, %v; want none: only a -tags latch_e2e build may relax the fetcher", len(opts), err)
	}
}
