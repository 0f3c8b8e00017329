//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/latchauth/latch/internal/store"
)

// TestMigrateCreatesPrivateFiles: `latch migrate` under umask 022 leaves
// the database, WAL and SHM files readable by the owner only (0600), also
// after later writes. Not parallel: the umask is process-wide.
func TestMigrateCreatesPrivateFiles(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	h := newHarness(t)
	h.ok("", "migrate")
	s := h.store()
	if err := s.CreateUser(t.Context(), store.User{ID: "u", Username: "alice", CreatedAt: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(t.Context(), "u"); err != nil {
		t.Fatal(err)
	}
	path, _ := sqlitePath(h.db)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", filepath.Base(p), err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode of %s = %v, want -rw-------", filepath.Base(p), got)
		}
	}
}
