package ui

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/a-h/templ"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Forms whose sending twice would do something twice (a new deployment,
// a comment, a status change, a token, a webhook) carry a form key: a
// random value made when the form is rendered. The store claims it in the
// transaction of the change, the same way as an API Idempotency-Key
// (postgres.IdempotencyKey), so the same form sent again (a double click,
// a reload of the answer, the browser's "resend", a retry after the
// database went away mid-request) does nothing the second time and is
// answered as if it were the first: sent back to the deployment, the new
// comment shown once. A form sent with other values under its key (edited
// after the back button) is refused with a 422 asking for a fresh form.
//
// Post-redirect-get alone would not do: it makes a reload safe only once
// the redirect arrived, and the cases that matter are the ones where it
// did not. Forms that set a value (a tick, a note) are safe to send again
// as they are, and carry no key; they are rendered in the cached checklist,
// where a key would be shared by every render.

const formKeyField = "form_key"

// formKey renders a form's hidden key, fresh at every render.
func formKey() templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<input type="hidden" name="`+formKeyField+`" value="`+
			base64.RawURLEncoding.EncodeToString(randomBytes(18))+`"/>`)
		return err
	})
}

// maxFormKey bounds a form key sent back (ours are 24 characters).
const maxFormKey = 64

// formOnce puts a posted form's key, if it has one, on the request's
// context for the store to claim. The key is the person's: scoped to
// them, and hashed with the form's address and values.
func (s *Server) formOnce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if err := parseForm(r); err != nil {
			s.fail(w, r, err)
			return
		}
		key := r.PostForm.Get(formKeyField)
		u := currentUser(r.Context())
		if key == "" || u == nil {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > maxFormKey {
			s.fail(w, r, signoff.Errorf(signoff.EINVALID, "The form could not be read; reload the page and try again."))
			return
		}
		values := url.Values{}
		for name, v := range r.PostForm {
			if name != formKeyField {
				values[name] = v
			}
		}
		if r.MultipartForm != nil { // a file sent under the key is part of what it names
			for name, fhs := range r.MultipartForm.File {
				for _, fh := range fhs {
					values.Add("\x00file:"+name, fh.Filename+"\x00"+strconv.FormatInt(fh.Size, 10))
				}
			}
		}
		k := postgres.NewIdempotencyKey("user:"+strconv.FormatInt(u.ID, 10), key, r.Method, r.URL.Path, []byte(values.Encode()))
		next.ServeHTTP(w, r.WithContext(postgres.WithIdempotencyKey(r.Context(), k)))
	})
}

// committed answers a change that committed when what the answer shows
// could not be read back (the database went away just after the COMMIT):
// the change was made, so the person is told so, and to reload, never
// that nothing was changed. Without JavaScript the answer is a redirect
// anyway and needs no read; this is for HTMX fragments.
func (s *Server) committed(w http.ResponseWriter, r *http.Request, what string, readErr error) {
	s.logger.LogAttrs(r.Context(), slog.LevelWarn, "change committed; reading it back failed",
		slog.String("request_id", requestID(r.Context())), slog.String("path", r.URL.Path), slog.Any("err", readErr))
	w.Header().Set("HX-Retarget", "#flash")
	w.Header().Set("HX-Reswap", "innerHTML")
	s.render(w, r, http.StatusOK, flashMessage("info", what+" The page could not be brought up to date: reload it to see the change."))
}
