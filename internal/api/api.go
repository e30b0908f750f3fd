// Package api is Signoff's JSON API for pipelines, served under /api/v1.
// Callers authenticate with a bearer token that an admin issued; a token
// acts as one person, with that person's permissions, except that it can
// never sign. Every answer is JSON, errors included ({"code", "message"}),
// and nothing is cached.
package api

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/metrics"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
)

// API holds the handlers' dependencies.
type API struct {
	db       *postgres.DB
	logger   *slog.Logger
	problems problem.Explainer // what a failed request shows (errors.go)
	signer   *audit.Signer
	metrics  *metrics.Metrics
}

// Options are the API's optional parts.
type Options struct {
	// Signer signs exports with the server's audit key; without one the
	// export endpoint answers 503 (unavailable).
	Signer *audit.Signer
	// Metrics counts what the API changes (item changes with via="api",
	// refused signatures), beside the web's counts; nil counts nothing.
	// Request latency is the router's that mounts the API.
	Metrics *metrics.Metrics
}

// New builds the API.
func New(db *postgres.DB, logger *slog.Logger, opt Options) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &API{db: db, logger: logger, signer: opt.Signer, metrics: opt.Metrics,
		problems: problem.Explainer{Logger: logger, Fault: postgres.Fault}}
}

// Routes declares every API route, relative to /api/v1, with the
// middleware that guards it. The OpenAPI document lists exactly these
// (a test holds the two together).
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(a.noStore, a.recoverPanics)
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed)

	// Public: what this API is.
	r.Get("/openapi.json", a.openAPI)

	r.Group(func(r chi.Router) {
		r.Use(a.authenticate)

		// Signatures are given by people in the browser, never by tokens:
		// refused whatever the body, which is never read.
		r.Post("/deployments/{id}/slots/{slot}/sign", a.sign)

		// Evidence files: a body up to one file's limit (item_files.go).
		r.Get("/deployments/{id}/files/{fid}", a.fileShow)
		r.With(a.limitFileBody, a.requireEditor, a.idempotent).Post("/deployments/{id}/items/{path}/files", a.itemFileCreate)

		r.Group(func(r chi.Router) {
			r.Use(a.limitBody)

			// Every token: read.
			r.Get("/templates", a.templateList)
			r.Get("/deployments", a.deploymentList)
			r.Get("/deployments/{id}", a.deploymentShow)
			r.Get("/deployments/{id}/export", a.deploymentExport)
			r.Get("/deployments/{id}/items/{path}/files", a.itemFiles)

			// Tokens of people who may change checklists (not auditors);
			// an Idempotency-Key makes a write happen at most once.
			r.Group(func(r chi.Router) {
				r.Use(a.requireEditor, a.idempotent)
				r.Post("/deployments", a.deploymentCreate)
				r.Put("/deployments/{id}/items/{path}", a.itemState)
				r.Put("/deployments/{id}/items/{path}/evidence", a.itemEvidence)
				r.Post("/deployments/{id}/status", a.deploymentStatus)
			})
		})
	})
	return r
}

// notFound answers addresses the API does not have.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, errorf(codeNotFound, "There is no API endpoint at %s %s; see /api/v1/openapi.json.", r.Method, r.URL.Path))
}

func (a *API) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, errorf(codeMethodNotAllowed, "%s is not allowed at %s; see /api/v1/openapi.json.", r.Method, r.URL.Path))
}
