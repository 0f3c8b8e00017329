package storetest

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// Bench runs the hot-path benchmarks against the backend built by
// newStore (a fresh, empty store per sub-benchmark, closed by the caller's
// b.Cleanup). Parallel variants use b.RunParallel (GOMAXPROCS goroutines,
// or more with -cpu / b.SetParallelism).
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("CodeCreateConsume", func(b *testing.B) {
		s := newStore(b)
		seed(b, s)
		ctx := b.Context()
		i := 0
		for b.Loop() {
			i++
			h := "code-" + strconv.Itoa(i)
			if err := s.CreateAuthCode(ctx, fixCode(h, clientA, user1, "g-"+h, at(time.Minute))); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ConsumeAuthCode(ctx, h, base); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CodeCreateConsumeParallel", func(b *testing.B) {
		s := newStore(b)
		seed(b, s)
		ctx := b.Context()
		var id counter
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h := "code-" + strconv.FormatInt(id.next(), 10)
				if err := s.CreateAuthCode(ctx, fixCode(h, clientA, user1, "g-"+h, at(time.Minute))); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.ConsumeAuthCode(ctx, h, base); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("CreateGrantWithRefresh", func(b *testing.B) {
		s := newStore(b)
		seed(b, s)
		ctx := b.Context()
		i := 0
		for b.Loop() {
			i++
			g := fixGrant("g-"+strconv.Itoa(i), clientA, user1, at(24*time.Hour))
			rt := fixRefresh("rt-"+strconv.Itoa(i), g, base, at(time.Hour))
			if err := s.CreateGrant(ctx, g, &rt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RotateRefreshToken", func(b *testing.B) {
		s := newStore(b)
		seed(b, s)
		ctx := b.Context()
		g := fixGrant("g", clientA, user1, time.Time{})
		rt := fixRefresh("rt-0", g, base, at(365*24*time.Hour))
		if err := s.CreateGrant(ctx, g, &rt); err != nil {
			b.Fatal(err)
		}
		prev, i := "rt-0", 0
		for b.Loop() {
			i++
			h := "rt-" + strconv.Itoa(i)
			now := at(time.Duration(i) * time.Millisecond)
			if _, _, err := s.RotateRefreshToken(ctx, prev, nextRT(g, h, now), now, 0); err != nil {
				b.Fatal(err)
			}
			prev = h
		}
	})
	b.Run("GetClient", func(b *testing.B) {
		s := newStore(b)
		seed(b, s)
		benchRead(b, func() error { _, err := s.GetClient(b.Context(), clientA); return err })
	})
	b.Run("GetSession", func(b *testing.B) {
		s := newStore(b)
		seed(b, s)
		if err := s.CreateSession(b.Context(), fixSession("sess", user1, at(time.Hour))); err != nil {
			b.Fatal(err)
		}
		benchRead(b, func() error { _, err := s.GetSession(b.Context(), "sess", base); return err })
	})
	b.Run("IsAccessTokenRevoked", func(b *testing.B) {
		s := newStore(b)
		for i := range 1000 {
			if err := s.RevokeAccessToken(b.Context(), fmt.Sprintf("jti-%d", i), at(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
		benchRead(b, func() error {
			revoked, err := s.IsAccessTokenRevoked(b.Context(), "jti-500")
			if err == nil && !revoked {
				err = fmt.Errorf("jti-500 not revoked")
			}
			return err
		})
	})
}

// benchRead runs a read serially and, as a /Parallel sub-benchmark, from
// GOMAXPROCS goroutines.
func benchRead(b *testing.B, read func() error) {
	b.Run("Serial", func(b *testing.B) {
		for b.Loop() {
			if err := read(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := read(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// counter hands out unique IDs to parallel benchmark goroutines.
type counter struct{ n atomic.Int64 }

func (c *counter) next() int64 { return c.n.Add(1) }
