// Package manage is the one implementation of Latch's administrative
// operations: create, update and delete clients; create and delete users,
// set a password (and log a user out everywhere); list, rotate and prune
// signing keys. Both roads call it: the admin API (internal/admin,
// decode → Service → encode) and the command line's local road (cmd/latch,
// against the database itself). So both apply the same registration
// policy (internal/registration), make secrets the same way, return the
// same views and warnings, and write the same audit events — they differ
// only in the "actor" attribute ("admin-api", "cli").
//
// Errors a caller caused are *Error (Invalid, NotFound, Conflict), with a
// message safe to show to the administrator; any other error is internal
// (a store failure) and wrapped with what was being done.
//
// It never writes a response, parses flags or reads a password from a
// terminal: that is the roads' business.
package manage
