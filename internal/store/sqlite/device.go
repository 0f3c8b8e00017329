package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- device authorizations (RFC 8628) -------------------------------------------

const deviceCols = `hash, user_code_hash, client_id, scopes, grant_id, interval_ns, last_polled_at, created_at,
	expires_at, status, user_id, session_id, auth_time, amr, decided_at, used_at`

func scanDevice(r scanner) (store.DeviceCode, error) {
	var (
		d        store.DeviceCode
		interval int64
		status   string
		userID   sql.NullString
	)
	err := r.Scan(&d.Hash, &d.UserCodeHash, &d.ClientID, lscan{&d.Scopes}, &d.GrantID, &interval, tscan{&d.LastPolledAt}, tscan{&d.CreatedAt},
		tscan{&d.ExpiresAt}, &status, &userID, &d.SessionID, tscan{&d.AuthTime}, lscan{&d.AMR}, tscan{&d.DecidedAt}, tscan{&d.UsedAt})
	d.Interval, d.Status, d.UserID = time.Duration(interval), store.DeviceStatus(status), userID.String
	return d, mapErr(err)
}

// CreateDeviceCode stores d; a taken hash or user code hash is
// store.ErrAlreadyExists, an unknown client store.ErrNotFound.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	_, err := s.exec(ctx, `INSERT INTO device_codes (`+deviceCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.Hash, d.UserCodeHash, d.ClientID, lv(d.Scopes), d.GrantID, int64(d.Interval), tv(d.LastPolledAt), tv(d.CreatedAt),
		tv(d.ExpiresAt), string(d.Status), nullStr(d.UserID), d.SessionID, tv(d.AuthTime), lv(d.AMR), tv(d.DecidedAt), tv(d.UsedAt))
	return wrap("create device code", err)
}

// GetDeviceCodeByUserCode returns the record with no validity checks.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (store.DeviceCode, error) {
	d, err := scanDevice(s.queryRow(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE user_code_hash = ?`, userCodeHash))
	return d, wrap("get device code", err)
}

// DecideDeviceCode records the user's decision once.
//
// What makes it single-use: one conditional UPDATE ... WHERE status =
// 'pending' under SQLite's write lock; of any number of callers in any
// process exactly one sees the row pending. The others read the row in
// the same write transaction to say why (decided before, expired,
// unknown).
func (s *Store) DecideDeviceCode(ctx context.Context, userCodeHash string, now time.Time, dec store.DeviceDecision) (store.DeviceCode, error) {
	status := store.DeviceDenied
	if dec.Approved {
		status = store.DeviceApproved
	}
	var d store.DeviceCode
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx, `UPDATE device_codes SET status = ?, user_id = ?, session_id = ?, auth_time = ?,
			amr = ?, decided_at = ? WHERE user_code_hash = ? AND status = 'pending' AND expires_at > ? RETURNING `+deviceCols,
			string(status), nullStr(dec.UserID), dec.SessionID, tv(dec.AuthTime), lv(dec.AMR), now.UnixNano(), userCodeHash, now.UnixNano()))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		old, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE user_code_hash = ?`, userCodeHash))
		switch {
		case err != nil:
			return err
		case old.Status != store.DevicePending:
			return store.ErrCodeUsed
		default:
			return store.ErrExpired
		}
	})
	if err != nil {
		return store.DeviceCode{}, wrap("decide device code", err)
	}
	return d, nil
}

// PollDeviceCode records one poll (store.NextPoll).
//
// What makes it atomic: the read and the write run in one write
// transaction under SQLite's write lock, so concurrent polls (any
// process) are serialised and each sees the previous one's LastPolledAt
// and Interval.
func (s *Store) PollDeviceCode(ctx context.Context, hash string, now time.Time, step time.Duration) (store.DeviceCode, bool, error) {
	var (
		d    store.DeviceCode
		slow bool
	)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE hash = ?`, hash))
		switch {
		case err != nil:
			return err
		case !d.UsedAt.IsZero():
			return store.ErrCodeUsed
		case !d.ExpiresAt.After(now):
			return store.ErrExpired
		}
		d, slow = store.NextPoll(d, now, step)
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET interval_ns = ?, last_polled_at = ? WHERE hash = ?`,
			int64(d.Interval), tv(d.LastPolledAt), hash)
		return mapErr(err)
	})
	if errors.Is(err, store.ErrCodeUsed) {
		return d, false, wrap("poll device code", err) // with the record: the caller revokes d.GrantID
	}
	if err != nil {
		return store.DeviceCode{}, false, wrap("poll device code", err)
	}
	return d, slow, nil
}

// RedeemDeviceCode marks an approved record used and stores its grant
// (and first refresh token), all or nothing.
//
// What makes it single-use: the conditional UPDATE ... WHERE used_at IS
// NULL AND status = 'approved' and the inserts run in one write
// transaction under SQLite's write lock; of any number of callers in any
// process exactly one sees the row unused. The others read it in their
// own write transaction, after the winner's commit, and answer
// ErrCodeUsed.
func (s *Store) RedeemDeviceCode(ctx context.Context, hash string, now time.Time, g store.Grant, rt *store.RefreshToken) (store.DeviceCode, error) {
	if rt != nil && rt.GrantID != g.ID {
		return store.DeviceCode{}, wrap("redeem device code", fmt.Errorf("refresh token's grant %q is not %q", rt.GrantID, g.ID))
	}
	var d store.DeviceCode
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx, `UPDATE device_codes SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND status = 'approved' AND expires_at > ? RETURNING `+deviceCols,
			now.UnixNano(), hash, now.UnixNano()))
		if errors.Is(err, store.ErrNotFound) {
			old, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE hash = ?`, hash))
			switch {
			case err != nil:
				return err
			case !old.UsedAt.IsZero():
				d = old // returned with ErrCodeUsed: the caller revokes its GrantID
				return store.ErrCodeUsed
			case !old.ExpiresAt.After(now):
				return store.ErrExpired
			default:
				return fmt.Errorf("device code is %s, not approved", old.Status)
			}
		}
		if err != nil {
			return err
		}
		if d.GrantID != g.ID {
			return fmt.Errorf("grant %q is not the device code's grant %q", g.ID, d.GrantID)
		}
		return s.insertGrantWithToken(ctx, tx, g, rt)
	})
	if errors.Is(err, store.ErrCodeUsed) {
		return d, wrap("redeem device code", err)
	}
	if err != nil {
		return store.DeviceCode{}, wrap("redeem device code", err)
	}
	return d, nil
}
