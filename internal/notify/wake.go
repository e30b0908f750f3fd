package notify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/postgres"
)

// How an instance learns which deployments to sync. Nothing is written for
// it in a change's transaction: the change bumps deployments.audit_seq, and
// notification_cursors records how far notifications got, so the work to
// do is always in the database (postgres.NotificationsBehind). Two things
// point at it:
//
//   - the NOTIFY every committed deployment change sends on
//     postgres.NotifyChannel, heard by every instance's listener, which asks
//     its syncQueue to sync that deployment after the coalescing delay;
//   - the catch-up sweep, which reads the deployments behind their cursor
//     and asks for them at once: after the listener (re)connects (changes
//     committed while nobody listened were not heard), and every
//     SweepInterval on the instance elected leader (a NOTIFY lost any
//     other way, a sync that failed on an instance that died).

// sweep asks for every deployment behind its cursor to be synced now.
func (n *Notifier) sweep(ctx context.Context) error {
	ids, err := n.db.NotificationsBehind(ctx)
	if err != nil {
		return fmt.Errorf("notifications: catch-up sweep: %w", err)
	}
	now := time.Now()
	for _, id := range ids {
		n.syncs.request(id, now)
	}
	return nil
}

// ListenOn makes the notifier hear changes on l, the listener its
// instance shares (postgres.Listener), instead of on a connection of its
// own. Call it before Start and before l listens; whoever made l runs it.
func (n *Notifier) ListenOn(l *postgres.Listener) {
	n.shared = true
	l.Handle(postgres.NotifyChannel, changeHandler{n})
}

// listen hears every committed deployment change until ctx ends,
// reconnecting a second after the database goes away, unless ListenOn gave
// the notifier a shared listener.
func (n *Notifier) listen(ctx context.Context) {
	if n.shared {
		<-ctx.Done()
		return
	}
	l := postgres.NewListener(n.db.Pool(), n.logger)
	l.Handle(postgres.NotifyChannel, changeHandler{n})
	// Listen reconnects by itself and returns when ctx ends; anything else
	// would leave the notifier deaf until the next sweep, so it is said.
	if err := l.Listen(ctx); err != nil && ctx.Err() == nil {
		n.logger.Error("notifications: listener stopped; changes are found by the sweep only", "err", err)
	}
}

type changeHandler struct{ n *Notifier }

// HandleNotification asks for the changed deployment ("id:seq") to be
// synced after the coalescing delay.
func (h changeHandler) HandleNotification(_ context.Context, note *pgconn.Notification, _ *pgx.Conn) error {
	idText, _, _ := strings.Cut(note.Payload, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return fmt.Errorf("bad change notification %q", note.Payload)
	}
	h.n.syncs.request(id, time.Now().Add(h.n.syncDelay))
	return nil
}

// HandleBacklog runs once the listener listens, at start and after every
// reconnect: it sweeps, so that changes committed while nobody listened
// are synced too. Changes committed from here on are heard.
func (h changeHandler) HandleBacklog(ctx context.Context, _ string, _ *pgx.Conn) error {
	return h.n.sweep(ctx)
}

// catchUpArgs asks for the catch-up sweep (a periodic job, so that it runs
// on the leader only).
type catchUpArgs struct{}

func (catchUpArgs) Kind() string { return "signoff.catch_up" }

func (catchUpArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

type catchUpWorker struct {
	river.WorkerDefaults[catchUpArgs]
	n *Notifier
}

func (w *catchUpWorker) Work(ctx context.Context, _ *river.Job[catchUpArgs]) error {
	return w.n.sweep(ctx)
}
