package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

var versionHelp = cmdHelp{
	name:     "version",
	synopsis: "",
	text: `Prints Latch's version, the commit it was built from, the build (or
commit) date and the Go version.`,
}

// Set at link time by scripts/release and the Dockerfile:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// They are never assigned at run time. A plain `go build` or
// `go install …@version` leaves them empty and versionString falls back to
// what the toolchain records (debug.ReadBuildInfo).
var (
	version string
	commit  string
	date    string
)

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
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(e.stdout, versionString(buildStamp{version, commit, date}, bi))
	return nil
}

// buildStamp is what the release build stamps into the binary.
type buildStamp struct{ version, commit, date string }

// versionString describes the build: "latch VERSION (commit C, date D,
// GOVERSION OS/ARCH)". Each of version, commit and date comes from the
// stamp when set, otherwise from bi: the main module's version (a tag for
// `go install …@v1.2.3`, a pseudo-version or "(devel)" for a local build),
// vcs.revision (with "+dirty" when vcs.modified) and vcs.time. Parts that
// neither knows are left out. bi may be nil.
func versionString(st buildStamp, bi *debug.BuildInfo) string {
	v, rev, when, dirty := st.version, st.commit, st.date, false
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
					dirty = dirty || settingTrue(bi, "vcs.modified")
				}
			case "vcs.time":
				if when == "" {
					when = s.Value
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	var parts []string
	if rev != "" {
		// The release script writes "<sha>+dirty" for a modified tree.
		var suffix string
		rev, suffix, _ = strings.Cut(rev, "+")
		dirty = dirty || suffix == "dirty"
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		parts = append(parts, "commit "+rev)
	}
	if when != "" {
		parts = append(parts, "date "+when)
	}
	parts = append(parts, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return "latch " + v + " (" + strings.Join(parts, ", ") + ")"
}

func settingTrue(bi *debug.BuildInfo, key string) bool {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value == "true"
		}
	}
	return false
}
