package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenStoreRejects(t *testing.T) {
	for _, tc := range []struct {
		dsn, want string
	}{
		{"sqlite:", "want sqlite:PATH"},
		{"sqlite://var/lib/latch.db", "want sqlite:PATH"},
		{"mysql://root:hunter2@db/latch", `unsupported scheme "mysql"`},
		{"postgress://u:hunter2@db/latch", `unsupported scheme "postgress"`},
		{"user:hunter2@db/latch", `unsupported scheme "user"`},
		{"latch.db", "unsupported value"},
		{"", "unsupported value"},
	} {
		s, err := openStore(t.Context(), tc.dsn, 0)
		if err == nil {
			s.Close()
			t.Errorf("openStore(%q) succeeded, want an error", tc.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("openStore(%q) = %v, want an error containing %q", tc.dsn, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("openStore(%q) error leaks the password: %v", tc.dsn, err)
		}
	}
}

func TestOpenStoreSQLiteCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := openStore(t.Context(), "sqlite:"+filepath.Join(dir, "latch.db"), 0)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database directory mode = %v, want no group or other access", perm)
	}
}

func TestSecretFile(t *testing.T) {
	for _, tc := range []struct {
		dsn, want string
		ok        bool
	}{
		{"sqlite:.latch/latch.db", filepath.Join(".latch", "secret"), true},
		{"sqlite:/var/lib/latch/dev.db", "/var/lib/latch/secret", true},
		{"sqlite:latch.db", "secret", true},
		{"sqlite:", "", false},
		{"postgres://h/db", "", false},
	} {
		got, ok := secretFile(tc.dsn)
		if got != tc.want || ok != tc.ok {
			t.Errorf("secretFile(%q) = %q, %v; want %q, %v", tc.dsn, got, ok, tc.want, tc.ok)
		}
	}
}
