package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

var versionHelp = cmdHelp{
	name:     "version",
	synopsis: "",
	text:     "Prints Latch's version, VCS revision and Go version.",
}

func runVersion(ctx context.Context, e *env, args []string) error {
	h := versionHelp
	fs := newFlagSet(h.name)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

// versionString describes the build from the information the Go toolchain
// embeds: module version (set by `go install …@version`), VCS revision and
// whether the tree was modified.
func versionString() string {
	version, rev, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	s := "latch " + version
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " rev " + rev
		if dirty {
			s += "+dirty"
		}
	}
	return s + " " + runtime.Version()
}
