package main

import (
	"context"
	"fmt"

	"github.com/latchauth/latch/internal/store"
)

var migrateHelp = cmdHelp{
	name:     "migrate",
	synopsis: "[flags]",
	text: `Applies pending database migrations. Every command that opens the
database does the same, so this is for deployments that migrate before
starting new servers. Safe to run while other instances are running.`,
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	h := migrateHelp
	fs := newFlagSet(h.name)
	shared := addSharedFlags(fs, false)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	// openStore migrates; there is nothing else to do.
	if err := withStore(ctx, cfg.DB, cfg.DBMaxConns, func(store.Store) error { return nil }); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "migrations applied")
	return nil
}
