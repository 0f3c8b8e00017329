package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

// Device authorizations (RFC 8628).

const deviceCols = `hash, user_code_hash, client_id, scopes, grant_id, interval_ns, last_polled_at, created_at,
	expires_at, status, user_id, session_id, auth_time, amr, decided_at, used_at`

func scanDevice(row pgx.Row) (store.DeviceCode, error) {
	var (
		d                                                 store.DeviceCode
		interval, polled, created, expires, auth, decided int64
		status                                            string
		used                                              *int64
	)
	err := row.Scan(&d.Hash, &d.UserCodeHash, &d.ClientID, &d.Scopes, &d.GrantID, &interval, &polled, &created,
		&expires, &status, &d.UserID, &d.SessionID, &auth, &d.AMR, &decided, &used)
	if err != nil {
		return store.DeviceCode{}, err
	}
	d.Scopes, d.AMR = list(d.Scopes), list(d.AMR)
	d.Interval, d.Status = time.Duration(interval), store.DeviceStatus(status)
	d.LastPolledAt, d.CreatedAt, d.ExpiresAt = fromNanos(polled), fromNanos(created), fromNanos(expires)
	d.AuthTime, d.DecidedAt, d.UsedAt = fromNanos(auth), fromNanos(decided), fromNullNanos(used)
	return d, nil
}

const selectDevice = `SELECT ` + deviceCols + ` FROM device_codes WHERE hash = $1`

// CreateDeviceCode inserts d; ErrAlreadyExists on a taken hash or user
// code hash.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO device_codes (`+deviceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		d.Hash, d.UserCodeHash, d.ClientID, d.Scopes, d.GrantID, int64(d.Interval), toNanos(d.LastPolledAt), toNanos(d.CreatedAt),
		toNanos(d.ExpiresAt), string(d.Status), d.UserID, d.SessionID, toNanos(d.AuthTime), d.AMR, toNanos(d.DecidedAt), toNullNanos(d.UsedAt))
	return mapErr("create device code", err)
}

// GetDeviceCodeByUserCode returns the record with no validity checks.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (store.DeviceCode, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE user_code_hash = $1`, userCodeHash))
	return d, mapErr("get device code", err)
}

// DecideDeviceCode records the user's decision once.
//
// What makes it single-use: one conditional UPDATE ... WHERE status =
// 'pending'. A concurrent UPDATE of the row waits for the first one's row
// lock and re-evaluates the WHERE clause on the committed version (READ
// COMMITTED's recheck), finds it decided and matches nothing; it then
// reads the row to say why.
func (s *Store) DecideDeviceCode(ctx context.Context, userCodeHash string, now time.Time, dec store.DeviceDecision) (store.DeviceCode, error) {
	const op = "decide device code"
	status := store.DeviceDenied
	if dec.Approved {
		status = store.DeviceApproved
	}
	n := toNanos(now)
	d, err := scanDevice(s.pool.QueryRow(ctx, `UPDATE device_codes SET status = $2, user_id = $3, session_id = $4,
		auth_time = $5, amr = $6, decided_at = $7
		WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $7 RETURNING `+deviceCols,
		userCodeHash, string(status), dec.UserID, dec.SessionID, toNanos(dec.AuthTime), dec.AMR, n))
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.DeviceCode{}, mapErr(op, err)
	}
	old, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE user_code_hash = $1`, userCodeHash))
	switch {
	case err != nil:
		return store.DeviceCode{}, mapErr(op, err)
	case old.Status != store.DevicePending:
		return store.DeviceCode{}, mapErr(op, store.ErrCodeUsed)
	default:
		return store.DeviceCode{}, mapErr(op, store.ErrExpired)
	}
}

// PollDeviceCode records one poll (store.NextPoll).
//
// What makes it atomic: SELECT ... FOR UPDATE takes the row lock for the
// transaction, so concurrent polls (any connection, any instance) run one
// after the other and each reads the LastPolledAt and Interval the
// previous one committed.
func (s *Store) PollDeviceCode(ctx context.Context, hash string, now time.Time, step time.Duration) (store.DeviceCode, bool, error) {
	const op = "poll device code"
	var (
		d    store.DeviceCode
		slow bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRow(ctx, selectDevice+` FOR UPDATE`, hash))
		switch {
		case err != nil:
			return mapErr(op, err)
		case !d.UsedAt.IsZero():
			return mapErr(op, store.ErrCodeUsed)
		case !d.ExpiresAt.After(now):
			return mapErr(op, store.ErrExpired)
		}
		d, slow = store.NextPoll(d, now, step)
		_, err = tx.Exec(ctx, `UPDATE device_codes SET interval_ns = $2, last_polled_at = $3 WHERE hash = $1`,
			hash, int64(d.Interval), toNanos(d.LastPolledAt))
		return mapErr(op, err)
	}, nil)
	if errors.Is(err, store.ErrCodeUsed) {
		return d, false, err // with the record: the caller revokes d.GrantID
	}
	if err != nil {
		return store.DeviceCode{}, false, err
	}
	return d, slow, nil
}

// RedeemDeviceCode marks an approved record used and inserts its grant
// (and first refresh token), all or nothing.
//
// What makes it single-use: the conditional UPDATE ... WHERE used_at IS
// NULL AND status = 'approved' and the inserts run in one READ COMMITTED
// transaction holding the row lock until COMMIT. A concurrent UPDATE
// waits for it, re-evaluates the WHERE clause on the committed version,
// matches nothing and answers ErrCodeUsed (after a rollback it redeems
// the row itself). So exactly one caller succeeds.
func (s *Store) RedeemDeviceCode(ctx context.Context, hash string, now time.Time, g store.Grant, rt *store.RefreshToken) (store.DeviceCode, error) {
	const op = "redeem device code"
	if rt != nil && rt.GrantID != g.ID {
		return store.DeviceCode{}, fmt.Errorf("postgres: %s: refresh token's grant %q is not %q", op, rt.GrantID, g.ID)
	}
	n := toNanos(now)
	var d store.DeviceCode
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRow(ctx, `UPDATE device_codes SET used_at = $2
			WHERE hash = $1 AND used_at IS NULL AND status = 'approved' AND expires_at > $2 RETURNING `+deviceCols, hash, n))
		if errors.Is(err, pgx.ErrNoRows) {
			old, err := scanDevice(tx.QueryRow(ctx, selectDevice, hash))
			switch {
			case err != nil:
				return mapErr(op, err)
			case !old.UsedAt.IsZero():
				d = old // returned with ErrCodeUsed: the caller revokes its GrantID
				return mapErr(op, store.ErrCodeUsed)
			case !old.ExpiresAt.After(now):
				return mapErr(op, store.ErrExpired)
			default:
				return fmt.Errorf("postgres: %s: device code is %s, not approved", op, old.Status)
			}
		}
		if err != nil {
			return mapErr(op, err)
		}
		if d.GrantID != g.ID {
			return fmt.Errorf("postgres: %s: grant %q is not the device code's grant %q", op, g.ID, d.GrantID)
		}
		return mapErr(op, insertGrantWithToken(ctx, tx, g, rt))
	}, nil)
	if errors.Is(err, store.ErrCodeUsed) {
		return d, err
	}
	if err != nil {
		return store.DeviceCode{}, err
	}
	return d, nil
}
