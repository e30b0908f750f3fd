package ui

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// auditPageSize is how many deployments the auditor's workspace lists at
// a time.
const auditPageSize = 50

type auditView struct {
	Filter       signoff.DeploymentFilter
	FromText     string
	ToText       string
	Deployments  []*signoff.Deployment
	Environments []string
	Page         int
	More         bool
	Fingerprint  string
	query        url.Values // the filter, for links
}

// auditWorkspace lets auditors and admins find deployments (date range,
// service, environment, status, signer), download each one's exports, and
// download every completed one in the range as a ZIP.
func (s *Server) auditWorkspace(w http.ResponseWriter, r *http.Request) {
	f, from, to, err := parseDeploymentFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	f.Limit, f.Offset = auditPageSize+1, (page-1)*auditPageSize
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
	v := auditView{Filter: f, FromText: from, ToText: to, Deployments: list, Environments: envs,
		Page: page, Fingerprint: s.signer.Fingerprint(), query: filterQuery(f, from, to)}
	if len(list) > auditPageSize {
		v.Deployments, v.More = list[:auditPageSize], true
	}
	s.render(w, r, http.StatusOK, auditPage(s.page(w, r, "Audit", "audit"), v))
}

// filterQuery is the filter as a query string, without paging.
func filterQuery(f signoff.DeploymentFilter, from, to string) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("status", string(f.Status))
	set("service", f.Service)
	set("environment", f.Environment)
	set("signer", f.Signer)
	set("from", from)
	set("to", to)
	return q
}

// ZipURL downloads every completed deployment the filter matches.
func (v auditView) ZipURL() string {
	q := url.Values{}
	for k, vs := range v.query {
		if k != "status" {
			q[k] = vs
		}
	}
	if len(q) == 0 {
		return "/audit/export.zip"
	}
	return "/audit/export.zip?" + q.Encode()
}

// PageURL is the workspace at another page of the same filter.
func (v auditView) PageURL(page int) string {
	q := url.Values{}
	for k, vs := range v.query {
		q[k] = vs
	}
	q.Set("page", strconv.Itoa(page))
	return "/audit?" + q.Encode()
}

func exportURL(d *signoff.Deployment, format string) string {
	return fmt.Sprintf("/deployments/%d/export.%s", d.ID, format)
}

// auditExportZip streams a ZIP of every completed deployment matching the
// filter (the status filter is ignored): each one's signed JSON, PDF and
// CSV, then manifest.json with every file's SHA-256. Deployments are read
// a page at a time and written as they are made, so memory stays flat
// however large the range.
func (s *Server) auditExportZip(w http.ResponseWriter, r *http.Request) {
	f, from, to, err := parseDeploymentFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Status = ""
	// Fail before the first byte when the database is away.
	if _, err := s.db.CompletedDeploymentIDs(r.Context(), f, 0, 1); err != nil {
		s.fail(w, r, err)
		return
	}
	// A shutdown refuses new exports, and cuts those that outrun its time
	// for them (drain.go): ctx ends.
	ctx, done, ok := s.exports.enter(r.Context())
	if !ok {
		w.Header().Set("Retry-After", "5")
		s.fail(w, r, signoff.Errorf(problem.Unavailable, "This server is shutting down and starts no new export. Ask again in a moment: another one will answer."))
		return
	}
	defer done()
	now := s.now()
	name := "signoff-audit-" + now.UTC().Format("20060102-150405")
	if from != "" || to != "" {
		name = fmt.Sprintf("signoff-audit-%s-to-%s", orDefault(from, "start"), orDefault(to, now.UTC().Format(time.DateOnly)))
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.zip"`, name))
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	n, err := audit.WriteBulk(ctx, w, s.db, f, s.signer, now)
	if err != nil {
		// Too late for an error page: abort the connection, so that the
		// chunked body never gets its last chunk and the download shows as
		// broken (a ZIP cut short also lacks its central directory, so no
		// unzip takes it for whole).
		level, msg := slog.LevelError, "bulk export failed"
		if ctx.Err() != nil && r.Context().Err() == nil {
			level, msg = slog.LevelWarn, "bulk export cut off by shutdown"
		}
		s.logger.LogAttrs(r.Context(), level, msg,
			slog.String("request_id", requestID(r.Context())), slog.Int("deployments_written", n), slog.Any("err", err))
		panic(http.ErrAbortHandler)
	}
	s.logger.LogAttrs(r.Context(), slog.LevelInfo, "bulk export",
		slog.String("request_id", requestID(r.Context())), slog.Int("deployments", n))
}
