// Package latch_test holds the module's layering test: the arrows of the
// house layout (../shared/STYLE.md, "Dependency direction") and the
// contents of the latch binary, checked against `go list -deps -json`, so
// that a stray import fails CI instead of waiting for a reviewer. The
// module root has no other Go code; this package is test-only.
package latch_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/latchauth/latch"

// listedPackage is the part of `go list -json` the rules read.
type listedPackage struct {
	ImportPath string
	Standard   bool     // in the standard library
	Imports    []string // direct imports of the non-test build
	Deps       []string // every transitive dependency of the non-test build
}

// A rule is one arrow of the layout. Packages are named relative to the
// module ("internal/oauth"); a name ending in "/..." also covers the
// packages below it. Each field that is set is checked.
type rule struct {
	pkg string
	why string
	// stdlibOnly: pkg depends on the standard library alone.
	stdlibOnly bool
	// moduleDeps, when not nil: the only packages of this module pkg may
	// depend on, directly or not.
	moduleDeps []string
	// importedOnlyBy, when not nil: the only packages of this module that
	// may import pkg directly (in their non-test build; tests may).
	importedOnlyBy []string
	// never: packages (standard or module-relative) pkg must not link.
	never []string
	// noImport: packages of this module pkg must not import directly
	// (it may still link them through another package).
	noImport []string
}

// layout is the dependency direction of STYLE.md, as rules.
var layout = []rule{
	{pkg: "internal/oauth", stdlibOnly: true, why: "the protocol vocabulary knows nothing of storage, SQL or HTTP responses"},
	{pkg: "internal/store", stdlibOnly: true, why: "records and the Store contract; backends depend on it, not the reverse"},
	{pkg: "internal/ui", stdlibOnly: true, why: "templates and assets only"},
	{pkg: "examples/spa", stdlibOnly: true, why: "static files latch dev embeds; nothing of verify or the example API"},
	{pkg: "internal/store/sqlite", moduleDeps: []string{"internal/store"}, why: "a backend implements the store contract and nothing else"},
	{pkg: "internal/store/postgres", moduleDeps: []string{"internal/store"}, why: "a backend implements the store contract and nothing else"},
	{pkg: "internal/store/storemetrics", moduleDeps: []string{"internal/store", "internal/store/storemetrics"}, why: "store instrumentation lives beside the store, behind an Observer: nothing of HTTP or Prometheus", never: []string{"net/http"}},
	{pkg: "verify/...", moduleDeps: []string{"verify/..."}, why: "verify is for third parties and may become its own module: never internal/"},
	{pkg: "bff/...", moduleDeps: []string{"bff/..."}, why: "bff is for third parties (a public API like verify): never internal/"},
	{pkg: "bff", why: "importing bff links no database driver: the stores are the subpackages bffsqlite and bffpostgres",
		never: []string{"modernc.org/sqlite", "github.com/jackc/pgx/v5", "database/sql", "testing", "verify"}},
	{pkg: "examples/bff", moduleDeps: []string{"bff", "examples/bff"}, why: "the example BFF is a page over the public bff package, which latch dev links"},
	{pkg: "internal/grant", why: "the grant engine: client authentication and grants on the store and token layers, testable without HTTP",
		moduleDeps:     []string{"internal/grant", "internal/oauth", "internal/store", "internal/token", "internal/seal", "internal/registration"},
		importedOnlyBy: []string{"internal/server", "internal/app"}, never: []string{"net/http"}},
	{pkg: "internal/server", importedOnlyBy: []string{"cmd/latch", "internal/app", "internal/latchtest"}, why: "only the composition root and the test harness wire the server"},
	{pkg: "internal/server", noImport: []string{"internal/config", "internal/seal", "internal/store/storemetrics"},
		why: "HTTP only: the composition root (internal/app) derives every key from the secret and hands the server its settings, never the Config or the secret; store instrumentation is wired there too"},
	{pkg: "internal/app", importedOnlyBy: []string{"cmd/latch", "internal/latchtest"}, why: "the composition root is called by the binary and the test harness"},
	{pkg: "internal/manage", never: []string{"net/http", "internal/server", "internal/admin"}, why: "the one admin service both roads call: it writes no responses and knows neither road"},
	{pkg: "cmd/latch", why: "the binary carries only what it runs", never: []string{
		"testing", "net/http/httptest",
		"internal/bench", "internal/latchtest", "internal/store/storetest", "internal/store/postgres/pgtest",
		"verify", "examples/api", "bff/bffsqlite", "bff/bffpostgres", "bff/bffstoretest",
		"examples/mcp", "github.com/modelcontextprotocol/go-sdk/mcp",
	}},
	{pkg: "examples/mcp/...", moduleDeps: []string{"verify", "examples/mcp"}, why: "the example MCP server is built on the public verify package only, as a third party's would be"},
}

// rel returns path relative to the module, and whether it is in it.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// matches reports whether the module-relative name matches pattern
// ("a/b" exactly, or "a/..." for a and everything below it).
func matches(pattern, name string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return name == base || strings.HasPrefix(name, base+"/")
	}
	return name == pattern
}

func matchesAny(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, name) })
}

// checkLayout returns one line per broken arrow, in a stable order. A
// rule whose package is absent from pkgs is itself a violation, so a
// renamed package cannot silently switch its rule off.
func checkLayout(rules []rule, pkgs []listedPackage) []string {
	byPath := map[string]listedPackage{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	var bad []string
	for _, r := range rules {
		found := false
		for _, p := range pkgs {
			name, inModule := rel(p.ImportPath)
			if !inModule || !matches(r.pkg, name) {
				continue
			}
			found = true
			for _, d := range p.Deps {
				dep, depInModule := rel(d)
				switch {
				case r.stdlibOnly && !byPath[d].Standard:
					bad = append(bad, fmt.Sprintf("%s depends on %s, want the standard library only (%s)", name, d, r.why))
				case r.moduleDeps != nil && depInModule && !matchesAny(r.moduleDeps, dep):
					bad = append(bad, fmt.Sprintf("%s depends on %s, want only %v of this module (%s)", name, dep, r.moduleDeps, r.why))
				}
				for _, n := range r.never {
					if d == n || depInModule && dep == n {
						bad = append(bad, fmt.Sprintf("%s links %s (%s)", name, n, r.why))
					}
				}
			}
		}
		for _, p := range pkgs {
			name, inModule := rel(p.ImportPath)
			if !inModule || !matches(r.pkg, name) {
				continue
			}
			for _, imp := range p.Imports {
				if i, ok := rel(imp); ok && matchesAny(r.noImport, i) {
					bad = append(bad, fmt.Sprintf("%s imports %s (%s)", name, i, r.why))
				}
			}
		}
		if r.importedOnlyBy != nil {
			for _, p := range pkgs {
				name, inModule := rel(p.ImportPath)
				if !inModule || matches(r.pkg, name) || matchesAny(r.importedOnlyBy, name) {
					continue
				}
				for _, imp := range p.Imports {
					if i, ok := rel(imp); ok && matches(r.pkg, i) {
						bad = append(bad, fmt.Sprintf("%s imports %s, which only %v may import (%s)", name, i, r.importedOnlyBy, r.why))
					}
				}
			}
			// A rule on importers still needs its package to exist.
			for _, p := range pkgs {
				if name, ok := rel(p.ImportPath); ok && matches(r.pkg, name) {
					found = true
				}
			}
		}
		if !found {
			bad = append(bad, fmt.Sprintf("rule for %s: no such package (renamed? update the rule)", r.pkg))
		}
	}
	return bad
}

// goList runs `go list -deps -json` on patterns (default build, no test
// files) and returns every package, the standard library's included.
func goList(t *testing.T, patterns ...string) []listedPackage {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"list", "-deps", "-json=ImportPath,Standard,Imports,Deps"}, patterns...)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestLayout checks the real module against the layout.
func TestLayout(t *testing.T) {
	pkgs := goList(t, "./...")
	for _, v := range checkLayout(layout, pkgs) {
		t.Error(v)
	}
}

// TestCheckLayout shows that the checker fails when an arrow is broken:
// a well-formed fake module passes, and each broken arrow is reported.
func TestCheckLayout(t *testing.T) {
	m := func(name string) string { return module + "/" + name }
	std := func(names ...string) []listedPackage {
		var out []listedPackage
		for _, n := range names {
			out = append(out, listedPackage{ImportPath: n, Standard: true})
		}
		return out
	}
	good := func() []listedPackage {
		return append(std("fmt", "net/http", "testing"),
			listedPackage{ImportPath: "github.com/go-jose/go-jose/v4"},
			listedPackage{ImportPath: m("internal/oauth"), Deps: []string{"fmt"}},
			listedPackage{ImportPath: m("internal/store"), Deps: []string{"fmt"}},
			listedPackage{ImportPath: m("internal/ui"), Deps: []string{"net/http"}},
			listedPackage{ImportPath: m("examples/spa"), Deps: []string{"net/http"}},
			listedPackage{ImportPath: m("internal/store/sqlite"), Imports: []string{m("internal/store")}, Deps: []string{"fmt", m("internal/store")}},
			listedPackage{ImportPath: m("internal/store/postgres"), Imports: []string{m("internal/store")}, Deps: []string{m("internal/store")}},
			listedPackage{ImportPath: m("verify"), Deps: []string{"github.com/go-jose/go-jose/v4"}},
			listedPackage{ImportPath: m("bff"), Deps: []string{"github.com/go-jose/go-jose/v4", "net/http"}},
			listedPackage{ImportPath: m("bff/bffsqlite"), Imports: []string{m("bff")}, Deps: []string{m("bff"), "modernc.org/sqlite"}},
			listedPackage{ImportPath: m("examples/bff"), Imports: []string{m("bff")}, Deps: []string{m("bff"), "net/http"}},
			listedPackage{ImportPath: m("examples/mcp"), Imports: []string{m("verify")}, Deps: []string{m("verify"), "github.com/modelcontextprotocol/go-sdk/mcp"}},
			listedPackage{ImportPath: m("internal/store/storemetrics"), Imports: []string{m("internal/store")}, Deps: []string{m("internal/store"), "fmt"}},
			listedPackage{ImportPath: m("internal/grant"), Imports: []string{m("internal/oauth")}, Deps: []string{m("internal/oauth"), "fmt"}},
			listedPackage{ImportPath: m("internal/server"), Imports: []string{m("internal/oauth"), m("internal/grant")}, Deps: []string{m("internal/oauth"), m("internal/grant")}},
			listedPackage{ImportPath: m("internal/app"), Imports: []string{m("internal/server")}, Deps: []string{m("internal/server"), m("internal/oauth"), m("internal/grant")}},
			listedPackage{ImportPath: m("internal/admin"), Deps: []string{"fmt"}},
			listedPackage{ImportPath: m("internal/manage"), Deps: []string{"fmt"}},
			listedPackage{ImportPath: m("internal/latchtest"), Imports: []string{m("internal/server"), "testing"}, Deps: []string{m("internal/server"), "testing"}},
			listedPackage{ImportPath: m("cmd/latch"), Imports: []string{m("internal/app"), m("internal/server"), m("examples/spa")}, Deps: []string{m("internal/app"), m("internal/server"), m("examples/spa"), "net/http"}},
		)
	}
	// edit returns good() with fn applied to the package named rel.
	edit := func(relName string, fn func(*listedPackage)) []listedPackage {
		pkgs := good()
		for i := range pkgs {
			if pkgs[i].ImportPath == m(relName) {
				fn(&pkgs[i])
			}
		}
		return pkgs
	}
	addDep := func(deps ...string) func(*listedPackage) {
		return func(p *listedPackage) { p.Imports = append(p.Imports, deps...); p.Deps = append(p.Deps, deps...) }
	}
	for _, tc := range []struct {
		name string
		pkgs []listedPackage
		want string // a substring of the one violation; "" for none
	}{
		{"the layout holds", good(), ""},
		{"oauth imports a module package", edit("internal/oauth", addDep(m("internal/store"))), "internal/oauth depends on " + m("internal/store")},
		{"store imports a third-party package", edit("internal/store", addDep("github.com/go-jose/go-jose/v4")), "internal/store depends on github.com/go-jose"},
		{"ui imports oauth", edit("internal/ui", addDep(m("internal/oauth"))), "internal/ui depends on"},
		{"the SPA package imports verify", edit("examples/spa", addDep(m("verify"))), "examples/spa depends on"},
		{"a backend imports oauth", edit("internal/store/sqlite", addDep(m("internal/oauth"))), "internal/store/sqlite depends on internal/oauth"},
		{"verify imports internal", edit("verify", addDep(m("internal/token"))), "verify depends on internal/token"},
		{"bff imports internal", edit("bff", addDep(m("internal/token"))), "bff depends on internal/token"},
		{"a bff store imports internal", edit("bff/bffsqlite", addDep(m("internal/store"))), "bff/bffsqlite depends on internal/store"},
		{"bff links a database driver", edit("bff", addDep("modernc.org/sqlite")), "bff links modernc.org/sqlite"},
		{"the example BFF imports verify", edit("examples/bff", addDep(m("verify"))), "examples/bff depends on verify"},
		{"the binary links a bff store", edit("cmd/latch", addDep(m("bff/bffsqlite"))), "cmd/latch links bff/bffsqlite"},
		{"a package imports the server", edit("internal/admin", addDep(m("internal/server"))), "internal/admin imports internal/server"},
		{"the grant engine links net/http", edit("internal/grant", addDep("net/http")), "internal/grant links net/http"},
		{"the grant engine depends on the UI", edit("internal/grant", addDep(m("internal/ui"))), "internal/grant depends on internal/ui"},
		{"a package other than the server imports the grant engine", edit("internal/admin", addDep(m("internal/grant"))), "internal/admin imports internal/grant"},
		{"the server imports the configuration", edit("internal/server", addDep(m("internal/config"))), "internal/server imports internal/config"},
		{"the server derives keys", edit("internal/server", addDep(m("internal/seal"))), "internal/server imports internal/seal"},
		{"a package other than the binary imports the composition root", edit("internal/admin", addDep(m("internal/app"))), "internal/admin imports internal/app"},
		{"store instrumentation links net/http", edit("internal/store/storemetrics", addDep("net/http")), "internal/store/storemetrics links net/http"},
		{"the server imports the store instrumentation", edit("internal/server", addDep(m("internal/store/storemetrics"))), "internal/server imports internal/store/storemetrics"},
		{"the admin service writes HTTP", edit("internal/manage", addDep("net/http")), "internal/manage links net/http"},
		{"the admin service calls the admin API", edit("internal/manage", addDep(m("internal/admin"))), "internal/manage links internal/admin"},
		{"the binary links testing", edit("cmd/latch", addDep("testing")), "cmd/latch links testing"},
		{"the binary links the load tool", edit("cmd/latch", addDep(m("internal/bench"))), "cmd/latch links internal/bench"},
		{"the binary links verify", edit("cmd/latch", addDep(m("verify"))), "cmd/latch links verify"},
		{"the binary links the example API", edit("cmd/latch", addDep(m("examples/api"))), "cmd/latch links examples/api"},
		{"the binary links the MCP SDK", edit("cmd/latch", addDep("github.com/modelcontextprotocol/go-sdk/mcp")), "cmd/latch links github.com/modelcontextprotocol/go-sdk/mcp"},
		{"the example MCP server imports internal", edit("examples/mcp", addDep(m("internal/oauth"))), "examples/mcp depends on internal/oauth"},
		{"the binary links pgtest", edit("cmd/latch", addDep(m("internal/store/postgres/pgtest"))), "cmd/latch links internal/store/postgres/pgtest"},
		{"a ruled package disappears", slices.DeleteFunc(good(), func(p listedPackage) bool { return p.ImportPath == m("internal/ui") }), "rule for internal/ui: no such package"},
	} {
		got := checkLayout(layout, tc.pkgs)
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s: checkLayout = %q, want no violation", tc.name, got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%s: checkLayout = %q, want one violation containing %q", tc.name, got, tc.want)
		}
	}
}
