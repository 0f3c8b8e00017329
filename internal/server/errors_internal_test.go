package server

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPanicAnswer: a handler that panics is answered 500 server_error as
// JSON by errors.go; the panic value reaches the log, never the client.
func TestPanicAnswer(t *testing.T) {
	var log bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&log, nil))}
	h := s.common(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom-internal-detail") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusInternalServerError || body["error"] != "server_error" {
		t.Errorf("panic answered %d %q, want 500 with a server_error JSON body", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("the panic value reached the client: %q", rec.Body)
	}
	if !strings.Contains(log.String(), "boom-internal-detail") || !strings.Contains(log.String(), "stack") {
		t.Errorf("log %q lacks the panic value and stack", log.String())
	}
}

// TestErrorWritesOnlyInErrorsGo pins that errors.go is the one writer: no
// other file of the package writes an error body (errorBody), a plain
// http.Error, or logs a panic stack.
func TestErrorWritesOnlyInErrorsGo(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if name == "errors.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && (id.Name == "http" && x.Sel.Name == "Error" || id.Name == "debug" && x.Sel.Name == "Stack") {
					t.Errorf("%s: %s.%s outside errors.go", fset.Position(x.Pos()), id.Name, x.Sel.Name)
				}
			case *ast.Ident:
				if x.Name == "errorBody" {
					t.Errorf("%s: errorBody outside errors.go", fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
}
