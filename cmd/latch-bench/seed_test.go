package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// TestSeedData: --seed-grants writes rows the stores read back as live
// grants with live refresh tokens of their seeded users, on SQLite and
// PostgreSQL (the bulk SQL follows both schemas).
func TestSeedData(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (store.Store, string)
	}{
		{"sqlite", func(t *testing.T) (store.Store, string) {
			path := filepath.Join(t.TempDir(), "latch.db")
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			return st, "sqlite:" + path
		}},
		{"postgres", func(t *testing.T) (store.Store, string) {
			dsn := pgtest.NewTestDB(t)
			st, err := postgres.Open(t.Context(), dsn, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st, dsn
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, db := tc.open(t)
			defer st.Close()
			if err := st.CreateClient(t.Context(), store.Client{ID: "spa", Public: true, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := seedData(t.Context(), db, "spa", 10, 100, now); err != nil {
				t.Fatalf("seedData: %v", err)
			}
			p := fmt.Sprintf("seed-%x-", now.UnixNano())
			g, err := st.GetGrant(t.Context(), p+"g-42")
			if err != nil || g.ClientID != "spa" || g.UserID != p+"u-2" || !g.AbsoluteExpiresAt.After(now) || !g.RevokedAt.IsZero() {
				t.Errorf("GetGrant(g-42) = %+v, %v; want a live grant of spa for u-2", g, err)
			}
			rt, err := st.GetRefreshToken(t.Context(), p+"r-42")
			if err != nil || rt.GrantID != p+"g-42" || !rt.ExpiresAt.After(now) || !rt.RotatedAt.IsZero() {
				t.Errorf("GetRefreshToken(r-42) = %+v, %v; want g-42's live token", rt, err)
			}
			if u, err := st.GetUser(t.Context(), p+"u-9"); err != nil || u.Username != p+"user-9" {
				t.Errorf("GetUser(u-9) = %+v, %v", u, err)
			}
			if gs, err := st.ListUserGrants(t.Context(), p+"u-3"); err != nil || len(gs) != 10 {
				t.Errorf("ListUserGrants(u-3) = %d grants, %v; want 10", len(gs), err)
			}
		})
	}
}
