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
	"github.com/latchauth/latch/internal/registration"
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
	text: `Lists the signing keys, newest first. Status is active (signing),
published (retired, still in the JWKS so tokens it signed verify), expired
(retired and no longer published) or inactive (never activated); 'latch
keys prune' deletes expired keys and old inactive ones.`,
}

func runKeysList(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, keysListHelp, true)
	asJSON := cmd.fs.Bool("json", false, "print a JSON array instead of a table")
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	recs, err := cmd.records()
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
	fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tRETIRED\tPUBLISHED UNTIL")
	for _, k := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(k.ID), cell(k.Alg), cell(k.Status),
			fmtTime(k.CreatedAt), fmtTime(k.RetiredAt), fmtTime(k.PublishedUntil))
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
	synopsis: "[--alg ALG]",
	text: `Creates a new signing key for ALG and makes it the active one. The key it
replaces stops signing but stays published in the JWKS until every token it
signed has expired. Running servers pick the new key up within their
key-refresh-interval (default 30 seconds).`,
}

func runKeysRotate(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, keysRotateHelp, true)
	alg := cmd.fs.String("alg", "", "algorithm of the key to rotate: RS256, ES256 or EdDSA (default: signing-alg)")
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
	r, err := recs.RotateKey(ctx, *alg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new active %s key %s\n", r.key.Alg, r.key.ID)
	if r.retired != "" {
		fmt.Fprintf(e.stdout, "retired %s: it stays published %s\n", r.retired, r.published)
	}
	return nil
}

func (l *localRecords) RotateKey(ctx context.Context, alg string) (keyRotation, error) {
	var r manage.Rotation
	err := l.keysService(ctx, true, func(svc *manage.Service) error {
		var err error
		r, err = svc.RotateKey(ctx, alg)
		return err
	})
	if err != nil {
		return keyRotation{}, err
	}
	return keyRotation{key: r.Key, retired: r.Retired, published: "for " + registration.FormatDuration(app.RetiredKeyTTL(l.cfg))}, nil
}

var keysPruneHelp = cmdHelp{
	name:     "keys prune",
	synopsis: "[flags]",
	text:     "Deletes retired signing keys that are no longer published in the JWKS.",
}

func runKeysPrune(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, keysPruneHelp, true)
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	recs, err := cmd.records()
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
