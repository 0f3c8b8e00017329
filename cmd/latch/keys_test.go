package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/token"
)

func countAlg(infos []token.KeyInfo, alg string) (total int, byStatus map[string]int) {
	byStatus = map[string]int{}
	for _, k := range infos {
		if k.Alg == alg {
			total++
			byStatus[k.Status]++
		}
	}
	return total, byStatus
}

func TestKeysRotateListPrune(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret

	if out := h.ok("", "keys", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("keys list --json on an empty database = %q, want []", out)
	}
	first := h.ok("", "keys", "rotate", "--alg", "ES256")
	if !strings.HasPrefix(first, "new active ES256 key ") {
		t.Errorf("keys rotate: stdout %q", first)
	}
	if strings.Contains(first, "retired") {
		t.Errorf("the first rotation reports retiring a key: %q", first)
	}
	firstKid := strings.TrimSpace(strings.TrimPrefix(first, "new active ES256 key "))
	// The second rotation is scheduled: published now, activating later.
	h.now = fixedNow.Add(time.Minute)
	second := h.ok("", "keys", "rotate", "--alg", "ES256")
	if !strings.HasPrefix(second, "new ES256 key ") || !strings.Contains(second, "published now, activates at ") ||
		!strings.Contains(second, firstKid+" stops signing then and stays published until ") {
		t.Errorf("the scheduled rotation does not report the activation and the retired key: %q", second)
	}
	// A third finds it pending and makes nothing new.
	if third := h.ok("", "keys", "rotate", "--alg", "ES256"); !strings.HasPrefix(third, "a rotation is already scheduled: ES256 key ") {
		t.Errorf("rotation while one is scheduled: %q", third)
	}
	infos := decodeJSON[[]token.KeyInfo](t, h.ok("", "keys", "list", "--json"))
	total, st := countAlg(infos, "ES256")
	if total != 2 || st[token.StatusActive] != 1 || st[token.StatusNext] != 1 {
		t.Fatalf("after a scheduled rotation: %d ES256 keys %v, want 2: one active, one next\n%+v", total, st, infos)
	}
	activate := infos[0].ActivateAt
	if want := h.now.Add(5*time.Minute + config.Default().KeyRefreshInterval + time.Minute); !activate.Equal(want) {
		t.Errorf("next key activates at %v, want now + JWKS max-age + key-refresh-interval + 1m = %v", activate, want)
	}
	if !strings.Contains(second, fmtTime(activate)) {
		t.Errorf("keys rotate printed %q, want the activation time %s", second, fmtTime(activate))
	}

	// At the activation time the schedule switches, with no further step.
	h.now = activate
	infos = decodeJSON[[]token.KeyInfo](t, h.ok("", "keys", "list", "--json"))
	total, st = countAlg(infos, "ES256")
	if total != 2 || st[token.StatusActive] != 1 || st[token.StatusPublished] != 1 {
		t.Fatalf("after the activation time: %d ES256 keys %v, want 2: one active, one published\n%+v", total, st, infos)
	}
	if len(infos) != 2 || infos[0].Status != token.StatusActive {
		t.Errorf("keys list should be newest first with the active key on top: %+v", infos)
	}
	if !infos[1].RetiredAt.Equal(activate) {
		t.Errorf("retired_at = %v, want the new key's activation %v", infos[1].RetiredAt, activate)
	}
	if want := infos[1].RetiredAt.Add(app.RetiredKeyTTL(config.Default())); !infos[1].PublishedUntil.Equal(want) {
		t.Errorf("published_until = %v, want retired_at + retiredKeyTTL = %v", infos[1].PublishedUntil, want)
	}

	table := h.ok("", "keys", "list")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "KID ") || !strings.Contains(lines[0], "ACTIVATES") || !strings.Contains(lines[0], "PUBLISHED UNTIL") ||
		!strings.Contains(lines[1], "active") || !strings.Contains(lines[2], "published") {
		t.Errorf("keys list table =\n%s", table)
	}

	// Nothing to prune while the retired key is published.
	if out := h.ok("", "keys", "prune"); out != "pruned 0 keys\n" {
		t.Errorf("keys prune while published: %q", out)
	}
	// Once it has left the JWKS, prune deletes it.
	h.now = infos[1].PublishedUntil.Add(time.Second)
	if out := h.ok("", "keys", "prune"); out != "pruned 1 keys\n" {
		t.Errorf("keys prune after published-until: %q", out)
	}
	infos = decodeJSON[[]token.KeyInfo](t, h.ok("", "keys", "list", "--json"))
	if total, st := countAlg(infos, "ES256"); total != 1 || st[token.StatusActive] != 1 {
		t.Errorf("after prune: %d ES256 keys %v, want only the active one", total, st)
	}
}

// TestKeysRotateNow: --now activates the new key at once and warns, on
// stderr, what that may break.
func TestKeysRotateNow(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
	h.ok("", "keys", "rotate", "--alg", "ES256")
	h.now = fixedNow.Add(time.Minute)
	r := h.run("", "keys", "rotate", "--alg", "ES256", "--now")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "new active ES256 key ") || !strings.Contains(r.stdout, "stops signing then") {
		t.Errorf("keys rotate --now = %d, stdout %q", r.code, r.stdout)
	}
	for _, want := range []string{"warning: ", "other instances", "relying parties", "cached the JWKS"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("keys rotate --now stderr %q lacks %q", r.stderr, want)
		}
	}
	infos := decodeJSON[[]token.KeyInfo](t, h.ok("", "keys", "list", "--json"))
	if total, st := countAlg(infos, "ES256"); total != 2 || st[token.StatusActive] != 1 || st[token.StatusPublished] != 1 {
		t.Errorf("after --now: %d ES256 keys %v, want one active, one published", total, st)
	}
}

func TestKeysRotateDefaultAlg(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
	h.env["LATCH_SIGNING_ALG"] = "EdDSA"
	if out := h.ok("", "keys", "rotate"); !strings.HasPrefix(out, "new active EdDSA key ") {
		t.Errorf("keys rotate with signing-alg EdDSA: %q", out)
	}
}

func TestKeysWrongSecretWritesNothing(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
	h.ok("", "keys", "rotate", "--alg", "EdDSA")

	other := filepath.Join(t.TempDir(), "other-secret")
	if err := os.WriteFile(other, []byte(strings.Repeat("w", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.run("", "keys", "rotate", "--alg", "EdDSA", "--key-encryption-secret-file", other)
	wantFailure(t, "rotate with another secret", r, 1, "secret")
	if strings.Contains(r.stderr, "wwww") || strings.Contains(r.stderr, testSecret) {
		t.Errorf("the error echoes a secret: %q", r.stderr)
	}
	infos := decodeJSON[[]token.KeyInfo](t, h.ok("", "keys", "list", "--json"))
	if len(infos) != 1 {
		t.Errorf("a rotation with the wrong secret stored a key: %d keys", len(infos))
	}
}

func TestKeysSecretSources(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		h := newHarness(t)
		wantFailure(t, "keys list without a secret", h.run("", "keys", "list"), 1, "no key encryption secret")
	})
	t.Run("too short", func(t *testing.T) {
		h := newHarness(t)
		h.env["LATCH_KEY_ENCRYPTION_SECRET"] = "short-secret"
		r := h.run("", "keys", "list")
		wantFailure(t, "short secret", r, 1, "at least 32")
		if strings.Contains(r.stderr, "short-secret") {
			t.Errorf("the error echoes the secret: %q", r.stderr)
		}
	})
	t.Run("dev secret file next to the database", func(t *testing.T) {
		h := newHarness(t)
		path, _ := sqlitePath(h.db)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), "secret"), []byte(testSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		h.ok("", "keys", "rotate", "--alg", "ES256")
		// The key was sealed with the file's secret: the same secret given
		// explicitly opens it, so the next rotation (which loads first) works.
		h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
		h.ok("", "keys", "rotate", "--alg", "ES256")
	})
	t.Run("flag wins over the file", func(t *testing.T) {
		h := newHarness(t)
		path, _ := sqlitePath(h.db)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), "secret"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantFailure(t, "short dev secret file", h.run("", "keys", "list"), 1, "at least 32")
		h.ok("", "keys", "list", "--key-encryption-secret", testSecret)
	})
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("  "+testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cfg     config.Config
		want    string // "" means an error
		wantErr string
	}{
		{"configured", config.Config{KeyEncryptionSecret: testSecret, DB: "postgres://h/db"}, testSecret, ""},
		{"file next to sqlite", config.Config{DB: "sqlite:" + filepath.Join(dir, "latch.db")}, testSecret, ""},
		{"configured wins", config.Config{KeyEncryptionSecret: strings.Repeat("k", 32), DB: "sqlite:" + filepath.Join(dir, "latch.db")}, strings.Repeat("k", 32), ""},
		{"postgres never reads a file", config.Config{DB: "postgres://h/db"}, "", "no key encryption secret"},
		{"missing file", config.Config{DB: "sqlite:" + filepath.Join(dir, "sub", "latch.db")}, "", "no dev secret file"},
		{"short configured", config.Config{KeyEncryptionSecret: "abc", DB: "sqlite:x.db"}, "", "at least 32"},
	} {
		got, err := loadSecret(tc.cfg)
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: loadSecret = %q, %v; want an error containing %q", tc.name, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: loadSecret = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestSigningKeysPurpose(t *testing.T) {
	// Keys rotated by the CLI are sealed under the purpose the server
	// opens them with, and only under it.
	h := newHarness(t)
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
	h.ok("", "keys", "rotate", "--alg", "ES256")
	keys, err := h.store().ListKeys(t.Context())
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListKeys = %d keys, %v", len(keys), err)
	}
	for _, tc := range []struct {
		purpose string
		opens   bool
	}{{"signing-keys", true}, {"interaction", false}} {
		s, err := seal.New([]byte(testSecret), tc.purpose)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Open(keys[0].Private, []byte(keys[0].ID))
		if (err == nil) != tc.opens {
			t.Errorf("sealer for %q opens the stored key: %v, want %v", tc.purpose, err == nil, tc.opens)
		}
	}
}
