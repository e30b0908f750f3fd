package problem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// domainCodes reads the error codes internal/signoff declares (its E*
// constants), so a code added there without a row here fails this test
// rather than a request in production.
func domainCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../signoff/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "E") || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				codes[name.Name], _ = strconv.Unquote(lit.Value)
			}
		}
		return true
	})
	if len(codes) == 0 {
		t.Fatal("found no error codes in internal/signoff/errors.go")
	}
	return codes
}

func TestEveryCodeHasAStatus(t *testing.T) {
	known := map[string]bool{}
	for _, c := range problem.Codes() {
		known[c] = true
	}
	for name, code := range domainCodes(t) {
		if !known[code] {
			t.Errorf("signoff.%s (%q) has no row in the status table", name, code)
		}
	}
	want := map[string]int{
		signoff.EINVALID: 400, signoff.ENOTFOUND: 404, signoff.ECONFLICT: 409, signoff.ELOCKED: 423,
		signoff.EUNAUTHORIZED: 401, signoff.EFORBIDDEN: 403, signoff.ERATELIMIT: 429, signoff.ETOOLARGE: 413,
		signoff.EINTERNAL: 500, problem.MethodNotAllowed: 405, problem.UnsupportedMediaType: 415,
		problem.TokensCannotSign: 403, problem.Unavailable: 503, problem.Cancelled: 499,
		signoff.EUNKNOWN: 503, signoff.EKEYREUSED: 422,
	}
	for _, code := range problem.Codes() {
		got := problem.Status(code)
		if got < 400 || got > 599 {
			t.Errorf("%s answers %d, not an error status", code, got)
		}
		if w, ok := want[code]; !ok {
			t.Errorf("%s (status %d) is not in this test's table", code, got)
		} else if got != w {
			t.Errorf("%s answers %d; want %d", code, got, w)
		}
	}
}

func TestUnknownCodeIs500(t *testing.T) {
	if got := problem.Status("no_such_code"); got != http.StatusInternalServerError {
		t.Fatalf("unknown code answers %d; want 500", got)
	}
	var logs bytes.Buffer
	e := problem.Explainer{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	p := e.Explain(httptest.NewRequest("GET", "/x", nil), "rid-1", signoff.Errorf("no_such_code", "Something odd."))
	if p.Status != 500 || p.Code != "no_such_code" || p.Message != "Something odd." {
		t.Errorf("problem = %+v", p)
	}
	if !strings.Contains(logs.String(), "no_such_code") || !strings.Contains(logs.String(), "rid-1") {
		t.Errorf("the unknown code was not logged with the request id: %s", logs.String())
	}
}

func TestExplain(t *testing.T) {
	down := errors.New("connection refused (test)")
	full := errors.New("could not extend file (test)")
	e := problem.Explainer{Fault: func(err error) string {
		switch {
		case errors.Is(err, down):
			return "unreachable"
		case errors.Is(err, full):
			return "disk_full"
		}
		return ""
	}}
	r := httptest.NewRequest("POST", "/deployments/1", nil)
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code, says string
		retry      bool
	}{
		{"domain error", signoff.Errorf(signoff.ELOCKED, "It is signed off."), 423, signoff.ELOCKED, "It is signed off.", false},
		{"wrapped domain error", fmt.Errorf("tick: %w", signoff.Errorf(signoff.ENOTFOUND, "No such item.")), 404, signoff.ENOTFOUND, "No such item.", false},
		{"internal", errors.New(`relation "audit_events" does not exist`), 500, signoff.EINTERNAL, "request id rid-7", false},
		{"database away", fmt.Errorf("tick: %w", down), 503, problem.Unavailable, "cannot be reached right now. Nothing was changed", true},
		{"disk full", fmt.Errorf("tick: %w", full), 503, problem.Unavailable, "disk is full", true},
		{"outcome unknown", fmt.Errorf("commit: %w: %w", signoff.Errorf(signoff.EUNKNOWN, "It may or may not have been made."), down),
			503, signoff.EUNKNOWN, "may or may not", true},
		{"key reused", signoff.Errorf(signoff.EKEYREUSED, "Another request."), 422, signoff.EKEYREUSED, "Another request.", false},
		{"client gone", fmt.Errorf("tick: %w", context.Canceled), 499, problem.Cancelled, "cancelled", false},
		{"unavailable code", signoff.Errorf(problem.Unavailable, "No signing key."), 503, problem.Unavailable, "No signing key.", false},
	} {
		p := e.Explain(r, "rid-7", tc.err)
		if p.Status != tc.status || p.Code != tc.code || !strings.Contains(p.Message, tc.says) {
			t.Errorf("%s: %+v; want %d %s saying %q", tc.name, p, tc.status, tc.code, tc.says)
		}
		if strings.Contains(p.Message, "audit_events") {
			t.Errorf("%s: the message leaks the error's text: %q", tc.name, p.Message)
		}
		h := http.Header{}
		p.SetHeaders(h)
		if got := h.Get("Retry-After") != ""; got != tc.retry {
			t.Errorf("%s: Retry-After %q; want it set: %v", tc.name, h.Get("Retry-After"), tc.retry)
		}
		if p.ClientGone() != (tc.status == 499) {
			t.Errorf("%s: ClientGone = %v", tc.name, p.ClientGone())
		}
	}
}

// Every fault the store tells apart has its own words, and no words are
// kept for a fault it never reports.
func TestEveryDatabaseFaultHasWords(t *testing.T) {
	if got, want := problem.Faults(), slices.Sorted(slices.Values(postgres.Faults())); !slices.Equal(got, want) {
		t.Fatalf("problem has words for %v; the store reports %v", got, want)
	}
	seen := map[string]string{}
	for _, f := range postgres.Faults() {
		w := problem.FaultWords(f)
		if other, ok := seen[w]; ok {
			t.Errorf("%s and %s share the words %q", f, other, w)
		}
		seen[w] = f
	}
}
