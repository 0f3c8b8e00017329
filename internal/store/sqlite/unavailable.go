package sqlite

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Unavailable reports whether err, returned by a Store method, means the
// database could not do the work right now rather than that it answered:
// the disk is full (SQLITE_FULL), an I/O error occurred (SQLITE_IOERR),
// or the file stayed locked past the busy timeout (SQLITE_BUSY,
// SQLITE_LOCKED). SQLite rolls the failed statement or transaction back,
// so nothing half-written remains and the same work can be retried once
// space is freed or the lock released.
func Unavailable(err error) bool {
	se, ok := errors.AsType[*sqlite.Error](err)
	if !ok {
		return false
	}
	switch se.Code() & 0xff { // the primary result code (extended codes add bits above)
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
