package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/seal"
)

// devSecretName is the file, in the directory of an SQLite database, that
// holds the development key-encryption secret written by `latch dev`.
const devSecretName = "secret"

// secretFile returns where the dev secret for the database dsn lives:
// <directory of the database>/secret, for SQLite databases only.
func secretFile(dsn string) (string, bool) {
	path, ok := sqlitePath(dsn)
	if !ok || path == "" {
		return "", false
	}
	return filepath.Join(filepath.Dir(path), devSecretName), true
}

// loadSecret returns the key-encryption secret: cfg.KeyEncryptionSecret
// (--key-encryption-secret or LATCH_KEY_ENCRYPTION_SECRET) when set;
// otherwise, for an SQLite database, the contents of the dev secret file
// next to it (see secretFile), surrounding blanks trimmed. The secret must
// be at least seal.MinSecretLen characters. The secret never appears in
// an error message.
//
// The fallback never applies to PostgreSQL: a shared database always has
// its secret configured explicitly.
func loadSecret(cfg config.Config) (string, error) {
	if s := cfg.KeyEncryptionSecret; s != "" {
		if len(s) < seal.MinSecretLen {
			return "", fmt.Errorf("key-encryption-secret is %d characters, want at least %d", len(s), seal.MinSecretLen)
		}
		return s, nil
	}
	const unset = "no key encryption secret: set LATCH_KEY_ENCRYPTION_SECRET, --key-encryption-secret-file or LATCH_KEY_ENCRYPTION_SECRET_FILE"
	path, ok := secretFile(cfg.DB)
	if !ok {
		return "", errors.New(unset)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s (no dev secret file %s either)", unset, path)
	}
	if err != nil {
		return "", fmt.Errorf("reading the key encryption secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < seal.MinSecretLen {
		return "", fmt.Errorf("the key encryption secret in %s is %d characters, want at least %d", path, len(s), seal.MinSecretLen)
	}
	return s, nil
}

// secretFlagAdvice says where the value of a secret-bearing flag had
// better come from, and whether name is such a flag. A flag's value is
// visible to every local user (ps, /proc/PID/cmdline) and lands in shell
// history; a file or an environment variable is not.
func secretFlagAdvice(name string) (string, bool) {
	for _, k := range config.Keys() {
		if k.Secret && k.Key == name {
			return "--" + config.FileKey(k.Key) + " or $" + k.Env, true
		}
	}
	return "", false
}

// warnSecretFlags prints a warning on stderr for every secret given as a
// flag. The command still runs: the warning is for the operator's next
// deployment, not a refusal.
func warnSecretFlags(e *env, fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if advice, ok := secretFlagAdvice(f.Name); ok {
			fmt.Fprintf(e.stderr, "latch: warning: --%s on the command line is visible to other local users (ps) and in shell history; use %s\n", f.Name, advice)
		}
	})
}
