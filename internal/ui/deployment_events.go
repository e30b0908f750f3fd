package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/signoff/signoff/internal/live"
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
//
// A stream is long-lived and nobody watches it but the viewer, so whatever
// goes wrong in it (a read, an event it cannot read, a viewer gone) is
// logged with the deployment and the stream's request id: "the update
// never arrived" leaves a trace.
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
	ls := &liveStream{s: s, r: r, id: id, last: last, out: &sseWriter{w: w, rc: http.NewResponseController(w)}}
	ls.ended(ls.run(sub, d.AuditSeq))
}

// liveStream is one viewer's stream of a deployment's changes.
type liveStream struct {
	s   *Server
	r   *http.Request // the viewer's request, with the person as last checked
	out *sseWriter
	id  int64 // the deployment
	// last is the newest audit seq the viewer has been sent.
	last int64
	// behind is set when changes may have gone unsent (the session or the
	// database could not be read): the next keep-alive catches up.
	behind bool
}

// errClientGone wraps a failed write: the viewer is no longer there.
var errClientGone = errors.New("the viewer is gone")

// errStreamOver ends a stream that has nothing more to say: the session
// ended (the page was told to reload) or the server is shutting down.
var errStreamOver = errors.New("stream over")

// run serves the stream until it ends and returns why.
func (ls *liveStream) run(sub *live.Subscription, head int64) error {
	// Catch up at once: the page may be older than the stream.
	if ls.last < head {
		if err := ls.sendChanges(); err != nil {
			return err
		}
	}
	if err := ls.out.comment("connected"); err != nil {
		return err
	}
	ping := time.NewTicker(ls.s.cfg.LiveKeepAlive)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-ls.r.Context().Done():
			return nil // the viewer left
		case _, open := <-sub.Wake():
			if !open {
				return errStreamOver // the server is shutting down; the browser reconnects elsewhere
			}
			err = ls.woken(sub.Take())
		case <-ping.C:
			err = ls.keepAlive()
		}
		if err != nil {
			return err
		}
	}
}

// woken answers a notice: the deployment, its viewers or the viewer's
// session changed.
func (ls *liveStream) woken(n live.Notice) error {
	if ok, err := ls.recheckSession(); !ok || err != nil {
		return err // nothing goes out unchecked; the next keep-alive catches up
	}
	if n.Viewers {
		if err := ls.sendViewers(); err != nil {
			return err
		}
	}
	if n.Session && !n.Viewers && n.Seq == 0 && !ls.behind {
		return nil // only a session check, and it stands
	}
	return ls.sendChanges()
}

// keepAlive checks the session, catches up if behind, and pings.
func (ls *liveStream) keepAlive() error {
	ok, err := ls.recheckSession()
	if err != nil {
		return err
	}
	if ok && ls.behind {
		if err := ls.sendChanges(); err != nil {
			return err
		}
	}
	return ls.out.comment("ping")
}

// recheckSession reads the stream's session again (one indexed query) and
// takes the person as they are now, whose permissions may have changed
// since the stream opened; ok says it stands. A session gone ends the
// stream, after telling the page to reload. When the session cannot be
// read the answer is unknown, not "gone": ok is false, the stream goes on,
// and it is behind.
func (ls *liveStream) recheckSession() (ok bool, err error) {
	u, _, err := ls.s.sessions.signedIn(ls.r, ls.s.cookieName())
	switch {
	case err != nil:
		ls.readFailed("session check", err)
		ls.behind = true
		return false, nil
	case u == nil:
		ls.log(slog.LevelInfo, "live stream: session ended")
		if err := ls.out.event(0, "reload", []byte("reload")); err != nil {
			return false, err
		}
		return false, errStreamOver
	}
	ls.r = ls.r.WithContext(context.WithValue(ls.r.Context(), userKey, u))
	return true, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// sendChanges renders what changed after ls.last and moves ls.last to the
// newest event. Changes that reshape the page (status, locking), and an
// event the stream cannot read, ask the browser to reload instead. A read
// that fails leaves the stream behind: the next wake-up or keep-alive
// tries again.
func (ls *liveStream) sendChanges() error {
	ctx := ls.r.Context()
	events, err := ls.s.db.Events(ctx, ls.id, ls.last, 0)
	if err != nil {
		ls.readFailed("read events", err, slog.Int64("after_seq", ls.last))
		ls.behind = true
		return nil
	}
	if len(events) == 0 {
		ls.behind = false
		return nil
	}
	newest := events[len(events)-1].Seq
	c := ls.changesIn(events)
	if c.reload {
		if err := ls.out.event(newest, "reload", []byte("reload")); err != nil {
			return err
		}
		ls.last, ls.behind = newest, false
		return nil
	}
	v, err := ls.s.loadDeploymentView(ls.r)
	if err != nil {
		ls.readFailed("read the deployment", err, slog.Int64("after_seq", ls.last))
		ls.behind = true
		return nil
	}
	var buf bytes.Buffer
	// Several changes at once may have resolved the checklist and
	// reopened it: only the whole sign-off panel is sure to be right then.
	for _, p := range c.parts(v, c.signing || len(events) > 1) {
		if err := p.Render(ctx, &buf); err != nil {
			return fmt.Errorf("render live change of deployment %d: %w", ls.id, err)
		}
	}
	if err := ls.out.event(newest, "change", buf.Bytes()); err != nil {
		return err
	}
	ls.last, ls.behind = newest, false
	return nil
}

// changesIn reads events and says what they changed on the page. An event
// it cannot read is logged and makes the page reload, which shows the
// deployment as it is whatever the event said.
func (ls *liveStream) changesIn(events []signoff.Event) *pageChanges {
	c := newPageChanges()
	for _, e := range events {
		p, err := signoff.DecodeEvent([]byte(e.Payload))
		if err != nil {
			ls.log(slog.LevelError, "live stream: unreadable audit event; the page reloads",
				slog.Int64("seq", e.Seq), slog.String("action", e.Action), slog.Any("err", err))
			c.reload = true
			continue
		}
		c.add(p)
	}
	return c
}

// pageChanges is what a run of events changed on the deployment page.
type pageChanges struct {
	reload   bool // the page must be loaded again: its shape changed
	signing  bool // a signature was given or revoked
	tops     map[string]bool
	phases   map[int]bool
	sections map[[2]int]bool
	notes    map[int]bool
}

func newPageChanges() *pageChanges {
	return &pageChanges{tops: map[string]bool{}, phases: map[int]bool{}, sections: map[[2]int]bool{}, notes: map[int]bool{}}
}

// add takes one event into account, by its kind.
func (c *pageChanges) add(p *signoff.DecodedEvent) {
	switch e := p.Body.(type) {
	case *signoff.DeploymentStatusEvent:
		c.reload = true
	case *signoff.SignoffSignEvent:
		c.reload = c.reload || e.After.Locked // the final approval locks the page
		c.signing = true
	case *signoff.SignoffRevokeEvent, *signoff.SignoffRejectEvent, *signoff.SignoffWithdrawEvent:
		c.signing = true
	case *signoff.ItemStateEvent, *signoff.ItemCommentEvent, *signoff.ItemEvidenceEvent, *signoff.ItemFileEvent:
		c.item(p.Target)
	case *signoff.ItemAssignEvent:
		for _, path := range e.After.Items { // a section's
			c.item(signoff.ItemTarget(path))
		}
		if p.Target.Kind == signoff.TargetItem {
			c.item(p.Target)
		}
	case *signoff.NoteEditEvent:
		c.notes[p.Target.Position()] = true
	}
}

// item marks an item's top-level block, phase and section changed.
func (c *pageChanges) item(t signoff.Target) {
	c.tops[signoff.TopPath(t.Path)] = true
	ph, sec := t.Section()
	c.phases[ph], c.sections[[2]int{ph, sec}] = true, true
}

// parts are the page's fragments the changes touch, as out-of-band swaps:
// only the phases and sections that changed, since every swap costs the
// browser a pass over a large page.
func (c *pageChanges) parts(v *deploymentView, wholePanel bool) []templ.Component {
	var parts []templ.Component
	for _, it := range v.CL.Items {
		if it.Level == 1 && c.tops[it.Path] {
			parts = append(parts, itemBlockOOB(v, &it))
		}
	}
	for _, n := range v.CL.Notes {
		if c.notes[n.Position] {
			parts = append(parts, noteFieldOOB(v, n))
		}
	}
	parts = append(parts, summary(v, true), statusBadge(v, true), startAction(v, true), signoffJump(v, true),
		signoffChanged(v, wholePanel))
	for _, ph := range v.Phases() {
		if !c.phases[ph.Num] {
			continue
		}
		parts = append(parts, phaseNavEntry(ph, true), phaseProgress(ph, true))
		for _, sec := range ph.Sections {
			if c.sections[[2]int{ph.Num, sec.Num}] {
				parts = append(parts, sectionCount(sec, true))
			}
		}
	}
	return parts
}

// sendViewers sends who is watching. When that cannot be read the list
// stays as it was until the next change of viewers.
func (ls *liveStream) sendViewers() error {
	ctx := ls.r.Context()
	people, err := ls.s.live.Viewers(ctx, ls.id)
	if err != nil {
		ls.readFailed("read viewers", err)
		return nil
	}
	var buf bytes.Buffer
	if err := viewers(&deploymentView{Viewers: people}, true).Render(ctx, &buf); err != nil {
		return fmt.Errorf("render viewers of deployment %d: %w", ls.id, err)
	}
	return ls.out.event(0, "viewers", buf.Bytes())
}

// ended logs why a stream ended, unless the viewer simply left (whatever
// failed once the request was cancelled) or the stream had said all it had
// to.
func (ls *liveStream) ended(err error) {
	switch {
	case err == nil, errors.Is(err, errStreamOver):
	case errors.Is(err, errClientGone):
		ls.log(slog.LevelInfo, "live stream: viewer gone", slog.Any("err", err))
	case ls.r.Context().Err() != nil:
	default:
		ls.log(slog.LevelError, "live stream failed", slog.Any("err", err))
	}
}

// readFailed logs a read that failed, unless the viewer left meanwhile
// (which cancels the stream's reads): the stream goes on and tries again.
func (ls *liveStream) readFailed(what string, err error, attrs ...slog.Attr) {
	if ls.r.Context().Err() != nil {
		return
	}
	ls.log(slog.LevelWarn, "live stream: "+what+" failed", append(attrs, slog.Any("err", err))...)
}

// log records something about the stream, with the deployment and the
// stream's request id.
func (ls *liveStream) log(level slog.Level, msg string, attrs ...slog.Attr) {
	ctx := ls.r.Context()
	ls.s.logger.LogAttrs(ctx, level, msg, append([]slog.Attr{
		slog.Int64("deployment_id", ls.id), slog.String("request_id", requestID(ctx))}, attrs...)...)
}

// sseWriter writes server-sent events and flushes each one. A write or
// flush that fails means the viewer is gone (errClientGone).
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
	return s.send(b.Bytes())
}

func (s *sseWriter) comment(text string) error {
	return s.send([]byte(": " + text + "\n\n"))
}

func (s *sseWriter) send(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return nil
}
