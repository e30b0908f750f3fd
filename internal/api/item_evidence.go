package api

import (
	"net/http"
	"strings"
)

type evidenceRequest struct {
	Evidence string `json:"evidence"`
}

// itemEvidence sets an item's evidence: text or a link, such as the
// output of ./verify-deployment.sh. It replaces what was there; the audit
// log keeps both.
func (a *API) itemEvidence(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id", "Deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	path, err := itemPathParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req evidenceRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.db.SetEvidence(r.Context(), id, path, req.Evidence, actor(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	it, err := a.item(r.Context(), id, path)
	if err != nil { // the evidence is stored: say so
		a.respondCommitted(w, r, http.StatusOK, committedJSON{ID: id, Path: path, Evidence: strings.TrimSpace(req.Evidence)}, err)
		return
	}
	a.respond(w, r, http.StatusOK, it)
}
