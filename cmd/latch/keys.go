package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"text/tabwriter"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// withKeys loads the key-encryption secret, opens the store and runs fn
// with a Keys over it.
func withKeys(ctx context.Context, e *env, cfg config.Config, fn func(store.Store, *token.Keys) error) error {
	if err := checkKeys(cfg, "signing-alg", "access-token-ttl", "id-token-ttl"); err != nil {
		return err
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return err
	}
	cfg.KeyEncryptionSecret = secret
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return withStore(ctx, cfg.DB, cfg.DBMaxConns, func(s store.Store) error {
		// The server's own constructor: same seal purpose, algorithms and
		// retired-key TTL, so what these commands list, rotate and prune
		// is exactly what the server signs with and publishes.
		k, err := app.NewKeys(cfg, s, e.now, logger)
		if err != nil {
			return err
		}
		return fn(s, k)
	})
}

// keysService runs fn with the admin service over the database and its
// keys (see withKeys); with load, the keys are loaded first: that
// decrypts them, so a wrong secret is reported before a key sealed with
// it is written.
func (l *localRecords) keysService(ctx context.Context, load bool, fn func(*manage.Service) error) error {
	return withKeys(ctx, l.e, l.cfg, func(s store.Store, k *token.Keys) error {
		if load {
			if err := k.Load(ctx); err != nil {
				return fmt.Errorf("loading the existing keys: %w", err)
			}
		}
		svc, err := l.newService(s, k)
		if err != nil {
			return err
		}
		return fn(svc)
	})
}

var keysListHelp = cmdHelp{
	name:     "keys list",
	synopsis: "[--json]",
	text: `Lists the signing keys, newest first. Status is next (published, signs
from its activation time), active (signing), published (retired, still in
the JWKS so tokens it signed verify), expired (retired and no longer
published) or inactive (never scheduled); 'latch keys prune' deletes expired
keys and old inactive ones.`,
}

func runKeysList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, keysListHelp, true)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	_, recs, err := cmd.open(args)
	if err != nil {
		return err
	}
	infos, err := recs.ListKeys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if infos == nil {
			infos = []token.KeyInfo{}
		}
		return writeJSON(e.stdout, infos)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tACTIVATES\tRETIRES\tPUBLISHED UNTIL")
	for _, k := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(k.ID), cell(k.Alg), cell(k.Status),
			fmtTime(k.CreatedAt), fmtTime(k.ActivateAt), fmtTime(k.RetiredAt), fmtTime(k.PublishedUntil))
	}
	return tw.Flush()
}

func (l *localRecords) ListKeys(ctx context.Context) ([]token.KeyInfo, error) {
	var infos []token.KeyInfo
	err := l.keysService(ctx, false, func(svc *manage.Service) error {
		var err error
		infos, err = svc.ListKeys(ctx)
		return err
	})
	return infos, err
}

var keysRotateHelp = cmdHelp{
	name:     "keys rotate",
	synopsis: "[--alg ALG] [--now]",
	text: `Schedules a new signing key for ALG. The key is published in the JWKS at
once and every instance starts signing with it at the printed activation
time, late enough that every instance and every relying party's cached JWKS
has it by then (the JWKS max-age plus key-refresh-interval plus a minute).
The key it replaces stops signing then but stays published until every
token it signed has expired. If a next key is already scheduled, nothing new
is made and that one is printed.

--now is the emergency path (a leaked key): the new key signs at once in the
instance that rotates (the admin API's server, or the next server to start).
Other instances keep signing with the old key, and lack the new one in their
JWKS, until their next key reload; relying parties that cached the JWKS
reject the new key's tokens until they fetch it again. Latch's verify
package refetches on an unknown kid; caches that do not may fail for up to
the JWKS max-age.`,
}

func runKeysRotate(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, keysRotateHelp, true)
	alg := cmd.fs.String("alg", "", "algorithm of the key to rotate: RS256, ES256 or EdDSA (default: signing-alg)")
	now := cmd.fs.Bool("now", false, "emergency: sign with the new key at once instead of at a scheduled time (breaks stale JWKS caches)")
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	if *alg != "" && !slices.Contains(token.Algorithms(), *alg) {
		return usageErrorf("keys rotate: unknown --alg %q (want %s)", *alg, orList(token.Algorithms()))
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	r, err := recs.RotateKey(ctx, *alg, *now)
	if err != nil {
		return err
	}
	switch {
	case r.AlreadyScheduled:
		fmt.Fprintf(e.stdout, "a rotation is already scheduled: %s key %s activates at %s\n", r.Key.Alg, r.Key.ID, fmtTime(r.Key.ActivateAt))
		return nil
	case r.Key.Status == token.StatusActive: // --now, or the algorithm's first key
		fmt.Fprintf(e.stdout, "new active %s key %s\n", r.Key.Alg, r.Key.ID)
	default:
		fmt.Fprintf(e.stdout, "new %s key %s: published now, activates at %s\n", r.Key.Alg, r.Key.ID, fmtTime(r.Key.ActivateAt))
	}
	if r.Retired != "" {
		fmt.Fprintf(e.stdout, "%s stops signing then and stays published until %s\n", r.Retired, fmtTime(r.RetiredPublishedUntil))
	}
	if r.Warning != "" {
		fmt.Fprintf(e.stderr, "warning: %s\n", r.Warning)
	}
	return nil
}

func (l *localRecords) RotateKey(ctx context.Context, alg string, now bool) (manage.Rotation, error) {
	var r manage.Rotation
	err := l.keysService(ctx, true, func(svc *manage.Service) error {
		var err error
		r, err = svc.RotateKey(ctx, alg, now)
		return err
	})
	return r, err
}

var keysPruneHelp = cmdHelp{
	name:     "keys prune",
	synopsis: "[flags]",
	text:     "Deletes retired signing keys that are no longer published in the JWKS.",
}

func runKeysPrune(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, keysPruneHelp, true)
	_, recs, err := cmd.open(args)
	if err != nil {
		return err
	}
	n, err := recs.PruneKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pruned %d keys\n", n)
	return nil
}

func (l *localRecords) PruneKeys(ctx context.Context) (int, error) {
	var n int
	err := l.keysService(ctx, false, func(svc *manage.Service) error {
		var err error
		n, err = svc.PruneKeys(ctx)
		return err
	})
	return n, err
}
