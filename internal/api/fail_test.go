package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signoff/signoff/internal/problem"
)

// Every error code answers its status from internal/problem's table, the
// same table the pages use, with the code in the body; a code the table
// lacks answers 500.
func TestFailAnswersEveryCodesStatus(t *testing.T) {
	t.Parallel()
	a := New(nil, nil, Options{})
	for _, code := range append(problem.Codes(), "a_code_nobody_mapped") {
		want := problem.Status(code)
		if code == "a_code_nobody_mapped" {
			want = http.StatusInternalServerError
		}
		w := httptest.NewRecorder()
		a.fail(w, httptest.NewRequest(http.MethodPut, "/deployments/1/items/1.1.1", nil), errorf(code, "What went wrong with %s.", code))
		if want == problem.StatusClientClosed {
			if w.Body.Len() != 0 {
				t.Errorf("%s: a client that has gone was answered: %q", code, w.Body)
			}
			continue
		}
		if w.Code != want {
			t.Errorf("%s: status %d; want %d", code, w.Code, want)
		}
		var body errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != code {
			t.Errorf("%s: body %q; want that code", code, w.Body)
		}
		if want == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without a challenge", code)
		}
	}
}
