package main

import (
	"context"
	"fmt"

	"github.com/latchauth/latch/internal/config"
)

var configCheckHelp = cmdHelp{
	name:     "config check",
	synopsis: "FILE",
	text: `Loads the YAML configuration FILE as 'latch serve' would (defaults, the
file, then LATCH_* environment variables) and prints every problem at once,
one per line: each unknown key with the key it probably meant ("isuer" →
"issuer"), each bad value with its line, then each setting 'latch serve'
would refuse, as "key: message". Exits 1 if there is any, otherwise prints
"ok".`,
}

func runConfigCheck(ctx context.Context, e *env, args []string) error {
	h := configCheckHelp
	fs := newFlagSet(h.name)
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos, "FILE"); err != nil {
		return err
	}
	file := pos[0]
	_, problems, err := config.Check(config.Default(), file, e.getenv)
	if err != nil {
		return err // unreadable, or not YAML: names the file
	}
	for _, p := range problems {
		if p.Source == "config file "+file {
			fmt.Fprintln(e.stdout, p.Message) // "line N: …": the file is the argument
		} else {
			fmt.Fprintln(e.stdout, p.String())
		}
	}
	switch len(problems) {
	case 0:
		fmt.Fprintln(e.stdout, "ok")
		return nil
	case 1:
		return fmt.Errorf("%s: 1 problem", file)
	default:
		return fmt.Errorf("%s: %d problems", file, len(problems))
	}
}
