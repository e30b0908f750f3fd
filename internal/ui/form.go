package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// parseForm reads a urlencoded or multipart body, turning a body over the
// limit or a malformed encoding into a message a person can act on.
func parseForm(r *http.Request) error {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(MaxTemplateBytes)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return signoff.Errorf(signoff.ETOOLARGE, "The form is too large to accept.")
	}
	return signoff.Errorf(signoff.EINVALID, "The form could not be read; reload the page and try again.")
}

// idParam reads a positive integer URL parameter, answering 404 for
// anything else (an id that cannot exist is as good as a missing one).
func idParam(r *http.Request, name string) (int64, error) {
	v := chi.URLParam(r, name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, signoff.Errorf(signoff.ENOTFOUND, "Nothing is found at this address.")
	}
	return id, nil
}
