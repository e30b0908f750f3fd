package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/signoff/signoff/internal/signoff"
)

var listParams = []string{"status", "service", "environment", "limit", "offset"}

// deploymentList lists deployments, newest first, optionally filtered.
func (a *API) deploymentList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains(listParams, name) {
			a.fail(w, r, errorf(signoff.EINVALID, "Unknown query parameter %q; this request takes %s.", name, quoteList(listParams)))
			return
		}
	}
	f := signoff.DeploymentFilter{
		Status: signoff.Status(q.Get("status")), Service: q.Get("service"), Environment: q.Get("environment"), Limit: 100,
	}
	if f.Status != "" && !f.Status.Valid() {
		a.fail(w, r, errorf(signoff.EINVALID, "Unknown status %q: use draft, in_progress, live, completed or aborted.", f.Status))
		return
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100, 1, 500); err != nil {
		a.fail(w, r, err)
		return
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1<<30); err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.db.Deployments(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]deploymentSummaryJSON, 0, len(list))
	for _, d := range list {
		out = append(out, newSummaryJSON(d))
	}
	a.respond(w, r, http.StatusOK, map[string]any{"deployments": out})
}

func intParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errorf(signoff.EINVALID, "Query parameter %q must be a whole number from %d to %d.", name, lo, hi)
	}
	return n, nil
}
