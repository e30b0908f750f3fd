package ui

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/api"
	"github.com/signoff/signoff/web"
)

// Handler returns the whole web application behind cross-origin
// protection. The API authenticates with bearer tokens, never cookies, so
// there is no ambient credential for a cross-site request to ride on.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("/api/v1/")
	return cop.Handler(s.Router())
}

// Router declares every route, with the middleware that guards it, here
// and nowhere else.
func (s *Server) Router() chi.Router {
	r := chi.NewRouter()
	r.Use(s.withRequestID, s.logRequests, s.recoverPanics, s.securityHeaders, compress())
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	// Operations and assets: no session.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/metrics", s.metricsHandler)
	// The public key that signs audit exports, for auditors to verify with.
	r.Get("/.well-known/signoff-signing-key", s.signingKey)
	// The transparency log over every audit event, for witnesses and
	// auditors: signed checkpoints, tiles and proofs (transparency.go).
	r.Get("/.well-known/signoff-log/checkpoint", s.logCheckpoint)
	r.Get("/.well-known/signoff-log/tile/*", s.logTile)
	r.Get("/.well-known/signoff-log/proof/inclusion", s.logInclusionProof)
	r.Get("/.well-known/signoff-log/proof/consistency", s.logConsistencyProof)
	r.With(limitBody(maxCosignedNote)).Post("/.well-known/signoff-log/cosignature", s.logCosignature)
	r.Get("/static/*", http.StripPrefix("/static/", staticHandler(web.Static)).ServeHTTP)

	// The JSON API for pipelines: bearer tokens, no session (internal/api
	// declares its routes and guards).
	r.Mount("/api/v1", api.New(s.db, s.logger, api.Options{Signer: s.signer, Metrics: s.metrics}).Routes())

	// Template Markdown (uploaded, pasted or edited) is the one place a
	// body may be large. An import is previewed first; the preview carries
	// the file to the confirmation.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(MaxTemplateFormBytes), noStore, s.loadUser, s.requireUser, s.requireAdmin)
		r.Post("/templates/preview", s.templatePreview)
		r.Post("/templates/roles", s.templateRoles)
		r.Post("/templates", s.templateImport)
		r.Post("/templates/{slug}/preview", s.templateEditPreview)
		r.Post("/templates/{slug}/versions", s.templateSaveVersion)
	})

	// Evidence files (a screenshot, a log): a body up to one file's limit,
	// refused with a 413 that says it before it is read (files.go).
	r.Group(func(r chi.Router) {
		r.Use(s.limitFileBody, noStore, s.loadUser, s.requireUser, s.requireEditor, s.formOnce)
		r.Post("/deployments/{id}/items/{path}/files", s.fileCreate)
	})

	r.Group(func(r chi.Router) {
		// Nothing behind a session is kept by a browser or a proxy: pages
		// show invitation and reset links, tokens, and people's data.
		r.Use(limitBody(MaxBodyBytes), noStore, s.loadUser)

		// Public: signing in and the one-time first-admin setup.
		r.Get("/login", s.loginForm)
		r.Post("/login", s.login)
		r.Post("/logout", s.logout)
		r.Get("/setup", s.setupForm)
		r.Post("/setup", s.setup)
		r.Get("/invite", s.inviteForm)
		r.Post("/invite", s.acceptInvite)
		r.Get("/reset", s.resetForm)
		r.Post("/reset", s.reset)
		r.Post("/login/passkey/options", s.passkeyLoginOptions)
		r.Post("/login/passkey", s.passkeyLogin)
		r.Get("/login/sso", s.ssoLogin)
		// The provider sends people back here; a signature's
		// re-authentication checks its signer itself (ssoSigned).
		r.Get("/login/sso/callback", s.ssoCallback)

		// Everyone signed in: read.
		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/", s.home)
			r.Get("/deployments", s.deploymentList)
			r.Get("/deployments/{id}", s.deploymentShow)
			r.Get("/deployments/{id}/history", s.deploymentHistory)
			r.Get("/deployments/{id}/export.json", s.deploymentExport("json"))
			r.Get("/deployments/{id}/export.csv", s.deploymentExport("csv"))
			r.Get("/deployments/{id}/export.pdf", s.deploymentExport("pdf"))
			r.Get("/deployments/{id}/export.md", s.deploymentExport("md"))
			r.Get("/deployments/{id}/events", s.deploymentEvents)
			r.Get("/deployments/{id}/items/{path}/comments", s.commentList)
			r.Get("/deployments/{id}/files/{fid}", s.fileShow)
			r.Get("/my/signoffs", s.mySignoffs)
			r.Get("/my/work", s.myWork)
			r.Get("/templates", s.templateList)
			r.Get("/templates/{slug}", s.templateShow)
			r.Get("/templates/{slug}/export.md", s.templateExport)
			r.Get("/templates/{slug}/versions", s.templateVersions)
			r.Get("/templates/{slug}/versions/{version}", s.templateVersion)
			r.Get("/templates/{slug}/diff", s.templateDiff)
			r.Get("/_load/read-floor", s.readFloor)

			// One's own account: password, passkeys, sessions.
			r.Get("/account", s.account)
			r.Post("/account/password", s.accountPassword)
			r.Post("/account/passkeys/options", s.passkeyRegisterOptions)
			r.Post("/account/passkeys", s.passkeyAdd)
			r.Post("/account/passkeys/{pid}/delete", s.passkeyRemove)
			r.Post("/account/sessions/{ref}/end", s.accountSessionEnd)
			r.Post("/account/sessions/end-others", s.accountSessionsEnd)

			// Everyone who may change checklists (not auditors). A form
			// with a form key is done at most once (form_once.go).
			r.Group(func(r chi.Router) {
				r.Use(s.requireEditor, s.formOnce)
				r.Get("/deployments/new", s.deploymentNewForm)
				r.Post("/deployments", s.deploymentCreate)
				r.Post("/_load/write-floor", s.writeFloor)
				r.Get("/deployments/{id}/items/{path}/na", s.naFormShow)
				r.Post("/deployments/{id}/items/{path}/state", s.itemState)
				r.Post("/deployments/{id}/items/{path}/comments", s.commentCreate)
				r.Post("/deployments/{id}/items/{path}/assign", s.itemAssign)
				r.Get("/deployments/{id}/sections/{section}/assign", s.sectionAssignForm)
				r.Post("/deployments/{id}/sections/{section}/assign", s.sectionAssign)
				r.Post("/deployments/{id}/notes/{position}", s.noteEdit)
				r.Post("/deployments/{id}/status", s.deploymentStatus)
				// Signing checks the role itself: only its holders pass.
				r.Get("/deployments/{id}/slots/{slot}/sign", s.signForm)
				r.Post("/deployments/{id}/slots/{slot}/sign", s.sign)
				r.Post("/deployments/{id}/slots/{slot}/sign/passkey", s.signPasskeyOptions)
				r.Post("/deployments/{id}/slots/{slot}/revoke", s.revoke)
				// A request for changes: the store checks the role, and
				// that only its maker withdraws it.
				r.Post("/deployments/{id}/slots/{slot}/reject", s.reject)
				r.Post("/deployments/{id}/slots/{slot}/withdraw", s.withdraw)
			})

			// Auditors and admins: the audit workspace and bulk exports.
			r.Group(func(r chi.Router) {
				r.Use(s.requireAuditor)
				r.Get("/audit", s.auditWorkspace)
				r.Get("/audit/export.zip", s.auditExportZip)
			})

			// Admins: people, roles and templates.
			r.Group(func(r chi.Router) {
				r.Use(s.requireAdmin, s.formOnce)
				r.Get("/admin/people", s.peopleList)
				r.Post("/admin/people", s.personCreate)
				r.Post("/admin/people/{uid}/active", s.personActive)
				r.Post("/admin/people/{uid}/reset", s.personReset)
				r.Post("/admin/people/{uid}/permissions", s.personPermissions)
				r.Post("/admin/people/{uid}/roles", s.personRoleGrant)
				r.Post("/admin/people/{uid}/roles/withdraw", s.personRoleWithdraw)
				r.Post("/admin/roles", s.roleCreate)
				r.Get("/admin/webhooks", s.webhookList)
				r.Post("/admin/webhooks", s.webhookCreate)
				r.Post("/admin/webhooks/{hid}/delete", s.webhookDelete)
				r.Get("/admin/tokens", s.tokenList)
				r.Post("/admin/tokens", s.tokenCreate)
				r.Post("/admin/tokens/{tid}/revoke", s.tokenRevoke)
				r.Get("/templates/{slug}/edit", s.templateEdit)
				r.Post("/templates/{slug}/settings", s.templateSettings)
			})
		})
	})
	return r
}
