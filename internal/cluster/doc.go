// Package cluster holds Latch's process-level tests: they build the latch
// binary once and run real `latch serve` processes and admin commands
// against one database, the way an operator deploys Latch.
//
//   - several instances on one PostgreSQL database, a flow split across
//     them, refresh-token reuse and key rotation seen by every instance,
//     one code raced against all of them (multi_test.go);
//   - SIGKILL in the middle of a stream of flows, for SQLite and
//     PostgreSQL: everything a client was given survives the restart
//     (durability_test.go);
//   - the background sweeper on two instances at once (sweep_test.go);
//   - `latch migrate`, and three instances starting at once on an empty
//     database (migrate_test.go).
//   - faults and overload (issue 20), each logging its figures:
//     PostgreSQL going away under load, through a TCP proxy that cuts and
//     refuses connections (outage_test.go); a slow and then silent
//     database (slowdb_test.go); a full disk under SQLite, on a tmpfs
//     mounted by the test, root only (diskfull_test.go); 3× the
//     sustainable load and a burst of sign-ins (overload_test.go); the
//     proxy and measuring helpers are in faultkit_test.go;
//   - the soak (soak_test.go), skipped unless -soak DURATION is given
//     (scripts/soak).
//
// The package has no non-test code. PostgreSQL tests use
// pgtest.NewTestDB: skipped when the server is unreachable, except under
// CI=true. `go test -short` skips the whole package.
package cluster
