package oauth

import (
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStdlibOnly keeps internal/oauth free of dependencies outside the
// standard library (STYLE.md: the protocol vocabulary is stdlib only), for
// its code and its tests alike. It parses the import declarations of every
// .go file in the package directory.
func TestStdlibOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files found: %v", err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: bad import %s", name, imp.Path.Value)
			}
			seen++
			if !isStdlib(path) {
				t.Errorf("%s imports %q, which is not in the standard library; internal/oauth must stay stdlib-only", name, path)
			}
		}
	}
	if seen == 0 {
		t.Fatal("found no imports at all; the test is not looking at the package")
	}
}

// isStdlib reports whether path is a standard library package: no dot in
// its first element (module paths have one), not cgo's "C", and found in
// GOROOT by go/build.
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	if path == "C" || strings.Contains(first, ".") {
		return false
	}
	p, err := build.Default.Import(path, "", build.FindOnly)
	return err == nil && p.Goroot
}

func TestIsStdlib(t *testing.T) {
	for path, want := range map[string]bool{
		"net/url":                       true,
		"crypto/subtle":                 true,
		"C":                             false,
		"github.com/go-jose/go-jose/v4": false,
		"github.com/latchauth/latch/internal/store": false,
		"golang.org/x/crypto/argon2":                false,
		"nosuchstdpkg":                              false,
	} {
		if got := isStdlib(path); got != want {
			t.Errorf("isStdlib(%q) = %v, want %v", path, got, want)
		}
	}
}
