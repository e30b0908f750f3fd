package ui

import (
	"context"
	"sync"
)

// longRequests are the requests that may stream for minutes (bulk
// exports). A shutdown stops them from starting (close), gives the ones
// running a time of their own to finish, and then cuts them (cut): their
// context ends, and they end their response as broken, so that a client
// never takes a cut-off file for a whole one.
type longRequests struct {
	mu      sync.Mutex
	closed  bool
	running map[*struct{}]context.CancelFunc
}

// enter starts a long request under ctx. It returns the context to run
// it in and a func to call when it ends, or false once shutdown began.
func (l *longRequests) enter(ctx context.Context) (context.Context, func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, false
	}
	if l.running == nil {
		l.running = map[*struct{}]context.CancelFunc{}
	}
	ctx, cancel := context.WithCancel(ctx)
	id := new(struct{})
	l.running[id] = cancel
	return ctx, func() {
		l.mu.Lock()
		delete(l.running, id)
		l.mu.Unlock()
		cancel()
	}, true
}

// close refuses long requests from now on and says how many run.
func (l *longRequests) close() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return len(l.running)
}

// cut ends the long requests still running.
func (l *longRequests) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cancel := range l.running {
		cancel()
	}
}

// StopExports refuses new bulk exports (503: another instance will
// answer) and returns how many are streaming: a shutdown gives those
// their own drain time (EXPORT_DRAIN_TIMEOUT), then calls CutExports.
func (s *Server) StopExports() int { return s.exports.close() }

// CutExports ends the bulk exports still streaming: each ends its
// response as broken (the connection is aborted, the ZIP unfinished), so
// the client sees an error, never a truncated file that looks whole.
func (s *Server) CutExports() { s.exports.cut() }
