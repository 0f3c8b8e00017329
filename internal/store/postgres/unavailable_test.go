package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
)

// TestUnavailable: a refused connection and a passed deadline are
// "cannot answer right now"; the store's contract errors, a constraint
// violation and a syntax error are answers.
func TestUnavailable(t *testing.T) {
	// A port nobody listens on: the connection is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, refused := postgres.Open(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable", postgres.Options{ConnectTimeout: time.Second})
	if refused == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"too many connections", fmt.Errorf("postgres: x: %w", &pgconn.PgError{Code: "53300"}), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"not found", fmt.Errorf("postgres: get: %w", store.ErrNotFound), false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	} {
		if got := postgres.Unavailable(tt.err); got != tt.want {
			t.Errorf("Unavailable(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
