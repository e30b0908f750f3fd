package api

import (
	"net/http"
)

// templateList lists the templates a deployment can be created from.
func (a *API) templateList(w http.ResponseWriter, r *http.Request) {
	list, err := a.db.Templates(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]templateJSON, 0, len(list))
	for _, s := range list {
		t, err := a.db.TemplateVersion(r.Context(), s.LatestVersionID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, newTemplateJSON(s, t))
	}
	a.respond(w, r, http.StatusOK, map[string]any{"templates": out})
}
