// Package storetest is the conformance suite every store.Store backend runs:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// Each subtest gets a fresh, empty store from newStore, which must also
// register its own cleanup (t.Cleanup(func() { s.Close() })); the suite never
// calls Close. The suite is backend-neutral: it never sleeps, never reads the
// clock (every time is derived from a fixed base), and creates the clients
// and users a record refers to before the record, so backends may use
// foreign keys.
//
// # Readings of the contract the suite enforces
//
// Where the doc comments in package store leave room, the suite checks the
// following readings (and backends must follow them):
//
//   - Times round-trip by time.Equal. The fixture times are millisecond
//     aligned so any backend with at least millisecond precision passes; one
//     subtest stores a nanosecond time and accepts any value less than a
//     millisecond away (backends should store UTC unix micro- or nanoseconds).
//     The zero time round-trips as a zero time (IsZero). The location of a
//     returned time is not checked.
//   - []string and []byte round-trip in order; nil and empty are equal (a
//     backend may return either).
//   - Every method that addresses one record by ID (Get, Update, Delete,
//     SetUserPassword, RevokeGrant, DeleteKey, DeleteUser)
//     returns ErrNotFound for an unknown ID. Every Create returns
//     ErrAlreadyExists for a duplicate key.
//   - ListUsers orders by Username; the fixtures use lower-case ASCII names
//     so byte order and a database collation agree. ListUserSessions and
//     ListUserGrants have no documented order and are compared sorted by ID.
//     ListUserSessions omits expired sessions (ExpiresAt not after now).
//     ListUserGrants returns revoked grants too (like GetGrant).
//   - ConsumeAuthCode: a used code returns ErrCodeUsed even once expired
//     (replay detection wins over expiry). On success the returned code has
//     UsedAt = now; with ErrCodeUsed it carries the first UsedAt.
//   - RevokeUserGrants counts only grants it newly revoked; grants already
//     revoked keep their first RevokedAt and RevokedReason (so does
//     RevokeGrant, and RevokeSessionGrants, which also skips clients
//     without RevokeRefreshOnLogout, the excepted client and grants without
//     a session). Every stored reason round-trips; the reuse branch of
//     RotateRefreshToken stores ReasonReused.
//   - RotateRefreshToken checks in the documented order: unknown, grant
//     revoked, expired, then rotation state. So a rotated token presented
//     after its grant was revoked yields ErrRevoked, not ErrRefreshReused;
//     of N concurrent reusers, one or more get ErrRefreshReused and the rest
//     may get ErrRevoked. The returned record reflects the state after the
//     call (RotatedAt and SuccessorHash set for RotateRotated and
//     RotateGrace). A grace <= 0 disables the grace window entirely: a
//     rotated token is always a reuse, even at now == RotatedAt. A next.Hash
//     that already exists fails with ErrAlreadyExists and rotates nothing.
//     A grant with a zero AbsoluteExpiresAt has no absolute bound. A
//     rotation racing RevokeGrant either fails with ErrRevoked and writes
//     nothing, or rotates and its successor is dead (ErrRevoked).
//   - ScheduleKey's after is exclusive (a key activating exactly at after
//     does not block), and keys without ActivateAt never block; two keys of
//     one Alg never share an ActivateAt (CreateKey and ScheduleKey fail
//     with ErrAlreadyExists). ListKeys breaks CreatedAt ties by ID,
//     descending too (newest first on both).
//   - DeleteExpired deletes rows whose expiry is strictly before now (a row
//     expiring exactly at now is kept), never a used-but-unexpired code, a
//     revoked-but-unexpired grant, nor a grant with a zero AbsoluteExpiresAt.
//     A refresh token never rotated is kept ExpiredRefreshRetention past its
//     expiry, but not past its grant.
//     The count is checked exactly for one-record-per-row kinds; for
//     failure counters only that something was removed.
//   - DeleteUser also makes the refresh tokens of the user's grants unusable
//     (RotateRefreshToken fails with ErrNotFound or ErrRevoked).
package storetest
