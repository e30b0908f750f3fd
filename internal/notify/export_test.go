package notify

// SyncRuns counts the syncs n's workers started (forced syncs aside).
func SyncRuns(n *Notifier) int64 { return n.syncs.runs.Load() }
