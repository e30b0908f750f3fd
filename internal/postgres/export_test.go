package postgres

// TicksWaiting counts the ticks waiting in a deployment's line, not yet
// taken into a transaction: tests wait on it to line ticks up.
func (db *DB) TicksWaiting(deploymentID int64) int {
	db.ticks.mu.Lock()
	defer db.ticks.mu.Unlock()
	if line := db.ticks.lines[deploymentID]; line != nil {
		return len(line.waiting)
	}
	return 0
}
