package oauth

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorValues(t *testing.T) {
	cause := errors.New("disk full")
	base := Errorf(ServerError, "try again %d", 1)
	withCause := base.WithCause(cause)
	if base.Err != nil {
		t.Errorf("WithCause mutated the receiver: Err = %v", base.Err)
	}
	if got, want := withCause.Error(), "server_error: try again 1 (disk full)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(withCause, cause) {
		t.Error("errors.Is(withCause, cause) = false, want true")
	}
	wrapped := fmt.Errorf("handler: %w", withCause)
	if e, ok := As(wrapped); !ok || e.Code != ServerError {
		t.Errorf("As(%v) = %v, %v; want the *Error", wrapped, e, ok)
	}
	if _, ok := As(cause); ok {
		t.Errorf("As(%v) = true, want false", cause)
	}
	if got := (&Error{Code: AccessDenied}).Error(); got != "access_denied" {
		t.Errorf("Error() without description = %q, want access_denied", got)
	}
}
