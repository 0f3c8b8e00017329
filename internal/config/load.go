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
	problems, err := readFile(cv, byKey, path)
	if err != nil {
		return Config{}, nil, err
	}
	// 2. LATCH_* variables; an empty variable is unset. LATCH_<KEY>_FILE
	// names a file holding a secret key's value.
	problems = append(problems, readEnv(cv, keys, getenv)...)
	if len(problems) > 0 {
		// Every problem of the file and the environment, one per line.
		return Config{}, nil, Err(problems)
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

// readFile applies the YAML file at path ("" for none) to cv. A file that
// cannot be read or parsed is an error; a key that is unknown, set twice
// or given a bad value is a Problem, and reading goes on, so that every one
// is reported at once.
func readFile(cv reflect.Value, byKey map[string]field, path string) ([]Problem, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	problems, err := applyYAML(cv, byKey, data)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	for i := range problems {
		problems[i].Source = "config file " + path
	}
	return problems, nil
}

// readEnv applies the LATCH_* variables to cv and returns a Problem for
// each bad value. An empty variable is unset; LATCH_<KEY>_FILE names a
// file holding a secret key's value (giving both is a problem).
func readEnv(cv reflect.Value, keys []field, getenv func(string) string) []Problem {
	var problems []Problem
	for _, f := range keys {
		s := getenv(f.env)
		if fileEnv := EnvName(FileKey(f.key)); f.secret && getenv(fileEnv) != "" {
			if s != "" {
				problems = append(problems, Problem{Key: f.key, Source: fileEnv, Message: fmt.Sprintf("%s and %s are both set: give one", f.env, fileEnv)})
				continue
			}
			v, err := readSecretFile(getenv(fileEnv))
			if err != nil {
				problems = append(problems, Problem{Key: f.key, Source: fileEnv, Message: err.Error()})
				continue
			}
			s = v
		}
		if s == "" {
			continue
		}
		if err := setString(cv.Field(f.index), s); err != nil {
			problems = append(problems, Problem{Key: f.key, Source: f.env, Message: err.Error()})
		}
	}
	return problems
}

// applyYAML sets the keys present in data on cv. It walks the node tree
// itself rather than decoding into Config with KnownFields(true) so that
// every problem names the key and line: yaml's own messages for a bad value
// ("cannot unmarshal !!str `10x` into time.Duration") do not. Values are
// read with the same parser as the environment and flags, so a duration is
// a string like "10m" (a bare integer is rejected, never nanoseconds).
//
// A document that is not a mapping is an error; each unknown (or
// misspelt: the nearest key is suggested), repeated or badly valued key is
// a Problem, and the other keys are still applied.
func applyYAML(cv reflect.Value, byKey map[string]field, data []byte) ([]Problem, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if isNull(root) {
		return nil, nil // a file holding only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of keys to values", root.Line)
	}
	var problems []Problem
	add := func(key, format string, args ...any) {
		problems = append(problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		key := k.Value
		f, ok := byKey[key]
		switch {
		case !ok || k.Kind != yaml.ScalarNode:
			add(key, "line %d: unknown key %q%s", k.Line, key, suggest(key, byKey))
		case seen[key]:
			add(key, "line %d: key %q is set twice", k.Line, key)
		default:
			seen[key] = true
			if err := setNode(cv.Field(f.index), v); err != nil {
				add(key, "line %d: key %q: %v", v.Line, key, err)
			}
		}
	}
	return problems, nil
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

// suggest offers the known key a misspelt one probably meant (see
// Nearest), as " (did you mean "key"?)", or "".
func suggest(key string, byKey map[string]field) string {
	names := make([]string, 0, len(byKey))
	for _, f := range fields() { // declaration order: ties go to the first
		names = append(names, f.key)
	}
	if n := Nearest(key, names); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

// Nearest returns the candidate a misspelt name probably meant, or "" when
// none is close. The usual slips are undone first (capitals, underscores
// for dashes, leading dashes, an environment variable's LATCH_ prefix);
// then the candidate at the smallest edit distance wins (the first of
// equals), if that distance is at most 1, or a third of the name's length
// for longer names: "isuer" → "issuer", "acces-token-ttl" →
// "access-token-ttl", but "dev" → "" (not "db") and "frobnicate" → "".
func Nearest(name string, candidates []string) string {
	norm := strings.ToLower(strings.ReplaceAll(strings.TrimLeft(name, "-"), "_", "-"))
	norm = strings.TrimPrefix(norm, "latch-")
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(norm, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len(norm)/3) || (bestD == 0 && norm == name) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes: keys
// are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
