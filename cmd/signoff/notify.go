package main

import (
	"context"
	"time"
)

// stopNotifier lets running notification jobs finish (River cancels them
// after 15 s) before the database closes. A job cut short runs again on
// the next start: nothing is lost.
func (a *App) stopNotifier() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Notifier.Stop(ctx); err != nil {
		a.Logger.Warn("stop notifications", "err", err)
	}
}
