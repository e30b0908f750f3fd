package notify_test

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/signoff/signoff/internal/notify"
)

// receiver is a local webhook endpoint. Like a well-behaved receiver it
// applies each delivery once, keyed by X-Signoff-Delivery, however often
// it is sent; and it checks every signature.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	secret string

	mu       sync.Mutex
	requests []hookRequest
	applied  map[string]int // delivery id -> times applied (must stay ≤ 1)
	statuses []int          // answers to give, in order; then 200
	hang     chan struct{}  // set: the next request is applied, then never answered
	got      chan string    // each delivery id as it arrives
	body     string         // what every answer says
}

type hookRequest struct {
	DeliveryID  string
	Event       string
	Signature   string
	SignatureOK bool
	ContentType string
	Body        []byte
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{t: t, applied: map[string]int{}, got: make(chan string, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := hookRequest{
		DeliveryID: r.Header.Get(notify.HeaderDelivery), Event: r.Header.Get(notify.HeaderEvent),
		Signature: r.Header.Get(notify.HeaderSignature), ContentType: r.Header.Get("Content-Type"), Body: body,
	}
	rc.mu.Lock()
	req.SignatureOK = rc.secret != "" && notify.Sign(rc.secret, body) == req.Signature
	rc.requests = append(rc.requests, req)
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	// The effect: applied when answered 2xx or left hanging (the receiver
	// did its work and was about to answer), once per delivery id.
	if status < 300 || rc.hang != nil {
		if req.SignatureOK && rc.applied[req.DeliveryID] == 0 {
			rc.applied[req.DeliveryID]++
		}
	}
	hang, answer := rc.hang, rc.body
	rc.hang = nil
	rc.mu.Unlock()
	rc.got <- req.DeliveryID
	if hang != nil {
		select {
		case <-r.Context().Done(): // the sender went away
		case <-hang:
		}
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (rc *receiver) url(path string) string { return rc.srv.URL + path }

func (rc *receiver) all() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.requests...)
}

// events lists the event names received, in order.
func (rc *receiver) events() []string {
	var out []string
	for _, r := range rc.all() {
		out = append(out, r.Event)
	}
	return out
}

func (rc *receiver) effects() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.applied {
		out[k] = v
	}
	return out
}

func decodeQP(r io.Reader) (string, error) {
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}
