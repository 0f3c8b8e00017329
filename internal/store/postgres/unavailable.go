package postgres

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err, returned by a Store method, means the
// database could not answer right now rather than that it answered: the
// server is unreachable or refused the connection, the connection broke
// mid-statement, a timeout passed, or the server is shutting down, out of
// connections or out of disk (SQLSTATE classes 08, 53 and 57P0x). A
// server that answers HTTP requests can report such a failure as "retry
// later" (503) instead of an internal error.
//
// It does not say whether a write that failed this way was committed: a
// connection that broke after COMMIT was sent may or may not have
// committed. Latch's single-use steps are atomic, so a retry is safe.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57P0")
	}
	var netErr net.Error
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	return pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
