package postgres

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgxlisten"
)

// Listener is one LISTEN connection for everything in an app instance that
// hears changes (live updates, notifications). Every NOTIFY a change sends
// wakes each listening connection's backend and the goroutine reading it,
// about 0.1 ms of CPU each per change (docs/performance.md); one per
// instance, however many parts of the app listen, keeps that cost to one.
//
// Several handlers may share a channel: each notification goes to them in
// the order they were added, and each handles its backlog after every
// (re)connect. Handlers are added before Listen.
type Listener struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	mu        sync.Mutex
	handlers  map[string]fanOut
	listening bool
}

// NewListener returns a listener on a connection of pool's; Listen runs it.
func NewListener(pool *pgxpool.Pool, logger *slog.Logger) *Listener {
	return &Listener{pool: pool, logger: logger, handlers: map[string]fanOut{}}
}

// Handle adds h to the handlers of channel. It panics once Listen has
// started: a handler added later would miss what came before it.
func (l *Listener) Handle(channel string, h pgxlisten.Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.listening {
		panic("postgres: Listener.Handle after Listen")
	}
	l.handlers[channel] = append(l.handlers[channel], h)
}

// Listen listens until ctx ends, reconnecting a second after the database
// goes away.
func (l *Listener) Listen(ctx context.Context) error {
	l.mu.Lock()
	l.listening = true
	pl := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			c, err := l.pool.Acquire(ctx)
			if err != nil {
				return nil, err
			}
			return c.Hijack(), nil
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				l.logger.Warn("listener", "err", err)
			}
		},
		ReconnectDelay: time.Second,
	}
	for ch, hs := range l.handlers {
		pl.Handle(ch, hs)
	}
	l.mu.Unlock()
	return pl.Listen(ctx)
}

// fanOut hands one channel's notifications to each of its handlers.
type fanOut []pgxlisten.Handler

func (f fanOut) HandleNotification(ctx context.Context, n *pgconn.Notification, conn *pgx.Conn) error {
	var errs []error
	for _, h := range f {
		if err := h.HandleNotification(ctx, n, conn); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f fanOut) HandleBacklog(ctx context.Context, channel string, conn *pgx.Conn) error {
	var errs []error
	for _, h := range f {
		if b, ok := h.(pgxlisten.BacklogHandler); ok {
			if err := b.HandleBacklog(ctx, channel, conn); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
