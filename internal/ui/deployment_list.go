package ui

import (
	"net/http"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/deployments", http.StatusSeeOther)
}

type deploymentListView struct {
	Filter       signoff.DeploymentFilter
	FromText     string
	ToText       string
	Deployments  []*signoff.Deployment
	Environments []string
	CanCreate    bool
	Now          time.Time
}

// deploymentList shows deployments, filtered by status, service,
// environment, signer and creation date.
func (s *Server) deploymentList(w http.ResponseWriter, r *http.Request) {
	f, from, to, err := parseDeploymentFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.db.Deployments(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	envs, err := s.db.Environments(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := deploymentListView{Filter: f, FromText: from, ToText: to, Deployments: list, Environments: envs,
		CanCreate: currentUser(r.Context()).CanEditChecklists(), Now: s.now()}
	s.render(w, r, http.StatusOK, deploymentListPage(s.page(w, r, "Deployments", "deployments"), v))
}

func parseDeploymentFilter(r *http.Request) (signoff.DeploymentFilter, string, string, error) {
	q := r.URL.Query()
	f := signoff.DeploymentFilter{
		Status:      signoff.Status(q.Get("status")),
		Service:     strings.TrimSpace(q.Get("service")),
		Environment: strings.TrimSpace(q.Get("environment")),
		Signer:      strings.TrimSpace(q.Get("signer")),
		Limit:       200,
	}
	if f.Status != "" && !f.Status.Valid() {
		return f, "", "", signoff.Errorf(signoff.EINVALID, "Unknown status %q: use draft, in_progress, live, completed or aborted.", f.Status)
	}
	from, to := q.Get("from"), q.Get("to")
	if from != "" {
		t, err := time.Parse("2006-01-02", from)
		if err != nil {
			return f, "", "", signoff.Errorf(signoff.EINVALID, "The From date must look like 2026-11-25.")
		}
		f.From = &t
	}
	if to != "" {
		t, err := time.Parse("2006-01-02", to)
		if err != nil {
			return f, "", "", signoff.Errorf(signoff.EINVALID, "The To date must look like 2026-11-25.")
		}
		t = t.AddDate(0, 0, 1) // inclusive of the whole day
		f.To = &t
	}
	return f, from, to, nil
}
