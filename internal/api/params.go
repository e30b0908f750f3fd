package api

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// idParam reads a positive integer URL parameter; anything else names
// nothing, so it is a 404.
func idParam(r *http.Request, name, what string) (int64, error) {
	v := chi.URLParam(r, name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(signoff.ENOTFOUND, "%s %q not found: it must be a positive whole number.", what, v)
	}
	return id, nil
}

// itemPathRe is the shape of an item's stable path: phase, section and
// item positions, then up to two sub-item positions, 1-based ("2.3.1",
// "1.1.3.2").
var itemPathRe = regexp.MustCompile(`^[1-9][0-9]{0,4}(\.[1-9][0-9]{0,4}){2,4}$`)

// itemPathParam reads the {path} of an item route.
func itemPathParam(r *http.Request) (string, error) {
	p := chi.URLParam(r, "path")
	if !itemPathRe.MatchString(p) {
		return "", errorf(signoff.EINVALID, "%q is not an item path: paths are positions such as 2.3.1 (phase 2, section 3, item 1) or 2.3.1.2 for a sub-item; GET the deployment to list them.", p)
	}
	return p, nil
}
