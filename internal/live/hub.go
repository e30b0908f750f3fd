// Package live carries changes to everyone watching a deployment, on every
// app instance: store writes NOTIFY after each change, each instance LISTENs
// on one connection and wakes its local subscribers, who then read what
// they missed from the audit log. Who is watching is kept in PostgreSQL
// (the store's viewer methods) so every instance sees the same list.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Heartbeat is how often an instance refreshes its viewers; a viewer not
// refreshed for three heartbeats (ViewerTimeout) is gone.
const Heartbeat = 20 * time.Second

// ViewerTimeout is how long a viewer's connection counts without a
// heartbeat: whoever reads viewers with the deployment passes it.
const ViewerTimeout = 3 * Heartbeat

// Notice wakes a subscriber: the deployment changed (Seq is its newest
// event, or 0 for "check, you may have missed something"), its viewers
// did, or the viewer's session may have ended.
type Notice struct {
	Seq     int64
	Viewers bool
	Session bool // check that the viewer's session still stands
}

// Hub fans notifications out to this instance's subscribers.
type Hub struct {
	db       *postgres.DB
	logger   *slog.Logger
	instance string
	shared   bool // listens on the instance's shared listener (ListenOn)

	mu     sync.Mutex
	nextID int64
	subs   map[int64]map[*subscription]struct{} // by deployment
	closed bool
}

type subscription struct {
	id           int64
	deploymentID int64
	userID       int64
	wake         chan struct{} // capacity 1: a pending wake-up
	mu           sync.Mutex
	pending      Notice
}

// NewHub returns a hub; Run must be started for it to hear anything.
func NewHub(db *postgres.DB, logger *slog.Logger) *Hub {
	b := make([]byte, 8)
	rand.Read(b)
	return &Hub{db: db, logger: logger, instance: hex.EncodeToString(b),
		subs: make(map[int64]map[*subscription]struct{})}
}

// ListenOn makes the hub hear changes on l, the listener its instance
// shares, instead of on a connection of its own. Call it before Run and
// before l listens; whoever made l runs it.
func (h *Hub) ListenOn(l *postgres.Listener) {
	h.shared = true
	h.register(l)
}

func (h *Hub) register(l *postgres.Listener) {
	l.Handle(postgres.NotifyChannel, changeHandler{h})
	l.Handle(postgres.PresenceChannel, presenceHandler{h})
	l.Handle(postgres.SessionChannel, sessionHandler{h})
}

// Run keeps this instance's viewers fresh until ctx ends and, unless
// ListenOn gave it a shared listener, listens on a connection of its own,
// reconnecting a second after the database goes away.
func (h *Hub) Run(ctx context.Context) error {
	go h.heartbeat(ctx)
	var err error
	if h.shared {
		<-ctx.Done()
	} else {
		l := postgres.NewListener(h.db.Pool(), h.logger)
		h.register(l)
		err = l.Listen(ctx)
	}
	h.close()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type changeHandler struct{ h *Hub }

func (c changeHandler) HandleNotification(ctx context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	idText, seqText, _ := strings.Cut(n.Payload, ":")
	id, err1 := strconv.ParseInt(idText, 10, 64)
	seq, err2 := strconv.ParseInt(seqText, 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad change notification %q", n.Payload)
	}
	c.h.notify(id, Notice{Seq: seq})
	return nil
}

// HandleBacklog runs after every (re)connect: changes made while the
// listener was away were not heard, so every subscriber checks.
func (c changeHandler) HandleBacklog(ctx context.Context, _ string, _ *pgx.Conn) error {
	c.h.notifyAll(Notice{Seq: 0, Viewers: true, Session: true})
	return nil
}

type presenceHandler struct{ h *Hub }

func (p presenceHandler) HandleNotification(ctx context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	id, err := strconv.ParseInt(n.Payload, 10, 64)
	if err != nil {
		return fmt.Errorf("bad presence notification %q", n.Payload)
	}
	p.h.notify(id, Notice{Viewers: true})
	return nil
}

type sessionHandler struct{ h *Hub }

func (sh sessionHandler) HandleNotification(ctx context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	uid, err := strconv.ParseInt(n.Payload, 10, 64)
	if err != nil {
		return fmt.Errorf("bad session notification %q", n.Payload)
	}
	sh.h.mu.Lock()
	defer sh.h.mu.Unlock()
	for _, set := range sh.h.subs {
		for s := range set {
			if s.userID == uid {
				s.post(Notice{Session: true})
			}
		}
	}
	return nil
}

func (h *Hub) notify(deploymentID int64, n Notice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[deploymentID] {
		s.post(n)
	}
}

func (h *Hub) notifyAll(n Notice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			s.post(n)
		}
	}
}

// post merges n into the pending notice, so a slow reader never blocks the
// hub and never loses the fact that something changed.
func (s *subscription) post(n Notice) {
	s.mu.Lock()
	if n.Seq > s.pending.Seq {
		s.pending.Seq = n.Seq
	}
	s.pending.Viewers = s.pending.Viewers || n.Viewers
	s.pending.Session = s.pending.Session || n.Session
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscription) take() Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.pending
	s.pending = Notice{}
	return n
}

// Subscription is one live viewer's feed.
type Subscription struct {
	hub *Hub
	sub *subscription
}

// Wake fires when there is news; Take reads it.
func (s *Subscription) Wake() <-chan struct{} { return s.sub.wake }

// Take returns the pending notice and clears it.
func (s *Subscription) Take() Notice { return s.sub.take() }

// Subscribe registers a viewer of a deployment on this instance and
// announces them to every instance.
func (h *Hub) Subscribe(ctx context.Context, deploymentID int64, viewer signoff.UserRef) (*Subscription, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("live updates are shutting down")
	}
	h.nextID++
	s := &subscription{id: h.nextID, deploymentID: deploymentID, userID: viewer.ID, wake: make(chan struct{}, 1)}
	if h.subs[deploymentID] == nil {
		h.subs[deploymentID] = make(map[*subscription]struct{})
	}
	h.subs[deploymentID][s] = struct{}{}
	h.mu.Unlock()

	if err := h.db.AddViewer(ctx, h.instance, s.id, deploymentID, viewer); err != nil {
		h.remove(s)
		return nil, err
	}
	return &Subscription{hub: h, sub: s}, nil
}

// Close ends the subscription and tells the other viewers.
func (s *Subscription) Close() {
	s.hub.remove(s.sub)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.hub.db.RemoveViewer(ctx, s.hub.instance, s.sub.id, s.sub.deploymentID); err != nil {
		// The row would linger (shown as watching) until it ages out.
		s.hub.logger.Warn("live updates: unregister viewer", "err", err)
	}
}

func (h *Hub) remove(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.deploymentID], s)
	if len(h.subs[s.deploymentID]) == 0 {
		delete(h.subs, s.deploymentID)
	}
}

// Viewers lists the distinct people watching a deployment on any instance.
// A connection missing three heartbeats is gone.
func (h *Hub) Viewers(ctx context.Context, deploymentID int64) ([]signoff.UserRef, error) {
	return h.db.Viewers(ctx, deploymentID, ViewerTimeout)
}

// Connections counts this instance's live connections (for metrics).
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}

func (h *Hub) heartbeat(ctx context.Context) {
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Rows of an instance that died linger (not shown after three
		// heartbeats) until ten have passed.
		if err := h.db.RefreshViewers(ctx, h.instance, 10*Heartbeat); err != nil && ctx.Err() == nil {
			h.logger.Warn("live updates: heartbeat", "err", err)
		}
	}
}

// close wakes every subscriber one last time; their handlers see the hub
// closed and end, so a graceful shutdown is not held up by open streams.
func (h *Hub) close() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = make(map[int64]map[*subscription]struct{})
	h.mu.Unlock()
	for _, set := range subs {
		for s := range set {
			close(s.wake)
		}
	}
}

// Shutdown ends every live stream on this instance now (SIGTERM): it lets
// the HTTP server drain ordinary requests without waiting on streams.
func (h *Hub) Shutdown() { h.close() }
