package ui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/signoff/signoff/internal/signoff"
)

// deploymentEvents streams a deployment's changes to one viewer as
// server-sent events. Each event carries the re-rendered parts of the page
// (as out-of-band swaps, rendered for this viewer's permissions); its id is
// the newest audit sequence, so a reconnecting browser resumes from what
// it last saw and nothing is lost in between. The stream lives no longer
// than the viewer's session: it is re-checked before anything is pushed,
// on every keep-alive (LIVE_KEEPALIVE), and at once when a logout or a
// deactivation is announced; once it is gone the page is told to reload
// (which lands on the login page) and the stream ends.
func (s *Server) deploymentEvents(w http.ResponseWriter, r *http.Request) {
	if s.live == nil {
		s.fail(w, r, signoff.Errorf(signoff.ENOTFOUND, "Live updates are off."))
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	d, err := s.db.Deployment(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	last := d.AuditSeq
	if v, err := strconv.ParseInt(firstNonEmpty(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("seq")), 10, 64); err == nil && v >= 0 && v <= d.AuditSeq {
		last = v
	}
	u := currentUser(ctx)
	sub, err := s.live.Subscribe(ctx, id, signoff.UserRef{ID: u.ID, Name: u.Name})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	stream := &sseWriter{w: w, rc: rc}

	// Catch up at once: the page may be older than the stream.
	if last < d.AuditSeq {
		if last, err = s.sendChanges(ctx, r, stream, id, last); err != nil {
			return
		}
	}
	stream.comment("connected")
	ping := time.NewTicker(s.cfg.LiveKeepAlive)
	defer ping.Stop()
	behind := false // a wake-up went unanswered: the session could not be checked
	for {
		select {
		case <-ctx.Done():
			return
		case _, open := <-sub.Wake():
			if !open {
				return // the server is shutting down; the browser reconnects elsewhere
			}
			n := sub.Take()
			var signedIn bool
			if r, signedIn, err = s.recheckSession(r); err != nil {
				behind = true // nothing goes out unchecked; the next keep-alive catches up
				continue
			} else if !signedIn {
				stream.event(0, "reload", []byte("reload"))
				return
			}
			if n.Viewers {
				if err := s.sendViewers(ctx, r, stream, id); err != nil {
					return
				}
			}
			if n.Session && !n.Viewers && n.Seq == 0 && !behind {
				continue // only a session check, and it stands
			}
			if last, err = s.sendChanges(ctx, r, stream, id, last); err != nil {
				return
			}
			behind = false
		case <-ping.C:
			var signedIn bool
			r, signedIn, err = s.recheckSession(r)
			if err == nil && !signedIn {
				stream.event(0, "reload", []byte("reload"))
				return
			}
			if err == nil && behind {
				if last, err = s.sendChanges(ctx, r, stream, id, last); err != nil {
					return
				}
				behind = false
			}
			if err := stream.comment("ping"); err != nil {
				return
			}
		}
	}
}

// recheckSession reads the stream's session again (one indexed query). It
// reports whether the session still stands and returns the request with
// the person as they are now, whose permissions may have changed since the
// stream opened. An error means the answer is unknown, not that the
// session is gone.
func (s *Server) recheckSession(r *http.Request) (*http.Request, bool, error) {
	u, _, err := s.sessions.signedIn(r, s.cookieName())
	if err != nil {
		return r, false, err
	}
	if u == nil {
		return r, false, nil
	}
	return r.WithContext(context.WithValue(r.Context(), userKey, u)), true, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// sendChanges renders what changed after seq `last` and returns the new
// last seq. Changes that reshape the page (status, locking) ask the browser
// to reload instead.
func (s *Server) sendChanges(ctx context.Context, r *http.Request, stream *sseWriter, id, last int64) (int64, error) {
	events, err := s.db.Events(ctx, id, last, 0)
	if err != nil || len(events) == 0 {
		return last, nil // a database hiccup: the next wake-up retries
	}
	newest := events[len(events)-1].Seq
	reload, signing := false, false
	tops := map[string]bool{}
	notes := map[int]bool{}
	for _, e := range events {
		switch {
		case e.Action == signoff.ActDeploymentStatus, e.Action == signoff.ActSignoffSign && strings.Contains(e.Payload, `"locked":true`):
			reload = true
		case e.Action == signoff.ActSignoffSign, e.Action == signoff.ActSignoffRevoke:
			signing = true
		case strings.HasPrefix(e.Target, "item/"):
			tops[topPath(strings.TrimPrefix(e.Target, "item/"))] = true
		case strings.HasPrefix(e.Target, "note/"):
			if n, err := strconv.Atoi(strings.TrimPrefix(e.Target, "note/")); err == nil {
				notes[n] = true
			}
		}
	}
	if reload {
		return newest, stream.event(newest, "reload", []byte("reload"))
	}
	v, err := s.loadDeploymentView(r)
	if err != nil {
		return last, nil
	}
	var buf bytes.Buffer
	var parts []templ.Component
	for _, it := range v.CL.Items {
		if it.Level == 1 && tops[it.Path] {
			parts = append(parts, itemBlockOOB(v, &it))
		}
	}
	for _, n := range v.CL.Notes {
		if notes[n.Position] {
			parts = append(parts, noteFieldOOB(v, n))
		}
	}
	parts = append(parts, summary(v, true), statusBadge(v, true), startAction(v, true), signoffJump(v, true),
		// Several changes at once may have resolved the checklist and
		// reopened it: only the whole panel is sure to be right then.
		signoffChanged(v, signing || len(events) > 1))
	// Only the phases and sections that changed: every out-of-band swap
	// costs the browser a pass over a large page.
	phases, sections := map[int]bool{}, map[[2]int]bool{}
	for top := range tops {
		var ph, sec int
		if _, err := fmt.Sscanf(top, "%d.%d", &ph, &sec); err == nil {
			phases[ph], sections[[2]int{ph, sec}] = true, true
		}
	}
	for _, ph := range v.Phases() {
		if !phases[ph.Num] {
			continue
		}
		parts = append(parts, phaseNavEntry(ph, true), phaseProgress(ph, true))
		for _, sec := range ph.Sections {
			if sections[[2]int{ph.Num, sec.Num}] {
				parts = append(parts, sectionCount(sec, true))
			}
		}
	}
	for _, p := range parts {
		if err := p.Render(ctx, &buf); err != nil {
			return last, err
		}
	}
	return newest, stream.event(newest, "change", buf.Bytes())
}

func (s *Server) sendViewers(ctx context.Context, r *http.Request, stream *sseWriter, id int64) error {
	people, err := s.live.Viewers(ctx, id)
	if err != nil {
		return nil
	}
	var buf bytes.Buffer
	if err := viewers(&deploymentView{Viewers: people}, true).Render(ctx, &buf); err != nil {
		return err
	}
	return stream.event(0, "viewers", buf.Bytes())
}

// sseWriter writes server-sent events and flushes each one.
type sseWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (s *sseWriter) event(id int64, name string, data []byte) error {
	var b bytes.Buffer
	if id > 0 {
		fmt.Fprintf(&b, "id: %d\n", id)
	}
	fmt.Fprintf(&b, "event: %s\n", name)
	for _, line := range bytes.Split(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseWriter) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.rc.Flush()
}
