package ui

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/api"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// MaxFileFormBytes bounds a form carrying an evidence file: the file at
// its limit and the form's few fields.
const MaxFileFormBytes = signoff.MaxFileBytes + 64<<10

// limitFileBody answers a form too large for any evidence file with a
// 413 that says the limit, before reading it.
func (s *Server) limitFileBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxFileFormBytes {
			s.fail(w, r, tooLargeFile(r.ContentLength))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxFileFormBytes)
		next.ServeHTTP(w, r)
	})
}

func tooLargeFile(n int64) error {
	if n > 0 {
		return signoff.Errorf(signoff.ETOOLARGE, "The upload is %s; files may be at most %s.", signoff.FormatBytes(n), signoff.FormatBytes(signoff.MaxFileBytes))
	}
	return signoff.Errorf(signoff.ETOOLARGE, "The upload is too large; files may be at most %s.", signoff.FormatBytes(signoff.MaxFileBytes))
}

// formFile reads the form's "file" field: nil when none was chosen.
func formFile(r *http.Request) (*postgres.Upload, error) {
	if err := parseForm(r); err != nil {
		if signoff.ErrorCode(err) == signoff.ETOOLARGE {
			return nil, tooLargeFile(0)
		}
		return nil, err
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File["file"][0]
	if fh.Size == 0 && fh.Filename == "" {
		return nil, nil // the browser sends an empty part when nothing was chosen
	}
	if fh.Size > signoff.MaxFileBytes {
		return nil, signoff.Errorf(signoff.ETOOLARGE, "The file %s is %s; files may be at most %s.",
			signoff.CleanFileName(fh.Filename), signoff.FormatBytes(fh.Size), signoff.FormatBytes(signoff.MaxFileBytes))
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("open uploaded file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, signoff.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read uploaded file: %w", err)
	}
	return &postgres.Upload{Name: fh.Filename, Data: data}, nil
}

// fileCreate attaches a file to an item; with a comment written beside
// it, the file belongs to that comment (one change either way).
func (s *Server) fileCreate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	up, err := formFile(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	path := chi.URLParam(r, "path")
	body := strings.TrimSpace(r.PostFormValue("body"))
	switch {
	case up == nil && body == "":
		err = signoff.Errorf(signoff.EINVALID, "Choose a file to attach, or write a comment.")
	case up == nil:
		_, err = s.db.AddComment(r.Context(), id, path, body, actor(r))
	case body == "":
		_, err = s.db.AddFile(r.Context(), id, path, *up, actor(r))
	default:
		_, err = s.db.AddCommentWithFile(r.Context(), id, path, body, *up, actor(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerPanel(w, r, id, path, "Saved.")
}

// fileShow serves an evidence file. Uploads are attack surface: the type
// is the allow-listed one recorded at upload (never sniffed), only
// pictures and text are shown inline, and every answer carries nosniff
// and a sandboxing policy, so an HTML or SVG file (refused at upload)
// could not run even if one got in.
func (s *Server) fileShow(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fid, err := idParam(r, "fid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.db.File(r.Context(), id, fid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	api.ServeFile(w, r, f, true)
}

// itemPanel is what an item's panel shows: its comments and files, and
// who it can be assigned to (nil for those who may not change it).
type itemPanel struct {
	Comments  []signoff.Comment
	Files     []signoff.EvidenceFile
	Assignees []assigneeOption
}

// assigneeOption is one choice of the assignment menu: "u<id>" or "r<id>".
type assigneeOption struct {
	Value, Label string
}

// FilesOf lists the files attached to a comment (0: to the item itself).
func (p itemPanel) FilesOf(comment int64) []signoff.EvidenceFile {
	var out []signoff.EvidenceFile
	for _, f := range p.Files {
		if f.CommentID == comment {
			out = append(out, f)
		}
	}
	return out
}

func (s *Server) loadPanel(r *http.Request, v *deploymentView, path string) (itemPanel, error) {
	var p itemPanel
	var err error
	ctx := r.Context()
	if p.Comments, err = s.db.Comments(ctx, v.D.ID, path); err != nil {
		return p, err
	}
	if p.Files, err = s.db.Files(ctx, v.D.ID, path); err != nil {
		return p, err
	}
	if v.CanEdit() {
		if p.Assignees, err = s.assigneeOptions(r); err != nil {
			return p, err
		}
	}
	return p, nil
}

// answerPanel answers a change made from an item's panel: the panel
// again for HTMX, else back to the item's comments page.
func (s *Server) answerPanel(w http.ResponseWriter, r *http.Request, id int64, path, done string) {
	if !isHTMX(r) {
		http.Redirect(w, r, fmt.Sprintf("/deployments/%d/items/%s/comments", id, path), http.StatusSeeOther)
		return
	}
	v, err := s.loadDeploymentView(r)
	if err != nil {
		s.committed(w, r, done, err)
		return
	}
	it := v.CL.Item(path)
	if it == nil {
		s.committed(w, r, done, errors.New("item gone after its change"))
		return
	}
	p, err := s.loadPanel(r, v, path)
	if err != nil {
		s.committed(w, r, done, err)
		return
	}
	s.render(w, r, http.StatusOK, itemPanelChanged(v, it, p))
}
