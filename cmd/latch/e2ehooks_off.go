//go:build !latch_e2e

package main

import (
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/server"
)

// e2eOptions is empty in every ordinary build: the test-only relaxations
// of e2ehooks_on.go exist only in a binary built with -tags latch_e2e
// (e2e/mcp.test.js builds one), so no flag, file or variable reaches
// them in the latch people run.
func e2eOptions(config.Config, func(string) string) ([]func(*server.Options), error) {
	return nil, nil
}
