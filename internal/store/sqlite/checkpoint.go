package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints off the write path.
//
// In WAL mode a commit appends pages to the -wal file; a checkpoint copies
// them back into the database file, fsyncing the WAL before and the
// database after (synchronous=NORMAL: the only fsyncs SQLite makes). By
// default the connection whose commit takes the WAL past 1 000 pages runs
// the checkpoint inside that commit. Here that connection is the writer,
// and every write of the process waits behind it (batch.go): each
// checkpoint stalled all writes for two fsyncs and the copy.
//
// So the checkpoints move to a checkpointer goroutine on a connection of
// its own, concurrent with the writes: the committer signals it after
// every batch, and it runs a PASSIVE checkpoint (which takes no lock a
// writer or reader waits for), then waits checkpointGap before it answers
// the next signal.
//
// What a power loss can lose is what a checkpoint has not fsynced yet: the
// writes of at most checkpointGap plus one checkpoint — bounded in time,
// also when the server goes idle (before, an idle server kept its last
// writes unsynced until the next thousand pages). See "SQLite durability"
// in docs/performance.md.
//
// A checkpoint concurrent with writes cannot rewind the WAL: SQLite starts
// the file over only when a writer finds every frame already copied, which
// continuous writes never let it see. So the writer keeps SQLite's own
// checkpoint, at walLimit frames (walLimitFrames, 16 MiB of 4 KiB pages,
// four times SQLite's default): under sustained writes the WAL grows to
// that length, the writer's checkpoint then has only the frames of the
// last checkpointGap to copy, and the next write rewinds the file. (A
// RESTART checkpoint from the checkpointer would rewind it too, but it
// holds the writers back for as long as any reader still reads the WAL:
// seconds, under a read-heavy load.)
const (
	checkpointGap  = 20 * time.Millisecond
	walLimitFrames = 4000
)

// startCheckpointer opens the checkpoint connection and starts its
// goroutine. It runs until stopCommitter closes s.quit.
func (s *Store) startCheckpointer(path string) error {
	c, err := sql.Open("sqlite", dsn(path, roleCheckpointer, 0))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	c.SetConnMaxIdleTime(0)
	s.ckpt = c
	s.ckptDone = make(chan struct{})
	go s.checkpointer()
	return nil
}

// signalWrite tells the checkpointer that a batch was committed. s.wrote
// exists before the committer starts (the migrations are written before
// the checkpointer starts, and it checkpoints them first).
func (s *Store) signalWrite() {
	select {
	case s.wrote <- struct{}{}:
	default: // one is pending already
	}
}

func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	gap := time.NewTimer(0)
	<-gap.C
	for {
		select {
		case <-s.wrote:
		case <-s.quit:
			return
		}
		s.checkpoint()
		gap.Reset(checkpointGap)
		select {
		case <-gap.C:
		case <-s.quit:
			return
		}
	}
}

// checkpoint runs a PASSIVE checkpoint. Errors (SQLITE_BUSY while another
// process's checkpoint runs) are left to the next round: a checkpoint
// that did not run loses nothing, it only leaves the WAL longer.
func (s *Store) checkpoint() {
	var busy, frames, checkpointed int
	s.ckpt.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &checkpointed)
}
