package ui

import (
	"net/http"
	"strings"
)

// flash keeps a one-time message in the session for the next page, so a
// redirect after a form post can still say what happened.
func (s *Server) flash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	sess, err := s.sessions.Get(r, s.cookieName())
	if err != nil {
		return
	}
	sess.AddFlash(kind + "|" + msg)
	if err := sess.Save(r, w); err != nil {
		s.logger.Warn("save flash", "err", err, "request_id", requestID(r.Context()))
	}
}

type flashMsg struct {
	Kind string // success, error, info
	Text string
}

// takeFlashes reads and clears the pending messages.
func (s *Server) takeFlashes(w http.ResponseWriter, r *http.Request) []flashMsg {
	if none, _ := r.Context().Value(noFlashKey).(bool); none {
		return nil
	}
	sess, err := s.sessions.Get(r, s.cookieName())
	if err != nil || sess.IsNew {
		return nil
	}
	raw := sess.Flashes()
	if len(raw) == 0 {
		return nil
	}
	var out []flashMsg
	for _, v := range raw {
		str, _ := v.(string)
		kind, text, ok := strings.Cut(str, "|")
		if ok {
			out = append(out, flashMsg{Kind: kind, Text: text})
		}
	}
	if err := sess.Save(r, w); err != nil {
		s.logger.Warn("clear flashes", "err", err, "request_id", requestID(r.Context()))
	}
	return out
}
