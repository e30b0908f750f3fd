package api

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route in Routes, by hand; a test checks
// the two list the same operations.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the description. It is public: it describes, it holds
// nothing.
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	a.write(w, r, openAPIDocument)
}
