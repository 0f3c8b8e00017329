package server

import (
	"slices"
	"testing"
)

// TestUpstreamAMRNeverRaisesACR: the upstream's own mfa, hwk and swk do
// not reach the session (Latch's acr speaks for what Latch checked, so a
// client policy needing a second factor still asks for Latch's); its
// other amr values do, after "fed".
func TestUpstreamAMRNeverRaisesACR(t *testing.T) {
	got := upstreamAMR(identity{AMR: []string{"pwd", "otp", "mfa", "hwk", "swk", "pwd", "fed"}})
	if !slices.Equal(got, []string{"fed", "pwd", "otp"}) {
		t.Errorf("upstreamAMR = %v, want [fed pwd otp]", got)
	}
}
