package main

import (
	"context"
	"time"
)

// stopNotifier runs the syncs already asked for and lets running
// notification jobs finish (River cancels them after 15 s) before the
// database closes. What is cut short runs again after the next start (a
// deployment still behind its cursor is swept, a job is rescued): nothing
// is lost.
func (a *App) stopNotifier() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Notifier.Stop(ctx); err != nil {
		a.Logger.Warn("stop notifications", "err", err)
	}
}
