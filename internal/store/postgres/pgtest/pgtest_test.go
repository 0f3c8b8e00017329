package pgtest

import (
	"fmt"
	"strings"
	"testing"
)

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/latch_test_x?sslmode=disable"},
		{"postgresql://u:p%40ss@db:6543?sslmode=require", "postgresql://u:p%40ss@db:6543/latch_test_x?sslmode=require"},
		{"postgres://h/other%2Fdb", "postgres://h/latch_test_x"},
		{"host=127.0.0.1 user=postgres dbname=postgres", "host=127.0.0.1 user=postgres dbname=postgres dbname=latch_test_x"},
	} {
		got, err := withDatabase(tc.dsn, "latch_test_x")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

// recordingTB stands in for the test NewTestDB is handed, to see whether it
// skips or fails; Fatalf and Skipf stop the call as the real ones do.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

type stopped struct{}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func (r *recordingTB) run(fn func(testing.TB)) {
	defer func() {
		if v := recover(); v != nil && v != (stopped{}) {
			panic(v)
		}
	}()
	fn(r)
}

func TestNewTestDBUnreachable(t *testing.T) {
	t.Setenv("LATCH_TEST_POSTGRES", "postgres://postgres:hunter2@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	for _, tc := range []struct {
		ci       string
		wantSkip bool
	}{{"", true}, {"false", true}, {"true", false}} {
		t.Setenv("CI", tc.ci)
		r := &recordingTB{TB: t}
		r.run(func(tb testing.TB) { NewTestDB(tb) })
		if gotSkip := r.skipped != ""; gotSkip != tc.wantSkip || (r.failed == "") == (r.skipped == "") {
			t.Errorf("NewTestDB with the server unreachable, CI=%q: skipped %q, failed %q; want skip=%v", tc.ci, r.skipped, r.failed, tc.wantSkip)
		}
		msg := r.skipped + r.failed
		if strings.Contains(msg, "\n") {
			t.Errorf("NewTestDB reason %q is not one line", msg)
		}
		// It says what is missing and how to provide it, without the password.
		for _, want := range []string{"127.0.0.1:1", "./scripts/provision", "LATCH_TEST_POSTGRES"} {
			if !strings.Contains(msg, want) {
				t.Errorf("NewTestDB reason %q does not mention %s", msg, want)
			}
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("NewTestDB reason %q shows the password", msg)
		}
	}
}
