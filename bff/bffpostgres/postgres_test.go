package bffpostgres_test

import (
	"testing"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/bff/bffpostgres"
	"github.com/latchauth/latch/bff/bffstoretest"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

func TestConformance(t *testing.T) {
	bffstoretest.Run(t, func(t *testing.T) bff.SessionStore {
		s, err := bffpostgres.Open(t.Context(), pgtest.NewTestDB(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	})
}
