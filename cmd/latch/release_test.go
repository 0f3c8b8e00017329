package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// buildRelease runs scripts/release for this machine's platform only and
// returns the binary and the output directory.
func buildRelease(t *testing.T, version string) (bin, dir string) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("scripts/release needs bash")
	}
	dir = t.TempDir()
	cmd := exec.CommandContext(t.Context(), "bash", filepath.Join("..", "..", "scripts", "release"), version)
	cmd.Env = append(os.Environ(),
		"LATCH_RELEASE_TARGETS="+runtime.GOOS+"/"+runtime.GOARCH,
		"LATCH_RELEASE_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, out)
	}
	bin = filepath.Join(dir, "latch-"+version+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	return bin, dir
}

// TestReleaseBinary builds the release binary with scripts/release and
// checks that it is static (no ELF interpreter, no shared libraries:
// it runs on distroless/static and scratch), that its checksum is listed,
// that `latch version` shows the stamped version, commit and date, and
// that `latch healthcheck` (the container's health check) passes against
// a running server and fails with one clear line against a closed port.
func TestReleaseBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release binary")
	}
	const version = "v9.8.7-test"
	bin, dir := buildRelease(t, version)

	t.Run("static", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("ELF check on linux only")
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a PT_INTERP program header: it needs a dynamic loader", filepath.Base(bin))
			}
		}
		libs, err := f.ImportedLibraries() // DT_NEEDED
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			t.Fatal(err)
		}
		if len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v; want none (CGO_ENABLED=0)", filepath.Base(bin), libs)
		}
		if ds := f.Section(".dynamic"); ds != nil {
			t.Errorf("%s has a .dynamic section; want a static binary", filepath.Base(bin))
		}
	})

	t.Run("checksums", func(t *testing.T) {
		sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(bin) + "\n"
		if string(sums) != want {
			t.Errorf("SHA256SUMS = %q, want %q", sums, want)
		}
	})

	t.Run("version", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("latch version: %v\n%s", err, out)
		}
		got := string(out)
		for _, want := range []string{"latch " + version + " (", "commit ", "date ", runtime.Version()} {
			if !strings.Contains(got, want) {
				t.Errorf("latch version = %q, want it to contain %q", got, want)
			}
		}
		if strings.Contains(got, "(devel)") {
			t.Errorf("latch version = %q: the release build is not stamped", got)
		}
	})

	t.Run("healthcheck", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
		p := startLatch(t, bin,
			"--db", db, "--issuer", "http://localhost:8080", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
			"--key-encryption-secret", testSecret, "--signing-alg", "ES256", "--log-format", "json")
		adminAddr := p.waitFor(t, "admin listening", 30*time.Second)["addr"].(string)
		addr := p.waitFor(t, "listening", 5*time.Second)["addr"].(string)

		for _, tc := range []struct {
			name string
			args []string
			env  []string
			want string
		}{
			{"--admin-addr", []string{"--admin-addr", adminAddr}, nil, "ok: http://" + adminAddr + "/readyz: 200 OK (ready)"},
			{"LATCH_ADMIN_ADDR", nil, []string{"LATCH_ADMIN_ADDR=" + adminAddr}, "ok: http://" + adminAddr + "/readyz: 200 OK (ready)"},
			{"--url", []string{"--url", "http://" + addr + "/.well-known/openid-configuration"}, nil, "ok: http://" + addr + "/.well-known/openid-configuration: 200 OK"},
		} {
			code, stdout, stderr := runBinary(t, bin, tc.env, append([]string{"healthcheck"}, tc.args...)...)
			if code != 0 || strings.TrimSpace(stdout) != tc.want || stderr != "" {
				t.Errorf("%s: latch healthcheck: exit %d, stdout %q, stderr %q; want 0 and %q", tc.name, code, stdout, stderr, tc.want)
			}
		}

		closed := closedAddr(t)
		code, stdout, stderr := runBinary(t, bin, nil, "healthcheck", "--admin-addr", closed, "--timeout", "5s")
		want := "latch: healthcheck: http://" + closed + "/readyz: cannot connect"
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, "is Latch running") {
			t.Errorf("latch healthcheck against a closed port: exit %d, stdout %q, stderr %q; want 1 and one line starting %q", code, stdout, stderr, want)
		}
	})
}

// runBinary runs bin with args and only env (plus PATH).
func runBinary(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", bin, err)
	}
	return code, out.String(), errb.String()
}

// closedAddr returns a loopback address nothing listens on (it was free a
// moment ago).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestVersionString(t *testing.T) {
	tail := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	vcs := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/latchauth/latch", Version: "v0.0.0-20261125101500-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-11-25T10:15:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name  string
		stamp buildStamp
		bi    *debug.BuildInfo
		want  string
	}{
		{"release stamp", buildStamp{"v1.2.3", "fedcba9876543210", "2026-12-01T00:00:00Z"}, vcs,
			"latch v1.2.3 (commit fedcba987654, date 2026-12-01T00:00:00Z, " + tail},
		{"stamp of a dirty tree", buildStamp{"v1.2.3-1-gabc", "fedcba9876543210+dirty", "2026-12-01T00:00:00Z"}, nil,
			"latch v1.2.3-1-gabc (commit fedcba987654+dirty, date 2026-12-01T00:00:00Z, " + tail},
		{"go build in a checkout", buildStamp{}, vcs,
			"latch v0.0.0-20261125101500-0123456789ab+dirty (commit 0123456789ab+dirty, date 2026-11-25T10:15:00Z, " + tail},
		{"go install @version", buildStamp{}, &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			"latch v1.2.3 (" + tail},
		{"nothing known", buildStamp{}, nil, "latch (devel) (" + tail},
	} {
		if got := versionString(tc.stamp, tc.bi); got != tc.want {
			t.Errorf("%s: versionString = %q, want %q", tc.name, got, tc.want)
		}
	}
}
