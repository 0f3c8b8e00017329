//go:build unix

package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestFilesPrivateUnderUmask022 is the attack "read the database as
// another local user": with the common umask 022 in effect, the database
// file and its -wal and -shm companions must all be 0600 once written,
// both for a new database and for one an older Latch left at 0644.
// Not parallel: the umask is process-wide.
func TestFilesPrivateUnderUmask022(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })

	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"new", func(*testing.T, string) {}},
		{"existing 0644", func(t *testing.T, path string) {
			s := open(t, path)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "latch.db")
			tc.prepare(t, path)
			s := open(t, path)
			// Writes create the WAL; a reader maps the shared memory.
			if err := s.CreateUser(t.Context(), store.User{ID: "u", Username: "alice", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetUser(t.Context(), "u"); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatalf("stat %s: %v", filepath.Base(p), err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("mode of %s = %v, want -rw-------", filepath.Base(p), got)
				}
			}
		})
	}
}
