package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"
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

func TestNanos(t *testing.T) {
	zone := time.FixedZone("UTC-7", -7*3600)
	for _, in := range []time.Time{
		{},
		time.Date(2026, 1, 2, 3, 4, 5, 123_456_789, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 1, zone),
		time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), // before the epoch
	} {
		n := toNanos(in)
		if got := fromNanos(n); !got.Equal(in) || got.IsZero() != in.IsZero() {
			t.Errorf("fromNanos(toNanos(%v)) = %v, want the same instant", in, got)
		}
		if got := fromNullNanos(toNullNanos(in)); !got.Equal(in) || got.IsZero() != in.IsZero() {
			t.Errorf("fromNullNanos(toNullNanos(%v)) = %v, want the same instant", in, got)
		}
	}
	if toNullNanos(time.Time{}) != nil {
		t.Errorf("toNullNanos(zero time) is not NULL")
	}
	if got := fromNanos(toNanos(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)))); got.Location() != time.UTC {
		t.Errorf("fromNanos returned location %v, want UTC", got.Location())
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
	t.Setenv("LATCH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
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
		if msg := r.skipped + r.failed; strings.Contains(msg, "\n") {
			t.Errorf("NewTestDB reason %q is not one line", msg)
		}
	}
}
