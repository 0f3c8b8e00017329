package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/config"
)

// The configuration reference (docs/configuration.md) lies between these
// markers and is generated from config.Keys().
const (
	refBegin = "<!-- config-reference:begin (generated from config.Keys(): go test ./cmd/latch -run TestConfigReference -update) -->"
	refEnd   = "<!-- config-reference:end -->"
	refPath  = "../../docs/configuration.md"
)

// configReference renders config.Keys() as a Markdown table.
func configReference() string {
	var b strings.Builder
	b.WriteString("| Key (flag `--key`) | Environment | Type | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, k := range config.Keys() {
		def := "—"
		if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		desc := cell(k.Description)
		if k.Secret {
			desc += " (secret: never logged, shown as REDACTED)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", k.Key, k.Env, k.Type, def, desc)
		if k.Secret {
			fk := config.FileKey(k.Key)
			fmt.Fprintf(&b, "| `%s` | `%s` | string | — | a file holding %s (surrounding blanks trimmed), to keep it out of the process list (flag and environment only) |\n", fk, config.EnvName(fk), k.Key)
		}
	}
	fmt.Fprintf(&b, "| `%s` | `%s` | string | — | the YAML configuration file to read (flag and environment only) |\n", config.ConfigFlag, config.ConfigEnv)
	return b.String()
}

// TestConfigReference fails when docs/configuration.md's table and
// config.Keys() disagree; -update regenerates the table in place.
func TestConfigReference(t *testing.T) {
	doc, err := os.ReadFile(refPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, refBegin), strings.Index(s, refEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no configuration reference between %q and %q", refPath, refBegin, refEnd)
	}
	got := s[i+len(refBegin)+1 : j]
	want := configReference()
	if got == want {
		return
	}
	if *update {
		out := s[:i+len(refBegin)] + "\n" + want + s[j:]
		if err := os.WriteFile(refPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated the configuration reference in %s", refPath)
		return
	}
	gotLines, wantLines := strings.Split(got, "\n"), strings.Split(want, "\n")
	for n := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if n < len(gotLines) {
			g = gotLines[n]
		}
		if n < len(wantLines) {
			w = wantLines[n]
		}
		if g != w {
			t.Errorf("%s configuration reference line %d:\n got: %s\nwant: %s", refPath, n+1, g, w)
		}
	}
	t.Errorf("the configuration reference in docs/configuration.md is out of date: run go test ./cmd/latch -run TestConfigReference -update")
}

// TestConfigReferenceCoversEveryKey guards the generator itself: every
// key, its variable and the config file appear.
func TestConfigReferenceCoversEveryKey(t *testing.T) {
	ref := configReference()
	for _, k := range config.Keys() {
		if !strings.Contains(ref, "`"+k.Key+"`") || !strings.Contains(ref, "`"+k.Env+"`") {
			t.Errorf("reference lacks %s / %s", k.Key, k.Env)
		}
	}
	if !strings.Contains(ref, config.ConfigEnv) {
		t.Error("reference lacks LATCH_CONFIG")
	}
}
