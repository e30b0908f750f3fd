package api

import (
	"context"
	"net/http"
	"time"
)

// deploymentShow answers one deployment in full.
func (a *API) deploymentShow(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id", "Deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.deployment(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.respond(w, r, http.StatusOK, d)
}

// deployment reads a deployment with its checklist and slots. They are
// separate queries, so it reads the deployment's audit sequence again at
// the end: every change moves it, so an unchanged one means the parts
// agree. A busy deployment gets a few tries.
func (a *API) deployment(ctx context.Context, id int64) (deploymentJSON, error) {
	for attempt := 1; ; attempt++ {
		d, err := a.db.Deployment(ctx, id)
		if err != nil {
			return deploymentJSON{}, err
		}
		cl, err := a.db.Checklist(ctx, d)
		if err != nil {
			return deploymentJSON{}, err
		}
		slots, err := a.db.Slots(ctx, id)
		if err != nil {
			return deploymentJSON{}, err
		}
		again, err := a.db.Deployment(ctx, id)
		if err != nil {
			return deploymentJSON{}, err
		}
		if again.AuditSeq == d.AuditSeq || attempt == 3 {
			return newDeploymentJSON(d, cl, slots, time.Now()), nil
		}
	}
}
