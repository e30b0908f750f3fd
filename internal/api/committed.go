package api

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/signoff/signoff/internal/signoff"
)

// committedJSON answers a change that committed when what the full answer
// shows could not be read back (the database went away just after the
// COMMIT). The change was made: the answer keeps its success status and
// says what the change itself established, with "partial": true and where
// to read the rest. It is never kept as an idempotent answer, so a retry
// with the key gets the full one.
type committedJSON struct {
	Partial  bool              `json:"partial"`
	Message  string            `json:"message"`
	ID       int64             `json:"id"`                  // the deployment
	Status   signoff.Status    `json:"status,omitempty"`    // its status, when the change set it
	Path     string            `json:"path,omitempty"`      // the item changed
	State    signoff.ItemState `json:"state,omitempty"`     // its new state
	NAReason string            `json:"na_reason,omitempty"` // with state "na"
	Evidence string            `json:"evidence,omitempty"`  // its new evidence
}

// respondCommitted sends a committed change's partial answer; readErr is
// why the full one could not be read, for the log.
func (a *API) respondCommitted(w http.ResponseWriter, r *http.Request, status int, c committedJSON, readErr error) {
	a.logger.LogAttrs(r.Context(), slog.LevelWarn, "change committed; reading it back failed",
		slog.String("request_id", w.Header().Get("X-Request-Id")), slog.String("path", r.URL.Path), slog.Any("err", readErr))
	if rec, ok := w.(*answerRecorder); ok {
		rec.partial = true
	}
	c.Partial = true
	c.Message = fmt.Sprintf("The change was made, but reading it back failed. GET /api/v1/deployments/%d for the rest.", c.ID)
	a.respond(w, r, status, c)
}
