//go:build !latchprofile

package main

// hiddenCommands are commands "latch help" does not list: none in the
// release build (see profile.go, built with -tags latchprofile).
func hiddenCommands() []command { return nil }
