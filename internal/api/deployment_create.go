package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

type createRequest struct {
	Template    string  `json:"template"`
	Service     string  `json:"service"`
	Environment string  `json:"environment"`
	Version     string  `json:"version"`
	PlannedAt   *string `json:"planned_at"`
}

// deploymentCreate starts a deployment from a template's latest version.
func (a *API) deploymentCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Template) == "" {
		a.fail(w, r, errorf(signoff.EINVALID, "Field \"template\" is required: a template's slug (GET /api/v1/templates lists them)."))
		return
	}
	n := signoff.NewDeployment{TemplateSlug: req.Template, Service: req.Service, Environment: req.Environment, Version: req.Version}
	if req.PlannedAt != nil && *req.PlannedAt != "" {
		t, err := time.Parse(time.RFC3339, *req.PlannedAt)
		if err != nil {
			a.fail(w, r, errorf(signoff.EINVALID, "Field \"planned_at\" must be an RFC 3339 time such as 2026-11-25T14:30:00Z."))
			return
		}
		t = t.UTC()
		n.PlannedAt = &t
	}
	d, err := a.db.CreateDeployment(r.Context(), n, actor(r))
	if signoff.ErrorCode(err) == signoff.ENOTFOUND {
		// The address exists; what the body names does not.
		err = errorf(signoff.EINVALID, "%s GET /api/v1/templates lists the templates.", signoff.ErrorMessage(err))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/deployments/%d", d.ID))
	out, err := a.deployment(r.Context(), d.ID)
	if err != nil { // it exists: say so
		a.respondCommitted(w, r, http.StatusCreated, committedJSON{ID: d.ID, Status: d.Status}, err)
		return
	}
	a.respond(w, r, http.StatusCreated, out)
}
