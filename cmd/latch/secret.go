package main

import (
	"errors"
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
	const unset = "no key encryption secret: set --key-encryption-secret or LATCH_KEY_ENCRYPTION_SECRET"
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
