package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/latchauth/latch/internal/config"
)

var configCheckHelp = cmdHelp{
	name:     "config check",
	synopsis: "FILE",
	text: `Loads the YAML configuration FILE as 'latch serve' would (defaults, the
file, then LATCH_* environment variables) and prints every problem as
"key: message". Exits 1 if there is any, otherwise prints "ok".`,
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
	lfs := flag.NewFlagSet("latch", flag.ContinueOnError)
	lfs.SetOutput(io.Discard)
	cfg, _, err := config.Load(config.Default(), lfs, []string{"--" + config.ConfigFlag + "=" + file}, e.getenv)
	if err != nil {
		return err // names the file and the key
	}
	problems := cfg.Validate()
	for _, p := range problems {
		fmt.Fprintf(e.stdout, "%s: %s\n", p.Key, p.Message)
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
