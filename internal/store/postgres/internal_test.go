package postgres

import (
	"testing"
	"time"
)

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
