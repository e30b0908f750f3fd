package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// brokenConn is a response whose connection is gone: every write fails.
type brokenConn struct{ httptest.ResponseRecorder }

func (*brokenConn) Write([]byte) (int, error) { return 0, errors.New("write: broken pipe") }

// A write to a viewer whose connection broke ends the stream, and the log
// says the viewer is gone, with the deployment and the request id.
func TestFailedWriteEndsTheStreamAsAGoneViewer(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	r := httptest.NewRequest(http.MethodGet, "/deployments/7/events", nil)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, "abc123"))
	w := &brokenConn{}
	ls := &liveStream{s: s, r: r, id: 7, out: &sseWriter{w: w, rc: http.NewResponseController(w)}}

	for name, err := range map[string]error{
		"comment": ls.out.comment("ping"),
		"event":   ls.out.event(3, "change", []byte("<div>")),
	} {
		if !errors.Is(err, errClientGone) {
			t.Fatalf("%s: err = %v, want errClientGone", name, err)
		}
		logs.Reset()
		ls.ended(err)
		var l map[string]any
		if err := json.Unmarshal(logs.Bytes(), &l); err != nil {
			t.Fatalf("%s: log %q: %v", name, logs.String(), err)
		}
		if l["msg"] != "live stream: viewer gone" || l["level"] != "INFO" || l["deployment_id"] != float64(7) ||
			l["request_id"] != "abc123" || l["err"] != "the viewer is gone: write: broken pipe" {
			t.Errorf("%s: logged %v", name, l)
		}
	}

	// A stream that ends because it said all it had to, or because the
	// viewer left, logs nothing more.
	logs.Reset()
	ls.ended(nil)
	ls.ended(errStreamOver)
	if logs.Len() != 0 {
		t.Errorf("logged %s", logs.String())
	}
}
