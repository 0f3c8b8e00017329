package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
)

// Group commit.
//
// Every write (writeTx, exec) is a function run inside a transaction on
// the single writer connection. One goroutine, the committer, runs them:
// it takes the first waiting write, then every other write already waiting
// (up to maxBatch), and runs them all in ONE BEGIN IMMEDIATE transaction,
// each inside its own SAVEPOINT, then commits once and answers each caller.
//
// Why: under concurrent load the cost of a write is dominated by the
// transaction, not the statements: BEGIN takes the file locks (fcntl),
// COMMIT appends every dirty page to the WAL (pwrite per page), and pages
// shared by consecutive writes (index leaves of expires_at, which always
// grow at the right edge) are written once per transaction. Batching pays
// these once per batch instead of once per write. A lone write is a
// batch of one and costs what it did before.
//
// What it preserves:
//   - Isolation of each write: a write that fails rolls back to its
//     savepoint (its partial changes vanish) and the others still commit;
//     commitErr keeps its writes, as before. Writes in one batch run one
//     after the other, each seeing the ones before it: the same serial
//     order as one transaction per write.
//   - Durability of answers: a caller hears nil only after the COMMIT that
//     contains its write.
//   - Atomicity across processes: the batch holds SQLite's write lock from
//     BEGIN IMMEDIATE to COMMIT, exactly as one write did.
//   - Cancellation: a write whose context is done before it runs is not
//     run. If anything leaves the batch transaction unusable (a write
//     cancelled while its statement ran makes SQLite roll back the whole
//     transaction), nothing of the batch was committed, and every write of
//     it is run again alone, in its own transaction, as without batching.
const maxBatch = 32

// writeReq is one write waiting for the committer.
type writeReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error // buffered: the committer never blocks on it
}

// errClosed is returned by writes after Close.
var errClosed = errors.New("sqlite: store closed")

// startCommitter starts the goroutine that runs every write.
func (s *Store) startCommitter() {
	s.writes = make(chan *writeReq)
	s.quit = make(chan struct{})
	s.committerDone = make(chan struct{})
	go s.committer()
}

// stopCommitter stops the committer (writes after it fail with errClosed)
// and the checkpointer.
func (s *Store) stopCommitter() {
	if s.quit == nil {
		return
	}
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.committerDone
	if s.ckptDone != nil {
		<-s.ckptDone
	}
}

// submit hands fn to the committer and waits for its result.
func (s *Store) submit(ctx context.Context, fn func(tx *sql.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- r:
	case <-s.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, the write is answered whatever happens to ctx, so
	// the caller never returns while its write may still commit.
	return <-r.done
}

func (s *Store) committer() {
	defer close(s.committerDone)
	for {
		var first *writeReq
		select {
		case first = <-s.writes:
		case <-s.quit:
			return
		}
		batch := s.gather(first)
		if len(batch) == 1 {
			first.done <- s.runAlone(first)
		} else {
			s.runBatch(batch)
		}
		s.signalWrite()
	}
}

// gather collects the writes waiting behind first, up to maxBatch. When
// none is waiting yet it yields the processor once: the goroutines that are
// about to write (often just finishing a signature) get to hand over their
// writes, and one commit serves them all. With nothing else runnable the
// yield returns at once.
func (s *Store) gather(first *writeReq) []*writeReq {
	batch := []*writeReq{first}
	yielded := false
	for len(batch) < maxBatch {
		select {
		case r := <-s.writes:
			batch = append(batch, r)
			continue
		default:
		}
		if yielded {
			break
		}
		yielded = true
		runtime.Gosched()
	}
	return batch
}

// runAlone runs one write in its own transaction (the behaviour without
// batching): BEGIN IMMEDIATE, fn, COMMIT or ROLLBACK. The transaction
// follows r.ctx, as database/sql transactions do.
func (s *Store) runAlone(r *writeReq) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(r.ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	err = r.fn(tx)
	var ce commitErr
	if err != nil && !errors.As(err, &ce) {
		tx.Rollback()
		return err
	}
	if cerr := tx.Commit(); cerr != nil {
		return fmt.Errorf("sqlite: commit: %w", mapErr(cerr))
	}
	if err != nil {
		return ce.err
	}
	return nil
}

// Savepoint statements of a batch (SQLite SAVEPOINT, RELEASE, ROLLBACK TO).
const (
	spBegin    = `SAVEPOINT w`
	spRelease  = `RELEASE w`
	spRollback = `ROLLBACK TO w`
)

// runBatch runs several writes in one transaction (see the comment at the
// top of this file) and answers each of them.
func (s *Store) runBatch(batch []*writeReq) {
	bg := context.Background()
	results := make([]error, len(batch))
	ok := func() bool {
		tx, err := s.w.BeginTx(bg, nil)
		if err != nil {
			return false
		}
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i] = err
				continue
			}
			if _, err := tx.ExecContext(bg, spBegin); err != nil {
				tx.Rollback()
				return false
			}
			err := r.fn(tx)
			var ce commitErr
			switch {
			case err == nil:
			case errors.As(err, &ce):
				err = ce.err // keep its writes, report the result
			default:
				// Undo this write only. If the transaction itself is gone
				// (SQLite rolled it back), nothing of the batch survives.
				if _, rerr := tx.ExecContext(bg, spRollback); rerr != nil {
					tx.Rollback()
					return false
				}
			}
			if _, rerr := tx.ExecContext(bg, spRelease); rerr != nil {
				tx.Rollback()
				return false
			}
			results[i] = err
		}
		return tx.Commit() == nil
	}()
	if !ok {
		// Nothing was committed: run each write again, alone.
		for _, r := range batch {
			r.done <- s.runAlone(r)
		}
		return
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}
