package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerHoldsNoGrantLogic pins issue 12's "server is HTTP only": no
// file of the package spends or mints grants (internal/grant does) or
// derives keys (internal/app does). The import side (no internal/config,
// no internal/seal) is pinned by the module's layout_test.go.
func TestServerHoldsNoGrantLogic(t *testing.T) {
	forbidden := map[string]string{
		"GetAuthCode": "grant", "ConsumeAuthCode": "grant", "RecordCodeFailure": "grant",
		"CreateGrant": "grant", "RotateRefreshToken": "grant", "Successor": "grant",
		"TypeAccessToken": "grant", "TypeIDToken": "grant",
		"DeriveKey": "app", "NewChain": "app", "KeyEncryptionSecret": "app",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if home, bad := forbidden[sel.Sel.Name]; bad {
					t.Errorf("%s: %s belongs in internal/%s, not the HTTP layer", fset.Position(sel.Pos()), sel.Sel.Name, home)
				}
			}
			return true
		})
	}
}
