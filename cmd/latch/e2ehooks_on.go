//go:build latch_e2e

package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/server"
)

// e2eOptions, in a binary built with -tags latch_e2e for the browser
// tests only, lets `latch dev` fetch client ID metadata documents from a
// test's https server on a loopback address: LATCH_E2E_CIMD_CA names a
// PEM file of certificates trusted instead of the system roots, and
// LATCH_E2E_CIMD_ALLOW the comma-separated prefixes treated as public
// (cimd.Options.InsecureTest). Ordinary builds have e2ehooks_off.go
// instead, and TestE2EHooksAbsent checks they ignore these variables.
func e2eOptions(cfg config.Config, getenv func(string) string) ([]func(*server.Options), error) {
	caFile, allow := getenv("LATCH_E2E_CIMD_CA"), getenv("LATCH_E2E_CIMD_ALLOW")
	if caFile == "" && allow == "" {
		return nil, nil
	}
	if !cfg.Dev {
		return nil, errors.New("LATCH_E2E_CIMD_* apply to latch dev only")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("LATCH_E2E_CIMD_CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("LATCH_E2E_CIMD_CA %s: no PEM certificate", caFile)
	}
	var prefixes []netip.Prefix
	for _, s := range strings.Split(allow, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("LATCH_E2E_CIMD_ALLOW: %w", err)
		}
		prefixes = append(prefixes, p)
	}
	docs := cimd.New(cimd.Options{
		Policy:       cimd.Policy{Mode: cimd.ModeAllowAll},
		InsecureTest: &cimd.InsecureTest{RootCAs: pool, AllowPrefixes: prefixes},
	})
	return []func(*server.Options){func(o *server.Options) { o.ClientDocuments = docs }}, nil
}
