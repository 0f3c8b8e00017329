package password

import (
	"testing"
	"testing/synctest"
)

// TestHasherBoundsConcurrentHashes: with every slot taken, Verify waits
// instead of allocating another argon2 block (memory stays bounded), and
// proceeds as soon as a slot frees up.
func TestHasherBoundsConcurrentHashes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := NewHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := h.Hash("pw")
		if err != nil {
			t.Fatal(err)
		}
		for range cap(h.slots) {
			h.slots <- struct{}{}
		}
		done := make(chan bool)
		go func() { done <- h.Verify("pw", enc) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Verify ran while every slot was taken")
		default:
		}
		<-h.slots
		synctest.Wait()
		if ok := <-done; !ok {
			t.Error("Verify after a slot freed up = false, want true")
		}
		if len(h.slots) != cap(h.slots)-1 {
			t.Errorf("%d slots taken after Verify returned, want %d (its slot released)", len(h.slots), cap(h.slots)-1)
		}
	})
}
