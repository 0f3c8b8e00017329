// Package sqlite is the SQLite backend of store.Store, built on the pure-Go
// driver modernc.org/sqlite (no cgo).
//
// # Connections and atomicity
//
// A Store holds two pools and a checkpoint connection on one database
// file:
//
//   - the writer: exactly one connection (SetMaxOpenConns(1)) that runs every
//     statement that modifies data. Its transactions begin with BEGIN
//     IMMEDIATE (DSN _txlock=immediate), which takes SQLite's write lock at
//     BEGIN: within one process the single connection already serialises
//     writers, and across processes sharing the file the lock (waited for
//     up to busy_timeout) does. A read inside such a transaction therefore
//     sees the state no other writer can change before the commit, which is
//     what makes ConsumeAuthCode, RotateRefreshToken, ScheduleKey and
//     RecordFailure atomic. Each method says which mechanism it relies on.
//   - the readers: a small pool of query_only connections for plain reads.
//     WAL mode lets them read concurrently with the writer; each statement
//     sees the last committed state.
//   - the checkpointer: one connection that copies the WAL back into the
//     database file (a PASSIVE checkpoint, fsyncs included) at most 20 ms
//     after a write, off the writer's path (checkpoint.go).
//
// Every connection gets its pragmas from the DSN (_pragma=...), so a
// connection the pool reopens is configured identically: WAL journal,
// synchronous=NORMAL, busy_timeout, foreign_keys=ON. With WAL,
// synchronous=NORMAL never corrupts the database and loses nothing when the
// process is killed (committed transactions are in the WAL file, which the
// OS keeps); only a power loss or OS crash can lose the last transactions
// before a checkpoint: those of the last ~20 ms. That is the trade SQLite
// recommends for WAL.
//
// # Encoding
//
//   - Times are INTEGER unix nanoseconds (so instants between the years 1678
//     and 2262); the zero time is NULL. Times come back in UTC.
//   - []string columns hold JSON arrays. nil and empty slices are both
//     stored as '[]' and both come back as nil.
//   - Durations are INTEGER nanoseconds; booleans 0/1.
//
// # Schema
//
// The schema is a sequence of numbered files in migrations/ embedded in the
// binary and recorded in schema_migrations. Open applies the missing ones
// in one transaction; Migrate does the same on demand and is idempotent.
//
// Deleting a user or a client cascades (foreign keys) to everything issued
// to it: sessions, consents, codes, grants and their refresh tokens.
// Creating a record that refers to an unknown client or user fails with
// store.ErrNotFound.
package sqlite
