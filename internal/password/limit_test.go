package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
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

// TestVerifyContextQueueBound: with every slot taken and Limits.Queue
// callers waiting, one more VerifyContext gets ErrBusy at once instead of
// queueing (a sign-in burst cannot pile up); a waiter whose context ends
// gives up with the context's error; a freed slot goes to a waiter.
func TestVerifyContextQueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := NewLimitedHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1}, Limits{Concurrency: 1, Queue: 2})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := h.Hash("pw")
		if err != nil {
			t.Fatal(err)
		}
		h.slots <- struct{}{} // the one slot is busy
		ctx, cancel := context.WithCancel(t.Context())
		waiter := make(chan error, 2)
		okWaiter := make(chan bool, 1)
		go func() { _, err := h.VerifyContext(ctx, "pw", enc); waiter <- err }()
		go func() {
			ok, err := h.VerifyContext(t.Context(), "pw", enc)
			okWaiter <- ok && err == nil
		}()
		synctest.Wait()
		if _, err := h.VerifyContext(t.Context(), "pw", enc); !errors.Is(err, ErrBusy) {
			t.Fatalf("VerifyContext with the slot busy and the queue full = %v, want ErrBusy", err)
		}
		cancel()
		if err := <-waiter; !errors.Is(err, context.Canceled) {
			t.Errorf("waiter whose context ended = %v, want context.Canceled", err)
		}
		<-h.slots // the slot frees up: the remaining waiter runs
		if !<-okWaiter {
			t.Error("waiter after the slot freed up: no match")
		}
		if n := h.waiting.Load(); n != 0 {
			t.Errorf("%d callers still counted as waiting, want 0", n)
		}
	})
}

// TestVerifyContextBurst: of many concurrent sign-ins with the slot held,
// exactly Queue wait and the rest are refused at once.
func TestVerifyContextBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const burst, queue = 50, 4
		h, err := NewLimitedHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1}, Limits{Concurrency: 1, Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
		h.slots <- struct{}{}
		errs := make(chan error, burst)
		for range burst {
			go func() { _, err := h.VerifyContext(t.Context(), "pw", ""); errs <- err }()
		}
		synctest.Wait()
		busy := 0
		for range burst - queue {
			if errors.Is(<-errs, ErrBusy) {
				busy++
			}
		}
		if busy != burst-queue {
			t.Errorf("%d of %d concurrent callers refused with ErrBusy, want %d", busy, burst, burst-queue)
		}
		<-h.slots
		for range queue {
			if err := <-errs; err != nil {
				t.Errorf("queued caller: %v", err)
			}
		}
	})
}

// TestSaturated: Saturated is true exactly when every slot is taken and
// Limits.Queue callers wait — then VerifyContext answers ErrBusy — and
// never for a Hasher without a queue bound.
func TestSaturated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := NewLimitedHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1}, Limits{Concurrency: 1, Queue: 1})
		if err != nil {
			t.Fatal(err)
		}
		if h.Saturated() {
			t.Fatal("an idle hasher is saturated")
		}
		h.slots <- struct{}{} // the one slot is taken
		if h.Saturated() {
			t.Fatal("saturated with the queue still empty")
		}
		ctx, cancel := context.WithCancel(t.Context())
		go h.VerifyContext(ctx, "pw", "") // waits in the queue
		synctest.Wait()
		if !h.Saturated() {
			t.Fatal("not saturated with the slot taken and the queue full")
		}
		if _, err := h.VerifyContext(t.Context(), "pw", ""); !errors.Is(err, ErrBusy) {
			t.Fatalf("VerifyContext when saturated: %v, want ErrBusy", err)
		}
		cancel()
		synctest.Wait()
		<-h.slots

		unbounded, err := NewHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1})
		if err != nil {
			t.Fatal(err)
		}
		for range cap(unbounded.slots) {
			unbounded.slots <- struct{}{}
		}
		if unbounded.Saturated() {
			t.Fatal("a hasher without a queue bound is saturated")
		}
	})
}

// TestOnIdle: Limits.OnIdle runs once IdleAfter has passed since the last
// hash finished — not during a burst, not while a hash still holds a slot,
// and once per idle period however many hashes the burst had.
func TestOnIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h, err := NewLimitedHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1}, Limits{Concurrency: 2, Queue: -1, OnIdle: func() { calls.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * IdleAfter)
		if n := calls.Load(); n != 0 {
			t.Fatalf("OnIdle ran %d times before any hash, want 0 (the dummy hash is not a sign-in)", n)
		}
		enc, err := h.Hash("pw")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { h.Verify("pw", enc) })
		}
		wg.Wait()
		time.Sleep(IdleAfter / 2)
		h.Verify("pw", enc) // another sign-in half-way: the wait starts over
		time.Sleep(IdleAfter - time.Millisecond)
		synctest.Wait()
		if n := calls.Load(); n != 0 {
			t.Fatalf("OnIdle ran %d times less than IdleAfter after the last hash, want 0", n)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("OnIdle ran %d times IdleAfter after the burst, want 1", n)
		}
		time.Sleep(10 * IdleAfter)
		if n := calls.Load(); n != 1 {
			t.Fatalf("OnIdle ran %d times over a long idle period, want 1", n)
		}

		// A hash holding a slot when the timer fires: no call until it ends.
		h.Verify("pw", enc)
		h.slots <- struct{}{}
		time.Sleep(3 * IdleAfter)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("OnIdle ran while a hash held a slot (%d calls, want 1)", n)
		}
		h.release()
		time.Sleep(IdleAfter + time.Millisecond)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("OnIdle ran %d times after the held slot was released, want 2", n)
		}
	})
}
