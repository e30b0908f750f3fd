package api

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// readAPIDoc reads docs/api.md.
func readAPIDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocsCoverEveryRoute holds docs/api.md to the router: every route has
// its "### `METHOD /path`" section with a curl example using that method,
// and every section names a route.
func TestDocsCoverEveryRoute(t *testing.T) {
	t.Parallel()
	doc := readAPIDoc(t)
	if !strings.Contains(doc, "/api/v1/openapi.json") {
		t.Error("docs/api.md does not give the OpenAPI URL /api/v1/openapi.json")
	}
	sections := map[string]string{}
	heading := regexp.MustCompile("(?m)^### `([A-Z]+ /[^`]*)`")
	locs := heading.FindAllStringSubmatchIndex(doc, -1)
	for i, loc := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if next := strings.Index(doc[loc[1]:end], "\n## "); next >= 0 {
			end = loc[1] + next
		}
		sections[doc[loc[2]:loc[3]]] = doc[loc[1]:end]
	}
	routes := map[string]bool{}
	err := chi.Walk(New(nil, nil, Options{}).Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := range routes {
		body, ok := sections[r]
		if !ok {
			t.Errorf("docs/api.md has no section for %s", r)
			continue
		}
		method, path, _ := strings.Cut(r, " ")
		if !strings.Contains(body, "curl ") {
			t.Errorf("the section on %s has no curl example", r)
		}
		if method != http.MethodGet && !strings.Contains(body, "-X "+method) {
			t.Errorf("the section on %s has no curl example with -X %s", r, method)
		}
		last := path[strings.LastIndexByte(path, '/'):]
		if strings.HasPrefix(last, "/{") {
			last = "" // …/{id}: any address of the deployment will do
		}
		if !strings.Contains(body, "$SIGNOFF/") || !strings.Contains(body, last) {
			t.Errorf("the section on %s has no curl example calling it", r)
		}
	}
	for s := range sections {
		if !routes[s] {
			t.Errorf("docs/api.md documents %s, which is not a route", s)
		}
	}
}

// TestDocsErrorTable holds the error table of docs/api.md to problem's:
// every documented code answers the documented status, and every code the
// API can answer is documented.
func TestDocsErrorTable(t *testing.T) {
	t.Parallel()
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) +\\| `([a-z_]+)` +\\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(readAPIDoc(t), -1) {
		status, _ := strconv.Atoi(m[1])
		code := m[2]
		documented[code] = true
		if got := problem.Status(code); !slices.Contains(problem.Codes(), code) || got != status {
			t.Errorf("docs/api.md: %s is %d; the API answers it with %d", code, status, got)
		}
	}
	for _, code := range problem.Codes() {
		// rate_limited comes from password sign-ins, which the API has none
		// of; a cancelled request's client has gone, so it is never answered.
		if !documented[code] && code != signoff.ERATELIMIT && code != problem.Cancelled {
			t.Errorf("error code %s is not in the error table of docs/api.md", code)
		}
	}
}
