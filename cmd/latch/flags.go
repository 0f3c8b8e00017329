package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/latchauth/latch/internal/config"
)

// usageError is a mistake in the command line itself: run prints it and
// exits 2 instead of 1.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a *usageError; like fmt.Errorf, %w wraps (so that
// the lines of a joined error are printed one per line, see errorLines).
func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// flagError turns an error of fs.Parse into a usage error for the command
// name, suggesting the nearest flag for an unknown one ("--isser": did
// you mean --issuer?).
func flagError(name string, fs *flag.FlagSet, err error) error {
	hint := ""
	if bad, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: "); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if n := config.Nearest(bad, names); n != "" {
			hint = " (did you mean --" + n + "?)"
		}
	}
	return usageErrorf("%s: %w%s (see 'latch %s -h')", name, err, hint, name)
}

// cmdHelp is what a command's -h prints besides its flags.
type cmdHelp struct {
	name     string // "client create"
	synopsis string // arguments after the name, e.g. "--id ID (--public | --confidential) [flags]"
	text     string // a paragraph or two
}

// newFlagSet returns a ContinueOnError flag set for a command. The flag
// package writes nothing itself (output is discarded): parseFlags turns
// its errors into one-line usage errors and prints -h to stdout.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("latch "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with flags and positional arguments in any order
// (flag.Parse alone stops at the first positional argument, so
// "latch client show ID --db X" would not see --db). Everything after "--"
// is positional. On -h it prints the command's help to stdout and returns
// flag.ErrHelp; other errors are *usageError. A secret given as a flag
// gets a warning on stderr (warnSecretFlags).
func parseFlags(e *env, fs *flag.FlagSet, h cmdHelp, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printCmdHelp(e.stdout, fs, h)
				return nil, flag.ErrHelp
			}
			return nil, flagError(h.name, fs, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			warnSecretFlags(e, fs)
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			warnSecretFlags(e, fs)
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printCmdHelp writes a command's usage: synopsis, text and flags.
func printCmdHelp(w io.Writer, fs *flag.FlagSet, h cmdHelp) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("latch "+h.name+" "+h.synopsis), strings.TrimSpace(h.text))
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(h cmdHelp, pos []string, names ...string) error {
	switch {
	case len(pos) < len(names):
		return usageErrorf("%s: missing %s (usage: latch %s %s)", h.name, names[len(pos)], h.name, h.synopsis)
	case len(pos) > len(names):
		return usageErrorf("%s: unexpected argument %q (usage: latch %s %s)", h.name, pos[len(names)], h.name, h.synopsis)
	}
	return nil
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// listFlag is a repeatable flag whose values may also be separated by
// commas or blanks: --scope a --scope b,c and --scope "a b c" are the same.
// Empty items are dropped and duplicates removed, keeping the order.
// Note that a URI containing a comma cannot be given this way.
type listFlag struct {
	vals []string
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.vals, ",")
}

func (l *listFlag) Set(s string) error {
	for item := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		if !slices.Contains(l.vals, item) {
			l.vals = append(l.vals, item)
		}
	}
	return nil
}

// sharedFlags are the configuration keys admin commands accept as flags.
// They are registered on the command's own flag set (so its -h stays
// short) and then handed to config.Load, which applies the precedence
// defaults < --config file < LATCH_* environment < flags.
type sharedFlags struct {
	configFile string
	db         string
	secret     string
	secretFile string
	withSecret bool
	// --server, --admin-token and --admin-token-file (see addRemote in
	// remote.go).
	server         string
	adminToken     string
	adminTokenFile string
}

// addSharedFlags registers --config and --db, and --key-encryption-secret
// and --key-encryption-secret-file when withSecret is set.
func addSharedFlags(fs *flag.FlagSet, withSecret bool) *sharedFlags {
	s := &sharedFlags{withSecret: withSecret}
	fs.StringVar(&s.configFile, config.ConfigFlag, "", "YAML configuration `file` (default $"+config.ConfigEnv+")")
	fs.StringVar(&s.db, "db", "", "database: sqlite:PATH or a postgres:// `URL` (default $LATCH_DB, the config file's db, or "+config.Default().DB+")")
	if withSecret {
		fs.StringVar(&s.secret, "key-encryption-secret", "",
			"`secret` that encrypts the signing keys (default $LATCH_KEY_ENCRYPTION_SECRET; for an sqlite database, the file 'secret' next to it as written by latch dev; prefer --key-encryption-secret-file: a flag shows in ps)")
		fs.StringVar(&s.secretFile, config.FileKey("key-encryption-secret"), "",
			"`file` holding the key encryption secret (default $LATCH_KEY_ENCRYPTION_SECRET_FILE)")
	}
	return s
}

// load builds the configuration from the shared flags that were given,
// the environment and the config file. It does not Validate: admin
// commands check only the keys they use (see checkKeys).
func (s *sharedFlags) load(e *env, fs *flag.FlagSet) (config.Config, error) {
	set := setFlags(fs)
	var args []string
	if set[config.ConfigFlag] {
		args = append(args, "--"+config.ConfigFlag+"="+s.configFile)
	}
	if set["db"] {
		args = append(args, "--db="+s.db)
	}
	if s.withSecret && set["key-encryption-secret"] {
		args = append(args, "--key-encryption-secret="+s.secret)
	}
	// config.Load reads the -file variants (and refuses both forms).
	for name, v := range map[string]string{config.FileKey("key-encryption-secret"): s.secretFile, config.FileKey("admin-token"): s.adminTokenFile} {
		if set[name] {
			args = append(args, "--"+name+"="+v)
		}
	}
	lfs := flag.NewFlagSet("latch", flag.ContinueOnError)
	lfs.SetOutput(io.Discard)
	cfg, _, err := config.Load(config.Default(), lfs, args, e.getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	if cfg.DB == "" {
		return config.Config{}, errors.New("no database configured: set --db or LATCH_DB")
	}
	return cfg, nil
}

// dbSource says where load found the database setting, for messages:
// "--db", "LATCH_DB", "the config file" or "the default".
func (s *sharedFlags) dbSource(e *env, fs *flag.FlagSet) string {
	switch {
	case setFlags(fs)["db"]:
		return "--db"
	case e.getenv(config.EnvName("db")) != "":
		return config.EnvName("db")
	case setFlags(fs)[config.ConfigFlag] || e.getenv(config.ConfigEnv) != "":
		return "the config file or the default"
	}
	return "the default"
}

// checkKeys returns an error naming the first Validate problems among the
// given configuration keys. Admin commands do not need an issuer or a
// listener, so a full Validate would refuse them for no reason.
func checkKeys(cfg config.Config, keys ...string) error {
	var msgs []string
	for _, p := range cfg.Validate() {
		if slices.Contains(keys, p.Key) {
			msgs = append(msgs, p.Key+": "+p.Message)
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(msgs, "; "))
	}
	return nil
}
