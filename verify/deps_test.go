package verify

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// allowedImports are the only non-standard-library packages verify may
// import: third parties import this package, so every dependency becomes
// theirs, and it must never pull in the Latch server (internal/...).
var allowedImports = map[string]bool{
	"github.com/go-jose/go-jose/v4":     true,
	"github.com/go-jose/go-jose/v4/jwt": true,
	"golang.org/x/time/rate":            true,
}

// selfImport is this package, imported by its external tests.
const selfImport = "github.com/latchauth/latch/verify"

// TestImports parses every Go file of the package (tests included) and
// fails on an import outside the standard library and allowedImports.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found")
	}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: bad import %s", name, imp.Path.Value)
			}
			if !importAllowed(path) {
				t.Errorf("%s imports %q: verify may import only the standard library and %v", name, path, keys(allowedImports))
			}
		}
	}
}

// importAllowed: standard-library paths have no dot in their first
// element (go/build's rule for "is this a standard package").
func importAllowed(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") || allowedImports[path] || path == selfImport
}

func TestImportAllowed(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"net/http", true},
		{"crypto/sha256", true},
		{"github.com/go-jose/go-jose/v4", true},
		{"github.com/go-jose/go-jose/v4/jwt", true},
		{"github.com/go-jose/go-jose/v4/json", false},
		{"github.com/latchauth/latch/internal/token", false},
		{"github.com/coreos/go-oidc/v3/oidc", false},
		{"golang.org/x/oauth2", false},
	}
	for _, tt := range tests {
		if got := importAllowed(tt.path); got != tt.want {
			t.Errorf("importAllowed(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
