package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/api"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// openAPIFile is the description as written (the file the binary embeds).
func openAPIFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// TestOpenAPIMatchesRoutes holds the hand-written description and the
// router together: every route is documented and every documented
// operation exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var routes []string
	err := chi.Walk(api.New(nil, nil, api.Options{}).Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIFile(t), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q; want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) {
				documented = append(documented, strings.ToUpper(key)+" "+path)
			}
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %s, which is not a route", d)
		}
	}
	if len(routes) < 10 {
		t.Fatalf("only %d routes walked: %v", len(routes), routes)
	}
}

// TestOpenAPIIsConsistent checks what a reader of the document relies on:
// every $ref resolves, operation ids are unique, and every operation that
// needs a token says what happens without one.
func TestOpenAPIIsConsistent(t *testing.T) {
	t.Parallel()
	var root map[string]any
	if err := json.Unmarshal(openAPIFile(t), &root); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if k == "$ref" {
					ref, _ := c.(string)
					if resolve(root, ref) == nil {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range v {
				walk(c, at+"[]")
			}
		}
	}
	walk(root, "#")

	ids := map[string]bool{}
	for path, item := range root["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			o := op.(map[string]any)
			id, _ := o["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			responses := o["responses"].(map[string]any)
			public := o["security"] != nil && len(o["security"].([]any)) == 0
			if _, ok := responses["401"]; !ok && !public {
				t.Errorf("%s %s: no 401 response documented", method, path)
			}
		}
	}
}

// resolve follows a local JSON pointer ("#/components/schemas/Item").
func resolve(root map[string]any, ref string) any {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = root
	for part := range strings.SplitSeq(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}

func TestOpenAPIServedWithoutToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.call(http.MethodGet, "/api/v1/openapi.json", "", "")
	wantStatus(t, res, http.StatusOK)
	if string(res.Body) != string(openAPIFile(t)) {
		t.Fatal("served document differs from openapi.json")
	}
}
