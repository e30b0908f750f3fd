package api

import (
	"net/http"

	"github.com/signoff/signoff/internal/signoff"
)

type statusRequest struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Confirm bool   `json:"confirm"`
}

// deploymentStatus starts a deployment ("in_progress"), marks it live
// ("live") or aborts it ("aborted", with a reason). Completion is not
// among them: the final approval sign-off completes a deployment.
func (a *API) deploymentStatus(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id", "Deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req statusRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	to := signoff.Status(req.Status)
	if !to.Valid() {
		a.fail(w, r, errorf(signoff.EINVALID, "Field \"status\" must be in_progress, live or aborted."))
		return
	}
	if to == signoff.StatusLive && !req.Confirm {
		if err := a.openBeforeLive(r, id); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	d, err := a.db.SetStatus(r.Context(), id, to, req.Reason, actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.deployment(r.Context(), id)
	if err != nil { // the move stands: say so
		a.respondCommitted(w, r, http.StatusOK, committedJSON{ID: id, Status: d.Status}, err)
		return
	}
	a.respond(w, r, http.StatusOK, out)
}

// openBeforeLive refuses going live, unconfirmed, with pre-deployment
// work open, saying what; the store checks the rest under the lock.
func (a *API) openBeforeLive(r *http.Request, id int64) error {
	d, err := a.db.Deployment(r.Context(), id)
	if err != nil {
		return err
	}
	if d.CanMoveTo(signoff.StatusLive) != nil {
		return nil // the store says why
	}
	g, err := a.db.GoLive(r.Context(), d)
	if err != nil || !g.NeedsConfirmation() {
		return err
	}
	return errorf(signoff.ECONFLICT, "Going live now leaves work open: %s. Send \"confirm\": true to go live anyway.", g.Summary())
}
