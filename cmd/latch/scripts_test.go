package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scriptsTest runs scripts/test with args and returns its exit code and
// output (stdout and stderr).
func scriptsTest(t *testing.T, args ...string) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("scripts/test needs bash")
	}
	cmd := exec.CommandContext(t.Context(), "bash", append([]string{filepath.Join("..", "..", "scripts", "test")}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("scripts/test %v: %v", args, err)
	return 0, ""
}

// TestScriptsTest checks what scripts/test would run (-n prints the
// commands): without arguments exactly the full suite CI runs (race,
// fuzzing, benchmarks, browser tests); --quick none of the slow parts;
// package patterns narrow every step to those packages.
func TestScriptsTest(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		want, avoid []string
	}{
		{"full suite", []string{"-n"},
			[]string{"+ go vet ./...", "+ go test -race -count=1 ./...", "-fuzz ^FuzzEndpoint$", "-fuzz ^FuzzParseAuthorizeRequest$", "+ go test -run ^$ -bench . -benchtime=100x ./...", "+ (cd e2e && npm test)"},
			nil},
		{"quick", []string{"-n", "--quick"},
			[]string{"+ go vet ./...", "+ go test -count=1 ./..."},
			[]string{"-race", "-fuzz", "-bench", "npm"}},
		{"packages", []string{"-n", "./internal/oauth/", "./cmd/latch"},
			[]string{"+ go vet ./internal/oauth/ ./cmd/latch", "+ go test -race -count=1 ./internal/oauth/ ./cmd/latch", "-fuzz ^FuzzParseAuthorizeRequest$", "-bench . -benchtime=100x ./internal/oauth/ ./cmd/latch"},
			[]string{"FuzzEndpoint", "npm", "./..."}},
		{"quick packages with go test flags", []string{"-n", "--quick", "./cmd/latch", "--", "-run", "Help"},
			[]string{"+ go test -count=1 -run Help ./cmd/latch"},
			[]string{"-race", "-fuzz", "-bench", "npm"}},
	} {
		code, out := scriptsTest(t, tc.args...)
		if code != 0 {
			t.Errorf("%s: scripts/test %v: exit %d\n%s", tc.name, tc.args, code, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: scripts/test %v does not run %q:\n%s", tc.name, tc.args, w, out)
			}
		}
		var cmds strings.Builder // the commands, not the headings
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "+ ") {
				cmds.WriteString(l + "\n")
			}
		}
		for _, a := range tc.avoid {
			if strings.Contains(cmds.String(), a) {
				t.Errorf("%s: scripts/test %v runs %q:\n%s", tc.name, tc.args, a, out)
			}
		}
	}

	code, out := scriptsTest(t, "--help")
	if code != 0 || !strings.HasPrefix(out, "Usage: scripts/test [--quick]") {
		t.Errorf("scripts/test --help: exit %d, output %q; want 0 and the usage", code, out)
	}
	code, out = scriptsTest(t, "--bogus")
	if code != 2 || !strings.Contains(out, "unknown option --bogus") {
		t.Errorf("scripts/test --bogus: exit %d, output %q; want 2 and the option named", code, out)
	}
}
