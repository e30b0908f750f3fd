package ui_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// stream is an open event stream read in the background: each event's
// name (comments as ":text"), then end when the server closes it.
type stream struct {
	lines     chan string
	end       chan struct{}
	cancel    context.CancelFunc
	requestID string // the server's X-Request-Id for the stream
}

// openStream opens a deployment's live updates with c's cookies and waits
// until the server says it is connected.
func (c *client) openStream(d *signoff.Deployment) *stream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+dpath(d, "/events"), nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.http.Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		cancel()
		c.t.Fatalf("open stream: %d", res.StatusCode)
	}
	s := &stream{lines: make(chan string, 256), end: make(chan struct{}), cancel: cancel,
		requestID: res.Header.Get("X-Request-Id")}
	go func() {
		defer close(s.end)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.HasPrefix(l, "event: "):
				s.lines <- strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, ": "):
				s.lines <- ":" + strings.TrimPrefix(l, ": ")
			}
		}
	}()
	c.t.Cleanup(s.close)
	s.await(c.t, ":connected", 5*time.Second)
	return s
}

func (s *stream) close() {
	s.cancel()
	<-s.end
}

// await waits for an event (or ":comment") named want, skipping others.
func (s *stream) await(t testing.TB, want string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l := <-s.lines:
			if l == want {
				return
			}
		case <-s.end:
			t.Fatalf("stream ended before %q", want)
		case <-timeout:
			t.Fatalf("no %q within %s", want, within)
		}
	}
}

// ends waits for the server to close the stream and returns what came
// before, failing after within.
func (s *stream) ends(t testing.TB, within time.Duration) []string {
	t.Helper()
	var got []string
	timeout := time.After(within)
	for {
		select {
		case l := <-s.lines:
			got = append(got, l)
		case <-s.end:
			for {
				select {
				case l := <-s.lines:
					got = append(got, l)
				default:
					return got
				}
			}
		case <-timeout:
			t.Fatalf("the stream is still open %s after its session ended (got %q)", within, got)
		}
	}
}

// A live stream lives no longer than its session: logging out elsewhere
// ends it at once, even with the keep-alive far off.
func TestLiveStreamEndsAtLogout(t *testing.T) {
	t.Parallel()
	a := newApp(t) // keep-alive every 25 s: the logout itself must end the stream
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	other := a.login(alice) // a second session of hers, in another browser
	s := c.openStream(d)
	kept := other.openStream(d)

	start := time.Now()
	if res := c.post("/logout", nil, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	got := s.ends(t, 3*time.Second)
	t.Logf("stream ended %d ms after the logout", time.Since(start).Milliseconds())
	if len(got) == 0 || got[len(got)-1] != "reload" {
		t.Errorf("the ended stream's last words were %q; want a reload (to the login page)", got)
	}
	// Her other session goes on, and still gets changes.
	bob := a.user("Bob Okafor", false, false)
	a.login(bob).tick(d, "1.1.1.1", true)
	kept.await(t, "change", 5*time.Second)
}

// Deactivated behind the web layer's back (no announcement): the next
// change is not pushed, and the stream ends; with nothing happening the
// keep-alive's check ends it.
func TestLiveStreamEndsAfterDeactivation(t *testing.T) {
	t.Parallel()
	a := newApp(t) // keep-alive every 25 s: only the check before a push can stop it
	admin := a.user("Rachel Kim", true, false)
	alice := a.user("Alice Chen", false, false)
	bob := a.user("Bob Okafor", false, false)
	d := a.deployment(alice)
	s := a.login(bob).openStream(d)
	ac := a.login(alice)

	// Changes reach Bob while he is active...
	ac.tick(d, "1.1.1.1", true)
	s.await(t, "change", 5*time.Second)

	// ...and not once he is deactivated.
	if err := a.db.SetActive(t.Context(), bob.ID, false, signoff.EventActor{ID: admin.ID, Name: admin.Name, Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	ac.tick(d, "1.2.1.1", true)
	got := s.ends(t, 5*time.Second)
	for _, l := range got {
		if l == "change" || l == "viewers" {
			t.Fatalf("a deactivated person's stream got a %q event (%q)", l, got)
		}
	}
	if len(got) == 0 || got[len(got)-1] != "reload" {
		t.Errorf("the ended stream's last words were %q; want a reload", got)
	}

	// Nothing happening: the keep-alive's check ends it.
	quick := newAppWith(t, appConfig{env: map[string]string{"LIVE_KEEPALIVE": "200ms"}})
	carol := quick.user("Carol Diaz", false, false)
	d2 := quick.deployment(carol)
	s2 := quick.login(carol).openStream(d2)
	s2.await(t, ":ping", 2*time.Second)
	if err := quick.db.SetActive(t.Context(), carol.ID, false, signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s2.ends(t, 2*time.Second)
	t.Logf("idle stream ended %d ms after the deactivation (keep-alive 200 ms)", time.Since(start).Milliseconds())
}

// Deactivated by an admin on the web: the announcement ends the stream at
// once.
func TestLiveStreamEndsWhenAdminDeactivates(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Rachel Kim", true, false)
	bob := a.user("Bob Okafor", false, false)
	d := a.deployment(admin)
	s := a.login(bob).openStream(d)
	res := a.login(admin).post("/admin/people/"+itoa(bob.ID)+"/active", url.Values{"active": {"false"}}, false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", res.StatusCode)
	}
	s.ends(t, 3*time.Second)
}

// Deactivated any other way (the CLI, the API: straight through the
// store), with nothing happening on the deployment and the keep-alive far
// off: the store's announcement ends the stream at once.
func TestLiveStreamEndsWhenDeactivatedThroughTheStore(t *testing.T) {
	t.Parallel()
	a := newApp(t) // keep-alive every 25 s
	bob := a.user("Bob Okafor", false, false)
	d := a.deployment(bob)
	s := a.login(bob).openStream(d)
	time.Sleep(200 * time.Millisecond) // the stream is subscribed
	start := time.Now()
	if err := a.db.SetActive(t.Context(), bob.ID, false, signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	s.ends(t, 3*time.Second)
	t.Logf("stream ended %d ms after a deactivation through the store", time.Since(start).Milliseconds())
}
