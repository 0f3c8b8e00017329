package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestGroupCommitIsolatesWrites: many concurrent writes (so the committer
// batches them): a failing write leaves nothing behind even after it wrote
// a row, a commitErr write keeps its row and reports its error, a write
// whose context is already done does not run, and every other write
// commits.
func TestGroupCommitIsolatesWrites(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "latch.db"))
	ctx := t.Context()
	errBoom := errors.New("boom")
	insert := func(tx *sql.Tx, key string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO once_values (key, expires_at) VALUES (?, 1)`, key)
		return err
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			switch i % 4 {
			case 0, 1: // plain write
				errs[i] = s.writeTx(ctx, func(tx *sql.Tx) error { return insert(tx, key) })
			case 2: // writes, then fails: must be undone
				errs[i] = s.writeTx(ctx, func(tx *sql.Tx) error {
					if err := insert(tx, key); err != nil {
						return err
					}
					return errBoom
				})
			case 3: // writes, then reports a result that still commits
				errs[i] = s.writeTx(ctx, func(tx *sql.Tx) error {
					if err := insert(tx, key); err != nil {
						return err
					}
					return commitErr{store.ErrRefreshReused}
				})
			}
		})
	}
	wg.Wait()
	for i := range n {
		var count int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM once_values WHERE key = ?`, fmt.Sprintf("k%d", i)).Scan(&count); err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0, 1:
			if errs[i] != nil || count != 1 {
				t.Errorf("write %d: err %v, rows %d; want nil, 1", i, errs[i], count)
			}
		case 2:
			if !errors.Is(errs[i], errBoom) || count != 0 {
				t.Errorf("failing write %d: err %v, rows %d; want boom, 0 (rolled back)", i, errs[i], count)
			}
		case 3:
			if !errors.Is(errs[i], store.ErrRefreshReused) || count != 1 {
				t.Errorf("commitErr write %d: err %v, rows %d; want ErrRefreshReused, 1 (kept)", i, errs[i], count)
			}
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := s.writeTx(cancelled, func(*sql.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("write with a done context: err %v, ran %v; want context.Canceled and not run", err, ran)
	}
}

// TestGroupCommitBatchFailureReruns drives one batch directly: when a
// write breaks the shared transaction (here it rolls it back itself, as
// SQLite does when a statement is interrupted), nothing of the batch is
// committed by it, and every write is run again alone, so the others still
// succeed; a write that failed inside the batch is retried alone too.
func TestGroupCommitBatchFailureReruns(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "latch.db"))
	ctx := t.Context()
	attempts := make([]int, 6)
	var batch []*writeReq
	for i := range attempts {
		batch = append(batch, &writeReq{ctx: ctx, done: make(chan error, 1), fn: func(tx *sql.Tx) error {
			attempts[i]++
			if i == 3 && attempts[i] == 1 {
				_, err := tx.ExecContext(ctx, `ROLLBACK`) // the transaction is gone
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO once_values (key, expires_at) VALUES (?, 1)`, fmt.Sprintf("r%d", i))
			return err
		}})
	}
	s.runBatch(batch) // the committer is idle: the writer connection is free
	for i, r := range batch {
		err := <-r.done
		var count int
		if qerr := s.r.QueryRowContext(ctx, `SELECT count(*) FROM once_values WHERE key = ?`, fmt.Sprintf("r%d", i)).Scan(&count); qerr != nil {
			t.Fatal(qerr)
		}
		if err != nil || count != 1 {
			t.Errorf("write %d: err %v, rows %d; want nil, 1", i, err, count)
		}
	}
	// Writes before the break ran in the batch and again alone; after it,
	// only alone (the batch stopped at the break).
	for i, n := range attempts {
		want := 2
		if i > 3 {
			want = 1
		}
		if n != want {
			t.Errorf("write %d ran %d times, want %d", i, n, want)
		}
	}
}

// TestGroupCommitBatchDirect: in one batch, a failing write's row is
// rolled back to its savepoint while its neighbours commit.
func TestGroupCommitBatchDirect(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "latch.db"))
	ctx := t.Context()
	errBoom := errors.New("boom")
	var batch []*writeReq
	for i := range 3 {
		batch = append(batch, &writeReq{ctx: ctx, done: make(chan error, 1), fn: func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO once_values (key, expires_at) VALUES (?, 1)`, fmt.Sprintf("d%d", i)); err != nil {
				return err
			}
			if i == 1 {
				return errBoom
			}
			return nil
		}})
	}
	s.runBatch(batch)
	for i, r := range batch {
		err := <-r.done
		var count int
		s.r.QueryRowContext(ctx, `SELECT count(*) FROM once_values WHERE key = ?`, fmt.Sprintf("d%d", i)).Scan(&count)
		wantErr, wantCount := error(nil), 1
		if i == 1 {
			wantErr, wantCount = errBoom, 0
		}
		if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) || count != wantCount {
			t.Errorf("write %d: err %v, rows %d; want %v, %d", i, err, count, wantErr, wantCount)
		}
	}
}

// TestWritesAfterCloseFail: the committer is gone after Close.
func TestWritesAfterCloseFail(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.UseOnce(t.Context(), "k", time.Now().Add(time.Minute)); err == nil {
		t.Error("UseOnce after Close succeeded")
	}
	if err := s.writeTx(t.Context(), func(*sql.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("writeTx after Close = %v, want errClosed", err)
	}
}
