package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"text/tabwriter"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// withKeys loads the key-encryption secret, opens the store and runs fn
// with a Keys over it.
func withKeys(ctx context.Context, e *env, cfg config.Config, fn func(*token.Keys) error) error {
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
		k, err := server.NewKeys(cfg, s, e.now, logger)
		if err != nil {
			return err
		}
		return fn(k)
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
	h := keysListHelp
	fs := newFlagSet(h.name)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	shared := addSharedFlags(fs, true)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	var infos []token.KeyInfo
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		if err := ac.do(ctx, http.MethodGet, "/admin/keys", nil, &infos); err != nil {
			return err
		}
	} else {
		cfg, err := shared.load(e, fs)
		if err != nil {
			return err
		}
		err = withKeys(ctx, e, cfg, func(k *token.Keys) error {
			if infos, err = k.List(ctx); err != nil {
				return fmt.Errorf("listing keys: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
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

var keysRotateHelp = cmdHelp{
	name:     "keys rotate",
	synopsis: "[--alg ALG]",
	text: `Creates a new signing key for ALG and makes it the active one. The key it
replaces stops signing but stays published in the JWKS until every token it
signed has expired. Running servers pick the new key up within their
key-refresh-interval (default 30 seconds).`,
}

func runKeysRotate(ctx context.Context, e *env, args []string) error {
	h := keysRotateHelp
	fs := newFlagSet(h.name)
	alg := fs.String("alg", "", "algorithm of the key to rotate: RS256, ES256 or EdDSA (default: signing-alg)")
	shared := addSharedFlags(fs, true)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	if *alg != "" && !slices.Contains(token.Algorithms(), *alg) {
		return usageErrorf("keys rotate: unknown --alg %q (want %s)", *alg, orList(token.Algorithms()))
	}
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		var res remoteRotateResult
		if err := ac.do(ctx, http.MethodPost, "/admin/keys/rotate", map[string]string{"alg": *alg}, &res); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "new active %s key %s\n", res.Key.Alg, res.Key.ID)
		if res.Retired != "" {
			fmt.Fprintf(e.stdout, "retired %s: it stays published until %s\n", res.Retired, fmtTime(res.RetiredPublishedUntil))
		}
		return nil
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	var (
		info token.KeyInfo
		prev string // kid of the key retired by the rotation, if any
	)
	err = withKeys(ctx, e, cfg, func(k *token.Keys) error {
		// Load first: it decrypts the existing keys, so a wrong secret is
		// reported before a key sealed with it is written.
		if err := k.Load(ctx); err != nil {
			return fmt.Errorf("loading the existing keys: %w", err)
		}
		want := cmp.Or(*alg, k.DefaultAlg())
		infos, err := k.List(ctx)
		if err != nil {
			return fmt.Errorf("listing keys: %w", err)
		}
		for _, i := range infos {
			if i.Alg == want && i.Status == token.StatusActive {
				prev = i.ID
			}
		}
		if info, err = k.Rotate(ctx, want); err != nil {
			return fmt.Errorf("rotating keys: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new active %s key %s\n", info.Alg, info.ID)
	if prev != "" {
		fmt.Fprintf(e.stdout, "retired %s: it stays published for %s\n", prev, fmtDuration(server.RetiredKeyTTL(cfg)))
	}
	return nil
}

var keysPruneHelp = cmdHelp{
	name:     "keys prune",
	synopsis: "[flags]",
	text:     "Deletes retired signing keys that are no longer published in the JWKS.",
}

func runKeysPrune(ctx context.Context, e *env, args []string) error {
	h := keysPruneHelp
	fs := newFlagSet(h.name)
	shared := addSharedFlags(fs, true)
	shared.addRemote(fs)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	var n int
	if ac, err := shared.remote(e, fs, h.name); err != nil || ac != nil {
		if err != nil {
			return err
		}
		var res struct {
			Pruned int `json:"pruned"`
		}
		if err := ac.do(ctx, http.MethodPost, "/admin/keys/prune", nil, &res); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "pruned %d keys\n", res.Pruned)
		return nil
	}
	cfg, err := shared.load(e, fs)
	if err != nil {
		return err
	}
	err = withKeys(ctx, e, cfg, func(k *token.Keys) error {
		if n, err = k.Prune(ctx); err != nil {
			return fmt.Errorf("pruning keys: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pruned %d keys\n", n)
	return nil
}
