package ui

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

type deploymentForm struct {
	Template    string
	Service     string
	Environment string
	Version     string
	PlannedAt   string
	Templates   []postgres.TemplateSummary
	Error       string
}

func (s *Server) deploymentNewForm(w http.ResponseWriter, r *http.Request) {
	f := deploymentForm{Environment: "production", Template: r.URL.Query().Get("template")}
	s.renderDeploymentForm(w, r, http.StatusOK, f)
}

func (s *Server) renderDeploymentForm(w http.ResponseWriter, r *http.Request, status int, f deploymentForm) {
	templates, err := s.db.Templates(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Templates = templates
	if f.Template == "" && len(templates) > 0 {
		f.Template = templates[0].Slug
	}
	s.render(w, r, status, deploymentNewPage(s.page(w, r, "New deployment", "deployments"), f))
}

// deploymentCreate starts a deployment from a template's latest version.
func (s *Server) deploymentCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := deploymentForm{
		Template:    r.PostFormValue("template"),
		Service:     r.PostFormValue("service"),
		Environment: r.PostFormValue("environment"),
		Version:     r.PostFormValue("version"),
		PlannedAt:   strings.TrimSpace(r.PostFormValue("planned_at")),
	}
	n := signoff.NewDeployment{TemplateSlug: f.Template, Service: f.Service, Environment: f.Environment, Version: f.Version}
	if f.PlannedAt != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", f.PlannedAt, time.UTC)
		if err != nil {
			f.Error = "Planned time must look like 2026-11-25T14:30 (UTC)."
			s.renderDeploymentForm(w, r, http.StatusBadRequest, f)
			return
		}
		n.PlannedAt = &t
	}
	if f.Template == "" {
		f.Error = "Choose a template."
		s.renderDeploymentForm(w, r, http.StatusBadRequest, f)
		return
	}
	d, err := s.db.CreateDeployment(r.Context(), n, actor(r))
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID || code == signoff.ENOTFOUND {
			f.Error = signoff.ErrorMessage(err)
			s.renderDeploymentForm(w, r, http.StatusBadRequest, f)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d", d.ID), http.StatusSeeOther)
}
