package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// makeBlobs creates a scratch table for the checkpoint tests.
func makeBlobs(t *testing.T, s *Store) {
	t.Helper()
	err := s.submit(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE blobs (b BLOB)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func insertBlob(ctx context.Context, s *Store, size int) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO blobs (b) VALUES (randomblob(?))`, size)
		return err
	})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCheckpointAfterWrite: committed pages reach the database file (the
// checkpoint that fsyncs them) within moments of the write, without the
// thousand WAL pages SQLite's automatic checkpoint waited for — so what a
// power loss can take is bounded in time, also when the server then goes
// idle. 2 MiB is 512 pages: the automatic checkpoint would never run.
func TestCheckpointAfterWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s := open(t, path)
	makeBlobs(t, s)
	before := fileSize(t, path)
	const size = 2 << 20
	for range 8 {
		if err := insertBlob(t.Context(), s, size/8); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) < before+size {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after writing %d: the writes were not checkpointed", fileSize(t, path), size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCheckpointBoundsWAL: under writes that never pause, with readers
// reading all along, the WAL file stays bounded: the checkpointer's
// checkpoints alone can never rewind it (a writer always finds frames
// appended since the last one), so at walLimit frames the writer
// checkpoints too, and the next write rewinds it.
func TestCheckpointBoundsWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := openStore(t.Context(), path, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	makeBlobs(t, s)

	// Write 6 MiB in 16 KiB rows, one commit each, while 4 readers read
	// (a pause after each read: a reader that never pauses starves every
	// checkpoint of its chance to rewind the WAL, as SQLite documents).
	const total, row = 6 << 20, 16 << 10
	ctx, cancel := context.WithCancel(t.Context())
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for ctx.Err() == nil {
				s.r.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(new(int))
				time.Sleep(time.Millisecond)
			}
		})
	}
	for range total / row {
		if err := insertBlob(t.Context(), s, row); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	readers.Wait()
	// 64 frames (256 KiB), plus what is written during one commit; without
	// the writer's checkpoint it grows to more than the whole 6 MiB.
	wal := fileSize(t, path+"-wal")
	if limit := int64(total / 3); wal > limit {
		t.Errorf("WAL file grew to %d KiB under %d MiB of writes, want at most %d KiB", wal>>10, total>>20, limit>>10)
	}
}
