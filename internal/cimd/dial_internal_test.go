package cimd

import (
	"errors"
	"testing"
)

// TestControlRefusesNonPublic: the dialer's Control hook, the last gate,
// refuses a connection to a non-public address whatever resolved it (it
// holds alone: with the check after DNS removed, the SSRF attack tests
// still pass).
func TestControlRefusesNonPublic(t *testing.T) {
	f := New(Options{})
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "10.0.0.1:443", "169.254.169.254:80", "[::ffff:127.0.0.1]:443", "[fd00::1]:443", "100.64.0.1:443", "garbage"} {
		var np *notPublicError
		if err := f.control("tcp4", addr, nil); !errors.As(err, &np) {
			t.Errorf("control(%s) = %v, want a notPublicError", addr, err)
		}
	}
	for _, addr := range []string{"93.184.216.34:443", "[2606:2800:220:1:248:1893:25c8:1946]:443"} {
		if err := f.control("tcp", addr, nil); err != nil {
			t.Errorf("control(%s) = %v, want nil", addr, err)
		}
	}
}
