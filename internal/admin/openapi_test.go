package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes: every route the admin mux serves is in
// openapi.json with its method, and the document describes no operation
// the mux does not serve.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "parameters", "summary", "description":
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	s := &Server{opts: Options{}}
	served := map[string]bool{
		"GET " + pathHealthz: true, "GET " + pathReadyz: true,
		"GET " + pathMetrics: true, "GET " + pathOpenAPI: true,
	}
	for _, rt := range s.apiRoutes() {
		served[rt.method+" "+rt.pattern] = true
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("%s is served but not in openapi.json", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which is not served", op)
		}
	}

	// Every operation has an operationId, and every $ref resolves.
	var raw map[string]any
	json.Unmarshal(openAPI, &raw)
	var ids []string
	for _, item := range raw["paths"].(map[string]any) {
		for m, op := range item.(map[string]any) {
			if m == "parameters" {
				continue
			}
			id, _ := op.(map[string]any)["operationId"].(string)
			if id == "" || slices.Contains(ids, id) {
				t.Errorf("operation %s has a missing or duplicate operationId %q", m, id)
			}
			ids = append(ids, id)
		}
	}
	comps := raw["components"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				if len(parts) != 2 || comps[parts[0]] == nil || comps[parts[0]].(map[string]any)[parts[1]] == nil {
					t.Errorf("unresolved $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(raw)
}

// TestOpenAPIServed: the document is served as JSON.
func TestOpenAPIServed(t *testing.T) {
	rec := httptest.NewRecorder()
	serveOpenAPI(rec, httptest.NewRequest(http.MethodGet, pathOpenAPI, nil))
	if rec.Header().Get("Content-Type") != "application/json" || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("openapi.json: content type %q, valid JSON %v", rec.Header().Get("Content-Type"), json.Valid(rec.Body.Bytes()))
	}
}
