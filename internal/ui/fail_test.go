package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// Every error code answers its status from internal/problem's table, as
// a page and as an HTMX flash fragment; a code the table lacks answers 500
// (it once reached WriteHeader(0), which panics).
func TestFailAnswersEveryCodesStatus(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	s := &Server{logger: logger, problems: problem.Explainer{Logger: logger, Fault: postgres.Fault}}
	for _, code := range append(problem.Codes(), "a_code_nobody_mapped") {
		want := problem.Status(code)
		if code == "a_code_nobody_mapped" {
			want = http.StatusInternalServerError
		}
		for _, htmx := range []bool{false, true} {
			r := httptest.NewRequest(http.MethodPost, "/deployments/1/items/1.1.1/state", nil)
			r = r.WithContext(context.WithValue(r.Context(), noFlashKey, true))
			if htmx {
				r.Header.Set("HX-Request", "true")
			}
			w := httptest.NewRecorder()
			s.fail(w, r, signoff.Errorf(code, "What went wrong with %s.", code))
			if want == problem.StatusClientClosed {
				if w.Body.Len() != 0 {
					t.Errorf("%s (htmx %v): a client that has gone was answered: %q", code, htmx, w.Body)
				}
				continue
			}
			if w.Code != want {
				t.Errorf("%s (htmx %v): status %d; want %d", code, htmx, w.Code, want)
			}
			if htmx && w.Header().Get("HX-Retarget") != "#flash" {
				t.Errorf("%s: the HTMX answer is not aimed at the flash region", code)
			}
		}
	}
}
