// Command latch is the Latch OAuth 2.0 / OpenID Connect authorization
// server and its administration tool.
//
//	latch serve                      run the server
//	latch dev                        run a local development server
//	latch migrate                    apply database migrations
//	latch healthcheck                probe a running server (exit 0 when ready)
//	latch client create|list|show|update|delete
//	latch user create|list|show|set-password|delete|require-mfa|reset-factors|reset-link|passkeys
//	latch keys list|rotate|prune
//	latch config check FILE
//	latch doctor                     audit a deployment (see doctor.go)
//
// Every command takes its configuration from --config FILE, LATCH_*
// environment variables and flags (see internal/config). This package is
// the only place where concrete storage backends are chosen (db.go).
//
// Error convention: a failing command prints one line, "latch: <what went
// wrong>", on standard error (one such line per error when it reports
// several at once, joined with errors.Join: every configuration problem)
// and exits 1; a usage error (unknown command, bad or missing flag) exits
// 2. Warnings are "latch: warning: …" lines on standard error. Help asked
// for with "latch help", "-h" or "--help" (also after a group's name:
// "latch keys --help") goes to standard output and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/latchauth/latch/internal/config"
)

// defaultGOGC is the garbage collector's target (GOGC) when the
// environment sets none. Latch's live heap is small (~10 MiB under load),
// so with Go's default of 100 it collects every few MiB of garbage: 15 %
// of the CPU of a token request. 400 costs about 10 MiB more RSS under load
// and saves 10–20 % CPU per operation (docs/performance.md). GOGC=100 in
// the environment restores Go's default.
const defaultGOGC = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is the process environment every subcommand receives instead of
// reading globals: the environment variables, the standard streams and the
// clock. Tests build one with fakes.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// now is the clock for record timestamps and key rotation.
	now func() time.Time
}

// run executes the command line args (without the program name) and
// returns the process exit code: 0 on success, 1 on failure, 2 on a usage
// error. It never writes to anything but stdout and stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	return e.run(ctx, args)
}

// run dispatches args and turns the command's error into an exit code and
// one line on stderr.
func (e *env) run(ctx context.Context, args []string) int {
	err := e.dispatch(ctx, args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		printError(e.stderr, ue)
		return 2
	default:
		printError(e.stderr, err)
		return 1
	}
}

// printError writes err as "latch: <message>" lines: one line, or one per
// error joined with errors.Join (every configuration problem at once, each
// on its line). A line break inside one error's text is folded.
func printError(w io.Writer, err error) {
	for _, line := range errorLines(err) {
		fmt.Fprintln(w, "latch: "+line)
	}
}

// errorLines returns the lines printError writes for err: the errors of a
// join (errors.Join at the top, possibly under one prefix added with
// usageErrorf's %w or fmt.Errorf) each on one line, with that prefix.
func errorLines(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []string
		prefix, _, _ := strings.Cut(err.Error(), joined.(error).Error())
		for _, e := range joined.Unwrap() {
			out = append(out, oneLine(prefix+e.Error()))
		}
		if len(out) > 0 {
			return out
		}
	}
	return []string{oneLine(err.Error())}
}

// oneLine keeps an error message on one line, whatever its cause wrote.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// command is one subcommand. run receives the arguments after the
// command's name.
type command struct {
	name    string // "client create"
	summary string // one line, for "latch help"
	run     func(ctx context.Context, e *env, args []string) error
}

// section is a heading of the top-level help.
type section struct {
	title    string
	commands []command
}

// sections lists every command, in the order "latch help" shows them.
func sections() []section {
	return []section{
		{"Server", []command{
			{"serve", "run the authorization server", runServe},
			{"dev", "run a local development server with a ready-made client and user", runDev},
			{"migrate", "apply pending database migrations", runMigrate},
			{"healthcheck", "probe a running server: exit 0 when ready (container health check)", runHealthcheck},
		}},
		{"Clients", []command{
			{"client create", "register a client (a confidential client's secret is printed once)", runClientCreate},
			{"client list", "list clients", runClientList},
			{"client show", "show a client as JSON", runClientShow},
			{"client update", "change a client's settings or rotate its secret", runClientUpdate},
			{"client delete", "delete a client", runClientDelete},
			{"client token", "create an initial access token for dynamic client registration (printed once)", runClientInitialAccessToken},
		}},
		{"Users", []command{
			{"user create", "create a user; the password is read from standard input", runUserCreate},
			{"user list", "list users", runUserList},
			{"user show", "show a user as JSON", runUserShow},
			{"user set-password", "set a user's password, read from standard input", runUserSetPassword},
			{"user delete", "delete a user with their sessions and grants", runUserDelete},
			{"user require-mfa", "require a second factor at every sign-in of a user", runUserRequireMFA},
			{"user reset-factors", "remove a user's second factors (lost device)", runUserResetFactors},
			{"user reset-link", "print a one-time link to set a new password", runUserResetLink},
			{"user passkeys", "list (list USERNAME) or remove (delete USERNAME ID) a user's passkeys", runUserPasskeys},
		}},
		{"Upstream providers", []command{
			{"idp add", "add an upstream OpenID Provider (\"Sign in with …\")", runIdpAdd},
			{"idp list", "list upstream OpenID Providers", runIdpList},
			{"idp update", "change an upstream's settings or client secret", runIdpUpdate},
			{"idp delete", "delete an upstream and its links to users", runIdpDelete},
		}},
		{"Signing keys", []command{
			{"keys list", "list signing keys", runKeysList},
			{"keys rotate", "create and activate a new signing key", runKeysRotate},
			{"keys prune", "delete retired keys that are no longer published", runKeysPrune},
		}},
		{"Other", []command{
			{"doctor", "audit configuration, clients and keys against RFC 9700, RFC 10017 and OAuth 2.1", runDoctor},
			{"config check", "validate a configuration file", runConfigCheck},
			{"version", "print the version", runVersion},
			{"help", "show help for a command", nil}, // handled by dispatch
		}},
	}
}

// lookup finds the command named by the first one or two words of args
// and returns it with the remaining arguments. group is set when args[0]
// names a group of commands ("client") but args[1] names none of them.
func lookup(args []string) (cmd command, rest []string, group string, ok bool) {
	if len(args) == 0 {
		return command{}, nil, "", false
	}
	for _, c := range hiddenCommands() {
		if c.name == args[0] {
			return c, args[1:], "", true
		}
	}
	for _, s := range sections() {
		for _, c := range s.commands {
			if len(args) >= 2 && c.name == args[0]+" "+args[1] {
				return c, args[2:], "", true
			}
			if c.name == args[0] {
				return c, args[1:], "", true
			}
			if strings.HasPrefix(c.name, args[0]+" ") {
				group = args[0]
			}
		}
	}
	return command{}, nil, group, false
}

// subcommands lists the second words of a group's commands.
func subcommands(group string) []string {
	var out []string
	for _, s := range sections() {
		for _, c := range s.commands {
			if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
				out = append(out, sub)
			}
		}
	}
	return out
}

func (e *env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printUsage(e.stderr)
		return usageErrorf("no command given")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return e.help(ctx, args[1:])
	}
	cmd, rest, group, ok := lookup(args)
	switch {
	case ok:
		return cmd.run(ctx, e, rest)
	case group != "" && len(args) == 2 && isHelpArg(args[1]): // "latch keys --help"
		printGroupUsage(e.stdout, group)
		return nil
	case group != "" && len(args) == 1:
		return usageErrorf("%s: missing command (want %s)", group, orList(subcommands(group)))
	case group != "":
		return usageErrorf("%s: unknown command %q%s (want %s)", group, args[1], didYouMean(args[1], subcommands(group)), orList(subcommands(group)))
	default:
		var names []string
		for _, s := range sections() {
			for _, c := range s.commands {
				if first, _, _ := strings.Cut(c.name, " "); !slices.Contains(names, first) {
					names = append(names, first)
				}
			}
		}
		return usageErrorf("unknown command %q%s (run 'latch help' for the list)", args[0], didYouMean(args[0], names))
	}
}

// help prints the top-level usage, or a command's usage by running it
// with -h.
func (e *env) help(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	cmd, rest, group, ok := lookup(args)
	switch {
	case ok && cmd.run != nil && len(rest) == 0:
		return cmd.run(ctx, e, []string{"-h"})
	case ok && cmd.run == nil && len(rest) == 0: // "latch help help"
		printUsage(e.stdout)
		return nil
	case group != "" && len(args) == 1:
		printGroupUsage(e.stdout, group)
		return nil
	default:
		return usageErrorf("help: unknown command %q", strings.Join(args, " "))
	}
}

// printUsage writes the top-level help (golden file: testdata/help.golden).
func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`Latch is an OAuth 2.0 and OpenID Connect authorization server.

Usage:
  latch <command> [arguments]
`)
	for _, s := range sections() {
		fmt.Fprintf(&b, "\n%s:\n", s.title)
		for _, c := range s.commands {
			fmt.Fprintf(&b, "  %-19s %s\n", c.name, c.summary)
		}
	}
	b.WriteString(`
Run 'latch help <command>' or 'latch <command> -h' for a command's flags.

Configuration comes from defaults, then the YAML file named by --config or
LATCH_CONFIG, then LATCH_* environment variables, then flags. The database
is --db / LATCH_DB (default sqlite:.latch/latch.db).
`)
	io.WriteString(w, b.String())
}

// didYouMean returns ` (did you mean "x"?)` for the name closest to a
// mistyped one (see config.Nearest), or "".
func didYouMean(name string, names []string) string {
	if n := config.Nearest(name, names); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

// isHelpArg reports whether arg asks for help.
func isHelpArg(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// printGroupUsage writes the help of a group of commands ("latch client
// --help", "latch help client"; golden files: testdata/help-GROUP.golden).
func printGroupUsage(w io.Writer, group string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: latch %s <command> [arguments]\n\nCommands:\n", group)
	for _, s := range sections() {
		for _, c := range s.commands {
			if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
				fmt.Fprintf(&b, "  %-13s %s\n", sub, c.summary)
			}
		}
	}
	fmt.Fprintf(&b, "\nRun 'latch %s <command> -h' (or 'latch help %s <command>') for a command's flags.\n", group, group)
	io.WriteString(w, b.String())
}

// groups lists the names of the command groups ("client", "user", …) in
// the order "latch help" shows them.
func groups() []string {
	var out []string
	for _, s := range sections() {
		for _, c := range s.commands {
			if g, _, ok := strings.Cut(c.name, " "); ok && !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// orList formats items as "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
