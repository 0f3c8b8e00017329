package bff_test

import (
	"testing"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/bff/bffstoretest"
)

func TestMemoryStore(t *testing.T) {
	bffstoretest.Run(t, func(*testing.T) bff.SessionStore { return bff.NewMemoryStore() })
}
