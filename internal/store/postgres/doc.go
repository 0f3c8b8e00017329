// Package postgres is the PostgreSQL backend of [store.Store], built on
// pgx v5 and its connection pool.
//
// Several Latch instances may share one database: every single-use or
// rotation guarantee of the Store contract is enforced by PostgreSQL
// itself (a conditional UPDATE, a row lock taken with SELECT ... FOR
// UPDATE, a unique key), never by process-local state. Each method that
// carries such a guarantee says in a comment what makes it atomic.
//
// Schema. Numbered migrations (migrations/NNNN_name.sql) are embedded in
// the binary and applied by [Open] and [Store.Migrate] under a
// transaction-scoped advisory lock, so instances starting together apply
// each migration exactly once. Applied versions are recorded in
// schema_migrations.
//
// Representation. Times are bigint Unix nanoseconds (UTC), so they round
// trip exactly; the zero time.Time is stored as 0, and event times that
// may not have happened yet (UsedAt, RotatedAt, RevokedAt, RetiredAt) as
// NULL. A consequence: the instant 1970-01-01T00:00:00Z reads back as the
// zero time. Durations are bigint nanoseconds. String lists are text[];
// nil and empty lists both read back as nil.
//
// The package never reads the clock: every time comes from the caller, as
// the Store contract requires. It does not hash or encrypt anything either;
// the records already hold hashes and encrypted keys.
package postgres
