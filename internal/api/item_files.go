package api

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// fileJSON is an evidence file as the API describes it: its SHA-256 is
// the one the audit event that added it records.
type fileJSON struct {
	ID          int64  `json:"id"`
	Item        string `json:"item"`
	Comment     int64  `json:"comment,omitempty"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	URL         string `json:"url"`
}

func newFileJSON(f signoff.EvidenceFile) fileJSON {
	return fileJSON{ID: f.ID, Item: f.ItemPath, Comment: f.CommentID, Name: f.Name, ContentType: f.ContentType,
		Size: f.Size, SHA256: f.SHA256, URL: fmt.Sprintf("/api/v1/deployments/%d/files/%d", f.DeploymentID, f.ID)}
}

// limitFileBody bounds a file upload at one file's limit.
func (a *API) limitFileBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > signoff.MaxFileBytes {
			a.fail(w, r, errorf(signoff.ETOOLARGE, "The file is %s; files may be at most %s. Nothing was changed.",
				signoff.FormatBytes(r.ContentLength), signoff.FormatBytes(signoff.MaxFileBytes)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, signoff.MaxFileBytes)
		next.ServeHTTP(w, r)
	})
}

// itemFileCreate attaches the request body, a file named by ?name=, to an
// item; with ?comment=, to a new comment on it. The type is decided by
// the name's extension from the allow-list and checked against the bytes;
// the Content-Type header is not trusted.
func (a *API) itemFileCreate(w http.ResponseWriter, r *http.Request) {
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
	data, err := io.ReadAll(r.Body)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		a.fail(w, r, errorf(signoff.ETOOLARGE, "The file is over %s; nothing was changed.", signoff.FormatBytes(signoff.MaxFileBytes)))
		return
	} else if err != nil {
		a.fail(w, r, errorf(signoff.EINVALID, "The body could not be read."))
		return
	}
	q := r.URL.Query()
	up := postgres.Upload{Name: q.Get("name"), Data: data}
	if comment := strings.TrimSpace(q.Get("comment")); comment != "" {
		_, err = a.db.AddCommentWithFile(r.Context(), id, path, comment, up, actor(r))
	} else {
		_, err = a.db.AddFile(r.Context(), id, path, up, actor(r))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The newest file of the item with these bytes is this one (or, for
	// a retry, the one the first request added).
	files, err := a.db.Files(r.Context(), id, path)
	name, _, sum, _ := signoff.CheckFile(up.Name, up.Data)
	for i := len(files) - 1; err == nil && i >= 0; i-- {
		if files[i].SHA256 == sum && files[i].Name == name {
			w.Header().Set("Location", newFileJSON(files[i]).URL)
			a.respond(w, r, http.StatusCreated, newFileJSON(files[i]))
			return
		}
	}
	a.respondCommitted(w, r, http.StatusCreated, committedJSON{ID: id, Path: path}, cmpErr(err, "file not found after it was added"))
}

func cmpErr(err error, otherwise string) error {
	if err != nil {
		return err
	}
	return errors.New(otherwise)
}

// itemFiles lists the files of a deployment's item.
func (a *API) itemFiles(w http.ResponseWriter, r *http.Request) {
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
	if _, err := a.item(r.Context(), id, path); err != nil {
		a.fail(w, r, err)
		return
	}
	files, err := a.db.Files(r.Context(), id, path)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]fileJSON, len(files))
	for i, f := range files {
		out[i] = newFileJSON(f)
	}
	a.respond(w, r, http.StatusOK, out)
}

// fileShow sends an evidence file's bytes.
func (a *API) fileShow(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id", "Deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	fid, err := idParam(r, "fid", "File")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := a.db.File(r.Context(), id, fid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ServeFile(w, r, f, false)
}

// FileCSP is the policy a served evidence file gets, whatever it is: no
// script, no styles, no requests, and a sandbox, so that even a file a
// browser mistook for a page could do nothing in Signoff's origin.
const FileCSP = "default-src 'none'; img-src 'self'; sandbox"

// ServeFile sends an evidence file, the web's and the API's way alike.
// Uploads are attack surface: the type is the allow-listed one recorded
// at upload (never sniffed; bytes the allow-list no longer takes go as
// application/octet-stream), only pictures and text may be shown inline
// (when inline is asked and ?download is not), and every answer carries
// nosniff and the sandboxing policy. Repr-Digest (RFC 9530) and
// X-Signoff-SHA256 carry the SHA-256 the audit record holds.
func ServeFile(w http.ResponseWriter, r *http.Request, f *signoff.EvidenceFile, inline bool) {
	h := w.Header()
	ct := f.ContentType
	inline = inline && (f.Image() || f.Text())
	if _, checked, _, err := signoff.CheckFile(f.Name, f.Data); err != nil || checked != ct {
		ct, inline = "application/octet-stream", false
	}
	if r.URL.Query().Get("download") != "" {
		inline = false
	}
	disposition := "attachment"
	if inline {
		disposition = "inline"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}))
	h.Set("Content-Security-Policy", FileCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	if sum, err := hex.DecodeString(f.SHA256); err == nil {
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	}
	h.Set("X-Signoff-SHA256", f.SHA256)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.Data)
	}
}
