package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// flagValue is the flag.Value of one key. Set parses into the field of a
// staging Config; Load copies only the flags that were actually set, so a
// flag's default never overrides the file or the environment.
type flagValue struct {
	v      reflect.Value // addressable field of the staging Config
	secret bool
	list   bool
	set    bool // a list flag replaces the list on its first use, then appends
}

func (f *flagValue) String() string {
	// flag.isZeroValue calls String on a zero flagValue.
	if f == nil || !f.v.IsValid() {
		return ""
	}
	if f.secret && !f.v.IsZero() {
		return Redaction // never print a secret in usage
	}
	return format(f.v)
}

func (f *flagValue) Set(s string) error {
	if f.list {
		items := splitList(s)
		if f.set {
			items = append(f.v.Interface().([]string), items...)
		}
		f.v.Set(reflect.ValueOf(items))
		f.set = true
		return nil
	}
	return setString(f.v, s)
}

// IsBoolFlag lets a bool key be given as --key without a value.
func (f *flagValue) IsBoolFlag() bool { return f != nil && f.v.IsValid() && f.v.Kind() == reflect.Bool }

func load(base Config, fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	if fs == nil {
		fs = flag.NewFlagSet("latch", flag.ContinueOnError)
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	keys := fields()

	staged := base
	sv := reflect.ValueOf(&staged).Elem()
	byKey := make(map[string]field, len(keys))
	for _, f := range keys {
		byKey[f.key] = f
		usage := fmt.Sprintf("%s (`%s`; env %s)", f.help, typeName(f.typ), f.env)
		if f.typ.Kind() == reflect.Bool {
			usage = fmt.Sprintf("%s (env %s)", f.help, f.env)
		}
		fs.Var(&flagValue{
			v:      sv.Field(f.index),
			secret: f.secret,
			list:   f.typ.Kind() == reflect.Slice,
		}, f.key, usage)
	}
	var configPath string
	fs.StringVar(&configPath, ConfigFlag, "", "YAML configuration `file` (env "+ConfigEnv+")")
	// Every secret key also has a -file variant (flag and environment),
	// so the secret need not appear in the process list.
	secretFiles := make(map[string]*string)
	for _, f := range keys {
		if f.secret {
			secretFiles[f.key] = fs.String(FileKey(f.key), "", fmt.Sprintf("`file` holding %s, surrounding blanks trimmed; keeps it out of the process list (env %s)", f.key, EnvName(FileKey(f.key))))
		}
	}

	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}

	cfg := base
	cv := reflect.ValueOf(&cfg).Elem()

	// 1. The YAML file: --config wins over LATCH_CONFIG, even when empty.
	path := getenv(ConfigEnv)
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == ConfigFlag {
			path = configPath
		}
	})
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, nil, fmt.Errorf("config file: %w", err)
		}
		if err := applyYAML(cv, byKey, data); err != nil {
			return Config{}, nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}

	// 2. LATCH_* variables; an empty variable is unset. LATCH_<KEY>_FILE
	// names a file holding a secret key's value.
	for _, f := range keys {
		s := getenv(f.env)
		fileEnv := EnvName(FileKey(f.key))
		if f.secret && getenv(fileEnv) != "" {
			if s != "" {
				return Config{}, nil, fmt.Errorf("%s and %s are both set: give one", f.env, fileEnv)
			}
			v, err := readSecretFile(getenv(fileEnv))
			if err != nil {
				return Config{}, nil, fmt.Errorf("%s: %w", fileEnv, err)
			}
			s = v
		}
		if s == "" {
			continue
		}
		if err := setString(cv.Field(f.index), s); err != nil {
			return Config{}, nil, fmt.Errorf("%s: %w", f.env, err)
		}
	}

	// 3. Flags present on the command line; --<key>-file is a secret
	// key's flag read from a file.
	set := make(map[string]bool)
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, f := range keys {
		if set[f.key] {
			cv.Field(f.index).Set(sv.Field(f.index))
		}
		if path := secretFiles[f.key]; path != nil && set[FileKey(f.key)] {
			if set[f.key] {
				return Config{}, nil, fmt.Errorf("--%s and --%s are both given: give one", f.key, FileKey(f.key))
			}
			v, err := readSecretFile(*path)
			if err != nil {
				return Config{}, nil, fmt.Errorf("--%s: %w", FileKey(f.key), err)
			}
			if err := setString(cv.Field(f.index), v); err != nil {
				return Config{}, nil, fmt.Errorf("--%s: %w", FileKey(f.key), err)
			}
		}
	}
	return cfg, fs.Args(), nil
}

// FileKey is the name of the -file variant of a secret key:
// "admin-token" → "admin-token-file" (flag --admin-token-file, variable
// LATCH_ADMIN_TOKEN_FILE).
func FileKey(key string) string { return key + "-file" }

// ReadSecretFile reads a secret from path: the file's contents with
// surrounding blanks (a trailing newline) trimmed. An empty result is an
// error. Errors name the file, never its contents.
func ReadSecretFile(path string) (string, error) { return readSecretFile(path) }

func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("no file named")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err // *PathError: names the file only
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// applyYAML sets the keys present in data on cv. It walks the node tree
// itself rather than decoding into Config with KnownFields(true) so that
// every error names the key and line: yaml's own messages for a bad value
// ("cannot unmarshal !!str `10x` into time.Duration") do not. Values are
// read with the same parser as the environment and flags, so a duration is
// a string like "10m" (a bare integer is rejected, never nanoseconds).
func applyYAML(cv reflect.Value, byKey map[string]field, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if isNull(root) {
		return nil // a file holding only comments
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of keys to values", root.Line)
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		key := k.Value
		f, ok := byKey[key]
		if !ok || k.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: unknown key %q%s", k.Line, key, suggest(key, byKey))
		}
		if seen[key] {
			return fmt.Errorf("line %d: key %q is set twice", k.Line, key)
		}
		seen[key] = true
		if err := setNode(cv.Field(f.index), v); err != nil {
			return fmt.Errorf("line %d: key %q: %w", v.Line, key, err)
		}
	}
	return nil
}

// setNode reads one YAML value. A list key takes a sequence of scalars (or
// one comma-separated string); every other key takes a scalar. A null
// value is an error rather than a silent zero.
func setNode(v reflect.Value, n *yaml.Node) error {
	if isNull(n) {
		return errors.New(`no value (write "" for an empty string or [] for an empty list)`)
	}
	if v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode {
		items := []string{}
		for _, it := range n.Content {
			it = deref(it)
			if it.Kind != yaml.ScalarNode || isNull(it) {
				return fmt.Errorf("line %d: list items must be strings", it.Line)
			}
			items = append(items, it.Value)
		}
		v.Set(reflect.ValueOf(items))
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a single %s value", typeName(v.Type()))
	}
	return setString(v, n.Value)
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// suggest offers the known key a misspelt one probably meant, for the
// usual slips: underscores, capitals, or an environment variable name.
func suggest(key string, byKey map[string]field) string {
	norm := strings.ToLower(strings.ReplaceAll(key, "_", "-"))
	norm = strings.TrimPrefix(norm, "latch-")
	if _, ok := byKey[norm]; ok {
		return fmt.Sprintf(" (did you mean %q?)", norm)
	}
	return ""
}
