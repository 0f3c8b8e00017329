package app_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

const secret = "assemble-test-secret-0123456789abcdef-0123456789"

// assemble runs Assemble on a fresh SQLite store and returns the Options
// it handed server.New.
func assemble(t *testing.T, mutate func(*config.Config)) server.Options {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/latch.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := config.Default()
	cfg.Issuer = "https://latch.test"
	cfg.KeyEncryptionSecret = secret
	cfg.PasswordMemoryKiB, cfg.PasswordIterations = 64, 1
	cfg.SigningAlg = token.ES256
	mutate(&cfg)
	var got server.Options
	if _, err := app.Assemble(t.Context(), cfg, st, nil, nil, nil, nil, func(o *server.Options) { got = *o }); err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	return got
}

// TestAssembleHandsTheServerNoSecret: the server gets derived keys, never
// the key-encryption secret; the DPoP nonce key is derived only when
// nonces are on, and differs from the secret.
func TestAssembleHandsTheServerNoSecret(t *testing.T) {
	for _, nonces := range []bool{false, true} {
		opts := assemble(t, func(c *config.Config) { c.DPoPNonce = nonces })
		v := reflect.ValueOf(opts)
		for i := range v.NumField() {
			f, name := v.Field(i), v.Type().Field(i).Name
			switch {
			case f.Kind() == reflect.String && bytes.Contains([]byte(f.String()), []byte(secret)):
				t.Errorf("Options.%s holds the key-encryption secret", name)
			case f.Type() == reflect.TypeFor[[]byte]() && bytes.Contains(f.Bytes(), []byte(secret)):
				t.Errorf("Options.%s holds the key-encryption secret", name)
			}
		}
		if got := len(opts.DPoPNonceKey) == 32; got != nonces {
			t.Errorf("dpop-nonce %v: DPoPNonceKey of %d bytes", nonces, len(opts.DPoPNonceKey))
		}
	}
}

// TestAssembleMapsTheConfig: the settings the server reads come from the
// configuration, and zero throttle limits fall back to the defaults.
func TestAssembleMapsTheConfig(t *testing.T) {
	opts := assemble(t, func(c *config.Config) {
		c.LoginMaxFailures = 0
		c.ClientMaxFailures = 7
		c.Dev = true
	})
	def := config.Default()
	if opts.Issuer != "https://latch.test" || !opts.Dev || opts.CodeTTL != def.CodeTTL || opts.Lifetimes.AccessToken != def.AccessTokenTTL {
		t.Errorf("Options %+v do not carry the configuration", opts)
	}
	if opts.Throttle.LoginMaxFailures != def.LoginMaxFailures || opts.Throttle.ClientMaxFailures != 7 {
		t.Errorf("throttle limits %+v, want login %d (the default for 0) and client 7", opts.Throttle, def.LoginMaxFailures)
	}
}
