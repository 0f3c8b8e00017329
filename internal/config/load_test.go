package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "latch.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newFS() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// TestLoadPrecedence checks base < file < env < flags for every kind of
// field, and that only flags actually given override the layers below.
func TestLoadPrecedence(t *testing.T) {
	type layers struct {
		file string            // YAML line, "" for none
		env  map[string]string // LATCH_* variables
		args []string          // flags
	}
	tests := []struct {
		name string
		in   layers
		get  func(Config) any
		want any
	}{
		// string
		{"string/base", layers{}, func(c Config) any { return c.Addr }, ":8080"},
		{"string/file", layers{file: `addr: ":1"`}, func(c Config) any { return c.Addr }, ":1"},
		{"string/env over file", layers{file: `addr: ":1"`, env: map[string]string{"LATCH_ADDR": ":2"}}, func(c Config) any { return c.Addr }, ":2"},
		{"string/flag over env", layers{file: `addr: ":1"`, env: map[string]string{"LATCH_ADDR": ":2"}, args: []string{"--addr", ":3"}}, func(c Config) any { return c.Addr }, ":3"},
		{"string/flag over file", layers{file: `addr: ":1"`, args: []string{"-addr=:3"}}, func(c Config) any { return c.Addr }, ":3"},
		{"string/empty env is unset", layers{file: `addr: ":1"`, env: map[string]string{"LATCH_ADDR": ""}}, func(c Config) any { return c.Addr }, ":1"},
		{"string/explicit empty flag", layers{file: `admin-token: x`, args: []string{"--admin-token="}}, func(c Config) any { return c.AdminToken }, ""},
		// duration
		{"duration/base", layers{}, func(c Config) any { return c.AccessTokenTTL }, 10 * time.Minute},
		{"duration/file", layers{file: `access-token-ttl: 5m`}, func(c Config) any { return c.AccessTokenTTL }, 5 * time.Minute},
		{"duration/env over file", layers{file: `access-token-ttl: 5m`, env: map[string]string{"LATCH_ACCESS_TOKEN_TTL": "90s"}}, func(c Config) any { return c.AccessTokenTTL }, 90 * time.Second},
		{"duration/flag over env", layers{env: map[string]string{"LATCH_ACCESS_TOKEN_TTL": "90s"}, args: []string{"--access-token-ttl=1h30m"}}, func(c Config) any { return c.AccessTokenTTL }, 90 * time.Minute},
		// uint32
		{"uint/file", layers{file: `password-memory-kib: 65536`}, func(c Config) any { return c.PasswordMemoryKiB }, uint32(65536)},
		{"uint/env over file", layers{file: `password-memory-kib: 65536`, env: map[string]string{"LATCH_PASSWORD_MEMORY_KIB": "1024"}}, func(c Config) any { return c.PasswordMemoryKiB }, uint32(1024)},
		{"uint/flag over env", layers{env: map[string]string{"LATCH_PASSWORD_ITERATIONS": "3"}, args: []string{"--password-iterations", "4"}}, func(c Config) any { return c.PasswordIterations }, uint32(4)},
		// int
		{"int/file", layers{file: `db-max-conns: 4`}, func(c Config) any { return c.DBMaxConns }, 4},
		{"int/env over file", layers{file: `db-max-conns: 4`, env: map[string]string{"LATCH_DB_MAX_CONNS": "8"}}, func(c Config) any { return c.DBMaxConns }, 8},
		{"int/flag over env", layers{env: map[string]string{"LATCH_DB_MAX_CONNS": "8"}, args: []string{"--db-max-conns=32"}}, func(c Config) any { return c.DBMaxConns }, 32},
		// []string
		{"list/base", layers{}, func(c Config) any { return c.TrustedProxies }, []string(nil)},
		{"list/file sequence", layers{file: "trusted-proxies: [10.0.0.0/8, 192.168.0.0/16]"}, func(c Config) any { return c.TrustedProxies }, []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{"list/file block sequence", layers{file: "trusted-proxies:\n  - 10.0.0.0/8\n  - ::1/128"}, func(c Config) any { return c.TrustedProxies }, []string{"10.0.0.0/8", "::1/128"}},
		{"list/file scalar", layers{file: "trusted-proxies: 10.0.0.0/8, 172.16.0.0/12"}, func(c Config) any { return c.TrustedProxies }, []string{"10.0.0.0/8", "172.16.0.0/12"}},
		{"list/file empty", layers{file: "trusted-proxies: []"}, func(c Config) any { return c.TrustedProxies }, []string{}},
		{"list/env comma over file", layers{file: "trusted-proxies: [10.0.0.0/8]", env: map[string]string{"LATCH_TRUSTED_PROXIES": "1.2.3.0/24, 5.6.7.0/24"}}, func(c Config) any { return c.TrustedProxies }, []string{"1.2.3.0/24", "5.6.7.0/24"}},
		{"list/flag repeat and comma replace env", layers{env: map[string]string{"LATCH_TRUSTED_PROXIES": "1.2.3.0/24"}, args: []string{"--trusted-proxies", "a,b", "--trusted-proxies=c"}}, func(c Config) any { return c.TrustedProxies }, []string{"a", "b", "c"}},
		{"list/flag empty clears", layers{file: "trusted-proxies: [10.0.0.0/8]", args: []string{"--trusted-proxies="}}, func(c Config) any { return c.TrustedProxies }, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.in.args
			if tt.in.file != "" {
				args = append([]string{"--config", writeFile(t, tt.in.file)}, args...)
			}
			cfg, rest, err := Load(Default(), newFS(), args, envFunc(tt.in.env))
			if err != nil {
				t.Fatalf("Load(%q) error: %v", args, err)
			}
			if len(rest) != 0 {
				t.Errorf("Load(%q) rest = %q, want none", args, rest)
			}
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%q, env %v) = %#v, want %#v", args, tt.in.env, got, tt.want)
			}
		})
	}
}

func TestLoadBaseIsKept(t *testing.T) {
	base := Default()
	base.Issuer = "http://localhost:8080"
	base.Dev = true
	cfg, _, err := Load(base, newFS(), []string{"--addr=:9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := base
	want.Addr = ":9"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load(base, --addr=:9) = %+v, want %+v", cfg, want)
	}
}

func TestLoadConfigPath(t *testing.T) {
	fromEnv := writeFile(t, "addr: :1\n")
	fromFlag := writeFile(t, "addr: :2\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"LATCH_CONFIG", map[string]string{"LATCH_CONFIG": fromEnv}, nil, ":1"},
		{"--config", nil, []string{"--config", fromFlag}, ":2"},
		{"--config wins over LATCH_CONFIG", map[string]string{"LATCH_CONFIG": fromEnv}, []string{"--config=" + fromFlag}, ":2"},
		{"--config= disables LATCH_CONFIG", map[string]string{"LATCH_CONFIG": fromEnv}, []string{"--config="}, ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Load(Default(), newFS(), tt.args, envFunc(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Addr != tt.want {
				t.Errorf("Addr = %q, want %q", cfg.Addr, tt.want)
			}
		})
	}
}

func TestLoadPositional(t *testing.T) {
	_, rest, err := Load(Default(), newFS(), []string{"--addr", ":1", "alice", "--not-a-flag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alice", "--not-a-flag"}; !slices.Equal(rest, want) {
		t.Errorf("rest = %q, want %q", rest, want)
	}
}

func TestLoadNilFlagSet(t *testing.T) {
	cfg, _, err := Load(Default(), nil, []string{"--log-level=debug"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want debug", cfg.LogLevel)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string // YAML content; "" for no file
		env   map[string]string
		args  []string
		wants []string // substrings of the error
	}{
		{name: "unknown yaml key", file: "addr: :1\nbogus: 1\n", wants: []string{`unknown key "bogus"`, "line 2"}},
		{name: "unknown yaml key suggests", file: "key_encryption_secret: x\n", wants: []string{`unknown key "key_encryption_secret"`, `did you mean "key-encryption-secret"`}},
		{name: "env name in yaml suggests", file: "LATCH_ADDR: :1\n", wants: []string{`did you mean "addr"`}},
		{name: "Dev is not a key", file: "dev: true\n", wants: []string{`unknown key "dev"`}},
		{name: "bad yaml duration", file: "code-ttl: 10x\n", wants: []string{`key "code-ttl"`, `invalid duration "10x"`, "line 1"}},
		{name: "bare integer duration", file: "access-token-ttl: 600\n", wants: []string{`key "access-token-ttl"`, `invalid duration "600"`}},
		{name: "bad yaml int", file: "db-max-conns: many\n", wants: []string{`key "db-max-conns"`, `invalid integer "many"`}},
		{name: "negative yaml uint", file: "password-iterations: -1\n", wants: []string{`key "password-iterations"`}},
		{name: "null value", file: "issuer:\n", wants: []string{`key "issuer"`, "no value"}},
		{name: "mapping value", file: "addr:\n  host: x\n", wants: []string{`key "addr"`, "want a single string"}},
		{name: "list of lists", file: "trusted-proxies: [[a]]\n", wants: []string{`key "trusted-proxies"`, "list items must be strings"}},
		{name: "duplicate key", file: "addr: :1\naddr: :2\n", wants: []string{`"addr"`}},
		{name: "top level list", file: "- addr\n", wants: []string{"mapping"}},
		{name: "two documents", file: "addr: :1\n---\naddr: :2\n", wants: []string{"more than one YAML document"}},
		{name: "syntax error", file: "addr: [\n", wants: []string{"latch.yaml"}},
		{name: "bad env duration", env: map[string]string{"LATCH_SESSION_TTL": "1 day"}, wants: []string{"LATCH_SESSION_TTL", `invalid duration "1 day"`}},
		{name: "bad env int", env: map[string]string{"LATCH_DB_MAX_CONNS": "x"}, wants: []string{"LATCH_DB_MAX_CONNS"}},
		{name: "bad env uint overflow", env: map[string]string{"LATCH_PASSWORD_MEMORY_KIB": "4294967296"}, wants: []string{"LATCH_PASSWORD_MEMORY_KIB"}},
		{name: "bad flag duration", args: []string{"--code-ttl=soon"}, wants: []string{"code-ttl", `invalid duration "soon"`}},
		{name: "unknown flag", args: []string{"--bogus"}, wants: []string{"bogus"}},
		{name: "missing config file", args: []string{"--config", "/nonexistent/latch.yaml"}, wants: []string{"config file", "/nonexistent/latch.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, _, err := Load(Default(), newFS(), args, envFunc(tt.env))
			if err == nil {
				t.Fatalf("Load(file %q, env %v, args %q) succeeded, want error", tt.file, tt.env, tt.args)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadEmptyAndCommentFiles(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		cfg, _, err := Load(Default(), newFS(), []string{"--config", writeFile(t, content)}, nil)
		if err != nil {
			t.Errorf("Load(file %q) error: %v", content, err)
			continue
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("Load(file %q) = %+v, want defaults", content, cfg)
		}
	}
}

func TestLoadYAMLAnchors(t *testing.T) {
	file := "x-ttl: &ttl 5m\n"
	// An unknown key holding an anchor is still an unknown key.
	if _, _, err := Load(Default(), newFS(), []string{"--config", writeFile(t, file+"id-token-ttl: *ttl\n")}, nil); err == nil {
		t.Error("Load accepted unknown key x-ttl")
	}
	cfg, _, err := Load(Default(), newFS(), []string{"--config", writeFile(t, "access-token-ttl: &ttl 5m\nid-token-ttl: *ttl\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IDTokenTTL != 5*time.Minute {
		t.Errorf("IDTokenTTL via alias = %v, want 5m", cfg.IDTokenTTL)
	}
}

func TestLoadAllKeysFromEveryLayer(t *testing.T) {
	// Every key must be settable from YAML, env and flags: a new field of
	// an unsupported type, or a tag typo, fails here.
	for _, k := range Keys() {
		val := map[string]string{
			"string": "x", "bool": "true", "int": "7", "uint": "7",
			"duration": "7s", "list": "a,b",
		}[k.Type]
		if val == "" {
			t.Fatalf("key %s has unknown type %q", k.Key, k.Type)
		}
		yamlVal := val
		if k.Type == "list" {
			yamlVal = "[a, b]"
		}
		layers := map[string]func() (Config, error){
			"yaml": func() (Config, error) {
				c, _, err := Load(Config{}, newFS(), []string{"--config", writeFile(t, k.Key+": "+yamlVal+"\n")}, nil)
				return c, err
			},
			"env": func() (Config, error) {
				c, _, err := Load(Config{}, newFS(), nil, envFunc(map[string]string{k.Env: val}))
				return c, err
			},
			"flag": func() (Config, error) {
				c, _, err := Load(Config{}, newFS(), []string{k.Flag + "=" + val}, nil)
				return c, err
			},
		}
		for name, load := range layers {
			c, err := load()
			if err != nil {
				t.Errorf("%s via %s: %v", k.Key, name, err)
				continue
			}
			var got string
			for _, f := range c.Fields() {
				if f.Key == k.Key {
					got = f.Value
				}
			}
			want := val
			if k.Secret {
				want = Redaction
			}
			if got != want {
				t.Errorf("%s via %s = %q, want %q", k.Key, name, got, want)
			}
		}
	}
}

func TestUsageHidesSecrets(t *testing.T) {
	base := Default()
	base.KeyEncryptionSecret = "super-secret-value-that-must-not-print"
	base.AdminToken = "admin-secret-token"
	fs := flag.NewFlagSet("latch", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	_, _, err := Load(base, fs, []string{"-h"}, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Load(-h) error = %v, want flag.ErrHelp", err)
	}
	usage := out.String()
	for _, secret := range []string{base.KeyEncryptionSecret, base.AdminToken} {
		if strings.Contains(usage, secret) {
			t.Errorf("usage prints secret %q:\n%s", secret, usage)
		}
	}
	for _, want := range []string{"-code-ttl duration", "LATCH_CODE_TTL", "(default 1m)", "-config file", "REDACTED"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
}

// TestLoadSecretFiles: every secret key can be read from a file named by
// --<key>-file or LATCH_<KEY>_FILE (so it stays out of the process list),
// at the precedence of its layer; giving both forms in one layer, an
// unreadable or empty file are errors that never print the secret.
func TestLoadSecretFiles(t *testing.T) {
	const secret = "file-secret-0123456789-0123456789-xyz"
	secretFile := func(t *testing.T, content string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var secrets []KeyDoc
	for _, k := range Keys() {
		if k.Secret {
			secrets = append(secrets, k)
		}
	}
	if len(secrets) < 2 {
		t.Fatalf("want at least key-encryption-secret and admin-token to be secret, got %v", secrets)
	}
	value := func(c Config, key string) string {
		v := reflect.ValueOf(c)
		for _, f := range fields() {
			if f.key == key {
				return v.Field(f.index).String()
			}
		}
		return ""
	}
	for _, k := range secrets {
		fileFlag, fileEnv := "--"+FileKey(k.Key), EnvName(FileKey(k.Key))
		t.Run(k.Key, func(t *testing.T) {
			path := secretFile(t, "\n  "+secret+"\n")
			for name, tc := range map[string]struct {
				args []string
				env  map[string]string
				want string
			}{
				"flag":                      {args: []string{fileFlag, path}, want: secret},
				"env":                       {env: map[string]string{fileEnv: path}, want: secret},
				"flag file beats env":       {args: []string{fileFlag, path}, env: map[string]string{k.Env: "from-env"}, want: secret},
				"flag beats env file":       {args: []string{k.Flag, "from-flag"}, env: map[string]string{fileEnv: path}, want: "from-flag"},
				"env file beats yaml":       {args: []string{"--config", writeFile(t, k.Key+": from-yaml\n")}, env: map[string]string{fileEnv: path}, want: secret},
				"nothing: the base's value": {want: ""},
			} {
				c, _, err := Load(Config{}, newFS(), tc.args, envFunc(tc.env))
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if got := value(c, k.Key); got != tc.want {
					t.Errorf("%s: %s = %q, want %q", name, k.Key, got, tc.want)
				}
			}
			for name, tc := range map[string]struct {
				args []string
				env  map[string]string
				want string
			}{
				"both flags":     {args: []string{k.Flag, secret, fileFlag, path}, want: "both"},
				"both variables": {env: map[string]string{k.Env: secret, fileEnv: path}, want: "both"},
				"missing file":   {args: []string{fileFlag, path + ".missing"}, want: "no such file"},
				"empty file":     {args: []string{fileFlag, secretFile(t, " \n")}, want: "empty"},
			} {
				_, _, err := Load(Config{}, newFS(), tc.args, envFunc(tc.env))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
				} else if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: error prints the secret: %v", name, err)
				}
			}
		})
	}
}

func TestNearest(t *testing.T) {
	var keys []string
	for _, k := range Keys() {
		keys = append(keys, k.Key)
	}
	for _, tc := range []struct{ name, want string }{
		{"isuer", "issuer"},
		{"isser", "issuer"},
		{"issuer", ""}, // not misspelt
		{"Issuer", "issuer"},
		{"--isser", "issuer"},
		{"acces-token-ttl", "access-token-ttl"},
		{"access_token_ttl", "access-token-ttl"},
		{"LATCH_CODE_TTL", "code-ttl"},
		{"key-encyption-secret", "key-encryption-secret"},
		{"trusted-proxy", "trusted-proxies"},
		{"adr", "addr"},
		{"dev", ""},
		{"frobnicate", ""},
		{"", ""},
	} {
		if got := Nearest(tc.name, keys); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLoadReportsEveryFileProblem: the file's problems are reported all at
// once, one per line, each with its line and a suggestion for a typo.
func TestLoadReportsEveryFileProblem(t *testing.T) {
	file := writeFile(t, "isuer: https://id.example.com\naddr: :1\ncode-ttl: soon\nacces-token-ttl: 5m\naddr: :2\n")
	_, _, err := Load(Default(), newFS(), []string{"--config", file}, envFunc(map[string]string{"LATCH_SESSION_TTL": "1 day"}))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"config file " + file + `: line 1: unknown key "isuer" (did you mean "issuer"?)`,
		"config file " + file + `: line 3: key "code-ttl": invalid duration "soon"`,
		"config file " + file + `: line 4: unknown key "acces-token-ttl" (did you mean "access-token-ttl"?)`,
		"config file " + file + `: line 5: key "addr" is set twice`,
		`LATCH_SESSION_TTL: invalid duration "1 day"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("Load error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], want[i])
		}
	}
}

func TestCheck(t *testing.T) {
	file := writeFile(t, "isuer: https://id.example.com\ncode-ttl: 5m\nsigning-alg: HS256\n")
	cfg, problems, err := Check(Default(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		"config file " + file + `: line 1: unknown key "isuer" (did you mean "issuer"?)`,
		"issuer: is required",
		"key-encryption-secret: is required",
		"signing-alg: ",
		"code-ttl: must be at most 1m",
	}
	if len(got) != len(want) {
		t.Fatalf("Check problems = %q, want %d like %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
	if cfg.CodeTTL != 5*time.Minute {
		t.Errorf("Check config CodeTTL = %v, want the file's 5m", cfg.CodeTTL)
	}
	if _, _, err := Check(Default(), filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil {
		t.Error("Check of a missing file: no error")
	}
}

// FuzzApplyYAML: any file is either an error or a list of problems, each
// naming its line, never a panic.
func FuzzApplyYAML(f *testing.F) {
	for _, seed := range []string{
		"issuer: https://id.example.com\ncode-ttl: 30s\n",
		"isuer: x\nisuer: y\n",
		"trusted-proxies: [10.0.0.0/8, [a]]\n",
		"a: &x 1\nb: *x\n",
		"- 1\n",
		"{}",
		"addr: :1\n---\naddr: :2\n",
	} {
		f.Add(seed)
	}
	byKey := map[string]field{}
	for _, fl := range fields() {
		byKey[fl.key] = fl
	}
	f.Fuzz(func(t *testing.T, data string) {
		cfg := Default()
		problems, err := applyYAML(reflect.ValueOf(&cfg).Elem(), byKey, []byte(data))
		if err != nil {
			return
		}
		for _, p := range problems {
			if !strings.HasPrefix(p.Message, "line ") {
				t.Errorf("problem %+v does not name its line", p)
			}
		}
	})
}
