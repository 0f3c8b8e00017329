package cimd

import (
	"testing"
	"time"
)

// TestTTL: Cache-Control max-age is honoured within [MinTTL, MaxTTL].
func TestTTL(t *testing.T) {
	f := New(Options{MinTTL: time.Minute, MaxTTL: time.Hour})
	for _, tt := range []struct {
		cc   string
		want time.Duration
	}{
		{"", DefaultTTL},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=5", time.Minute},
		{"max-age=0", time.Minute},
		{"no-store", time.Minute},
		{"no-cache, max-age=600", time.Minute},
		{"max-age=999999999999999", time.Hour},
		{`max-age="120"`, 2 * time.Minute},
		{"max-age=-5", DefaultTTL},
		{"max-age=abc", DefaultTTL},
	} {
		if got := f.ttl(tt.cc); got != tt.want {
			t.Errorf("ttl(%q) = %v, want %v", tt.cc, got, tt.want)
		}
	}
}
