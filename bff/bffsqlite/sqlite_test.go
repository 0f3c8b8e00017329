package bffsqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/bff/bffsqlite"
	"github.com/latchauth/latch/bff/bffstoretest"
)

func TestConformance(t *testing.T) {
	bffstoretest.Run(t, func(t *testing.T) bff.SessionStore {
		s, err := bffsqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bff.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
