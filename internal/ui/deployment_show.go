package ui

import (
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/live"
	"github.com/signoff/signoff/internal/signoff"
)

// deploymentShow is the working page: the checklist by phase, the progress
// bars and the sign-off panel.
func (s *Server) deploymentShow(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadDeploymentView(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.HideDone = r.URL.Query().Get("hide") == "done"
	body, err := s.checklists.body(r.Context(), v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, deploymentPage(s.page(w, r, v.D.Name(), "deployments"), v, body))
}

// loadDeploymentView reads everything the deployment page shows.
func (s *Server) loadDeploymentView(r *http.Request) (*deploymentView, error) {
	id, err := idParam(r, "id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var viewersSeenWithin time.Duration // none without live updates
	if s.live != nil {
		viewersSeenWithin = live.ViewerTimeout
	}
	d, viewers, err := s.db.DeploymentHead(ctx, id, viewersSeenWithin)
	if err != nil {
		return nil, err
	}
	v, err := s.checklists.view(d, currentUser(ctx), s.now(), func() (*signoff.Checklist, []signoff.Slot, error) {
		return s.db.DeploymentChecklist(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	v.Viewers = viewers
	return v, nil
}

// loadItemView reads what an item change re-renders: the item's block,
// the progress counts and the sign-off slots, not the whole checklist.
func (s *Server) loadItemView(r *http.Request, id int64, top string) (*deploymentView, error) {
	u, err := s.db.ItemBlock(r.Context(), id, top)
	if err != nil {
		return nil, err
	}
	return s.blockView(r, u)
}

func (s *Server) blockView(r *http.Request, u *signoff.ItemUpdate) (*deploymentView, error) {
	ctx := r.Context()
	t, err := s.db.TemplateStructure(ctx, u.Deployment.TemplateVersionID)
	if err != nil {
		return nil, err
	}
	return newBlockView(t, u, currentUser(ctx), s.now()), nil
}

// itemState ticks, unticks or marks N/A one item. Without JavaScript the
// browser posts the form and is sent back to the item; with HTMX only the
// item's line (or a parent's block) and what it moved come back. Both are
// the same change, written the same way.
func (s *Server) itemState(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	path := chi.URLParam(r, "path")
	change := signoff.ItemChange{Path: path, State: signoff.ItemState(lastValue(r, "state")), NAReason: r.PostFormValue("reason")}
	u, err := s.db.SetItemState(r.Context(), id, change, actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u.Changed() { // a repeated state records nothing and counts nothing
		s.metrics.ItemChanged(string(change.State), "web")
	}
	if !isHTMX(r) {
		// Back to the row: its element id spells the path with dashes.
		http.Redirect(w, r, fmt.Sprintf("/deployments/%d#item-%s", id, pid(path)), http.StatusSeeOther)
		return
	}
	if u.Unread != nil {
		s.committed(w, r, "Saved.", u.Unread)
		return
	}
	v, err := s.blockView(r, u)
	if err != nil {
		s.committed(w, r, "Saved.", err)
		return
	}
	it := v.CL.Item(path)
	if it == nil {
		s.fail(w, r, signoff.Errorf(signoff.ENOTFOUND, "Deployment %d has no item %s.", v.D.ID, path))
		return
	}
	s.render(w, r, http.StatusOK, itemChanged(v, it))
}

// lastValue is the last value of a form field: a checkbox after a hidden
// field of the same name wins when ticked, the hidden one when not.
func lastValue(r *http.Request, name string) string {
	vs := r.PostForm[name]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}
