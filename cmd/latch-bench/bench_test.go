package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/bench"
)

// TestBenchSmoke builds latch, runs every workload for a second at low
// concurrency against a child latch serve that latch-bench spawns and
// seeds through the admin API, and requires each to have run with zero
// errors; the JSON and HTML reports must be written.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds latch, starts it and runs seven 1 s workloads")
	}
	dir := t.TempDir()
	latch := filepath.Join(dir, "latch")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", latch, "github.com/latchauth/latch/cmd/latch").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/latch: %v\n%s", err, out)
	}
	// Cheap argon2id for the child: W5 measures the hashing, not its
	// parameters.
	t.Setenv("LATCH_PASSWORD_MEMORY_KIB", "64")
	t.Setenv("LATCH_PASSWORD_ITERATIONS", "1")
	jsonFile, htmlFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"--latch", latch, "--duration", "1s", "--warmup", "0s",
		"--concurrency", "2", "--server-log-level", "warn", "--json", jsonFile, "--html", htmlFile},
		nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("latch-bench exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(bench.Workloads()) {
		t.Fatalf("%d results, want one per workload (%d)", len(rep.Results), len(bench.Workloads()))
	}
	for _, r := range rep.Results {
		if r.Skipped != "" || r.Ops == 0 || r.Errors != 0 {
			t.Errorf("%s: skipped %q, %d ops, %d errors %q; want it run without error", r.ID, r.Skipped, r.Ops, r.Errors, r.ErrorSamples)
		}
	}
	if !strings.Contains(rep.Server, "child process") || rep.Concurrency != 2 {
		t.Errorf("report server %q concurrency %d", rep.Server, rep.Concurrency)
	}
	page, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "<svg"); n != len(bench.Workloads()) {
		t.Errorf("HTML report has %d histograms, want %d", n, len(bench.Workloads()))
	}
	for _, id := range []string{"W1", "W2", "W3", "W4", "W5", "W6", "W6C"} {
		if !strings.Contains(stdout.String(), id) {
			t.Errorf("the results table does not mention %s:\n%s", id, stdout.String())
		}
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--target", "http://127.0.0.1:1", "--alg", "RS256"},
		{"--target", "http://127.0.0.1:1", "--latch", "/bin/true"},
		{"--workloads", "W9"},
		{"--concurrency", "0"},
		{"extra"},
		{"--server-pid", "1"}, // only with --target
		{"--no-such-flag"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, nil, &stdout, &stderr); code != 2 {
			t.Errorf("latch-bench %s: exit %d, want 2 (usage)\n%s", strings.Join(args, " "), code, stderr.String())
		}
	}
}

func TestBenchCommandLineRedactsSecrets(t *testing.T) {
	got := benchCommandLine([]string{"--target", "http://x", "--client-secret", "s3cret", "--password=hunter2", "-password", "p"})
	if strings.Contains(got, "s3cret") || strings.Contains(got, "hunter2") || strings.Contains(got, " p") {
		t.Errorf("benchCommandLine leaks a secret: %q", got)
	}
	if want := "latch-bench --target http://x --client-secret REDACTED --password=REDACTED -password REDACTED"; got != want {
		t.Errorf("benchCommandLine = %q, want %q", got, want)
	}
}

func TestProfilePath(t *testing.T) {
	for in, want := range map[string]string{"cpu.prof": "cpu.W2.prof", "/tmp/p": "/tmp/p.W2", "a.b/c.pprof": "a.b/c.W2.pprof"} {
		if got := profilePath(in, "W2"); got != want {
			t.Errorf("profilePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBenchSecretFlagWarns: a secret given as a flag is visible in ps;
// latch-bench says so (without the secret) and names the alternatives.
func TestBenchSecretFlagWarns(t *testing.T) {
	const secret = "s3cret-value-for-the-warning-test"
	var stdout, stderr bytes.Buffer
	run(t.Context(), []string{"--target", "http://127.0.0.1:1", "--client-secret", secret, "--workloads", "nope"}, nil, &stdout, &stderr)
	if !strings.Contains(stderr.String(), "warning: --client-secret on the command line is visible") || !strings.Contains(stderr.String(), "--client-secret-file or $LATCH_BENCH_CLIENT_SECRET") {
		t.Errorf("stderr = %q, want the warning naming --client-secret-file", stderr.String())
	}
	if strings.Contains(stderr.String(), secret) {
		t.Errorf("the warning shows the secret: %q", stderr.String())
	}
}
