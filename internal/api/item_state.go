package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

type itemStateRequest struct {
	State    string `json:"state"`
	NAReason string `json:"na_reason"`
}

// itemState ticks ("done"), unticks ("open") or marks N/A ("na", with a
// reason) one item by its path. Asking for the state an item already has
// changes nothing and records nothing.
func (a *API) itemState(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id", "Deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	path, err := itemPathParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req itemStateRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	state := signoff.ItemState(req.State)
	if !state.Valid() {
		a.fail(w, r, errorf(signoff.EINVALID, "Field \"state\" must be \"done\", \"open\" or \"na\"."))
		return
	}
	if state != signoff.ItemNA && strings.TrimSpace(req.NAReason) != "" {
		a.fail(w, r, errorf(signoff.EINVALID, "Field \"na_reason\" goes only with state \"na\"."))
		return
	}
	change := signoff.ItemChange{Path: path, State: state, NAReason: req.NAReason}
	// The answer is read in the round trip that commits the change.
	u, err := a.db.SetItemState(r.Context(), id, change, actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if u.Changed() { // a repeated state records nothing and counts nothing
		a.metrics.ItemChanged(string(state), "api")
	}
	if u.Unread != nil { // the change stands: say so
		a.respondCommitted(w, r, http.StatusOK, committedJSON{ID: id, Path: path, State: state, NAReason: req.NAReason}, u.Unread)
		return
	}
	it, err := itemFrom(u.Deployment, u.Block, path)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.respond(w, r, http.StatusOK, it)
}

func (a *API) item(ctx context.Context, id int64, path string) (itemJSON, error) {
	d, err := a.db.Deployment(ctx, id)
	if err != nil {
		return itemJSON{}, err
	}
	items, err := a.db.Items(ctx, id, path) // the item, then its descendants
	if err != nil {
		return itemJSON{}, err
	}
	return itemFrom(d, items, path)
}

// itemFrom is the item at path among items (in document order, holding it
// and its descendants) as the API shows it.
func itemFrom(d *signoff.Deployment, items []signoff.Item, path string) (itemJSON, error) {
	i := slices.IndexFunc(items, func(it signoff.Item) bool { return it.Path == path })
	if i < 0 {
		return itemJSON{}, errorf(signoff.ENOTFOUND, "Deployment %d has no item %s.", d.ID, path)
	}
	sub := []signoff.Item{items[i]}
	for _, it := range items[i+1:] {
		if strings.HasPrefix(it.Path, path+".") {
			sub = append(sub, it)
		}
	}
	cl := signoff.NewChecklist(nil, sub, nil)
	return newItemJSON(d, cl, &cl.Items[0]), nil
}
