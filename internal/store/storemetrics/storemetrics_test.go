package storemetrics_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/store/storemetrics"
)

type call struct {
	method string
	failed bool
}

type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) ObserveStore(method string, _ time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{method, failed})
}

// TestInstrumentOutcomes: each call is reported under its method's name;
// the store contract's sentinel errors and a cancelled context are
// outcomes, not failures; a real failure is one.
func TestInstrumentOutcomes(t *testing.T) {
	raw, err := sqlite.Open(t.Context(), t.TempDir()+"/latch.db")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	st := storemetrics.Instrument(raw, rec)
	ctx := t.Context()
	if _, err := st.GetClient(ctx, "nobody"); err == nil {
		t.Fatal("GetClient of an unknown client succeeded")
	}
	c := store.Client{ID: "a", Public: true, CreatedAt: time.Now()}
	if err := st.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(ctx, c); err == nil {
		t.Fatal("second CreateClient succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = st.ListClients(cancelled)
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	_, _ = st.ListUsers(ctx) // a closed database: a failure
	want := []call{{"GetClient", false}, {"CreateClient", false}, {"CreateClient", false}, {"ListClients", false}, {"ListUsers", true}}
	if len(rec.calls) != len(want) {
		t.Fatalf("observed %v, want %v", rec.calls, want)
	}
	for i := range want {
		if rec.calls[i] != want[i] {
			t.Errorf("call %d observed as %+v, want %+v", i, rec.calls[i], want[i])
		}
	}
	if storemetrics.Instrument(raw, nil) != store.Store(raw) {
		t.Error("Instrument with a nil observer should return the store unchanged")
	}
}
