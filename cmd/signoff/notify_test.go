package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// TestAppSendsWebhooks: the running app queues a change's notifications
// with the change and sends them in the background.
func TestAppSendsWebhooks(t *testing.T) {
	t.Parallel()
	got := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Get(notify.HeaderEvent)
	}))
	t.Cleanup(receiver.Close)
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen")
	if _, err := a.DB.CreateWebhook(context.Background(), signoff.NewWebhook{URL: receiver.URL,
		Events: []string{signoff.HookDeploymentCreated}}, byUser(alice)); err != nil {
		t.Fatal(err)
	}
	a.deployment(alice, "voxflow-api", "v2.4.0")
	select {
	case ev := <-got:
		if ev != signoff.HookDeploymentCreated {
			t.Fatalf("event %q", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook from the running app")
	}
	if depth := a.Notifier.QueueDepth(); depth < 0 {
		t.Errorf("queue depth = %d", depth)
	}
	// Live updates and notifications hear changes on one connection: each
	// change wakes one listening backend per instance, not one per part.
	var listening int
	if err := a.DB.Pool().QueryRow(context.Background(), `
		SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'listen "signoff_%'`).Scan(&listening); err != nil {
		t.Fatal(err)
	}
	if listening != 1 {
		t.Errorf("%d connections listen for changes; want 1 per instance", listening)
	}
}

// TestAppMetrics: the running app counts what pipelines do through the API
// beside what people do in the browser, and its queue depth shows
// notifications waiting: here deliveries to a receiver that keeps failing,
// waiting for their next attempt.
func TestAppMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	a := startApp(t, pgtest.URL(t))
	bot := a.user("CI Bot")
	system := signoff.EventActor{Name: "test", Via: "cli"}
	_, secret, err := a.DB.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: bot.ID}, system)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.CreateWebhook(ctx, signoff.NewWebhook{URL: failing.URL}, system); err != nil {
		t.Fatal(err)
	}
	d := a.deployment(bot, "voxflow-api", "v2.4.0")

	call := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	items := "/deployments/" + strconv.FormatInt(d.ID, 10) + "/items/1.1.1.1"
	if st := call(http.MethodPut, items, `{"state":"done"}`); st != http.StatusOK {
		t.Fatalf("tick through the API: %d", st)
	}
	if st := call(http.MethodPost, "/deployments/"+strconv.FormatInt(d.ID, 10)+"/slots/1/sign", `{}`); st != http.StatusForbidden {
		t.Fatalf("a token signing: %d; want 403", st)
	}
	got := scrapeMetrics(t, a.URL)
	for series, want := range map[string]float64{
		`signoff_item_changes_total{state="done",via="api"}`:                                                                   1,
		`signoff_signatures_total{outcome="refused"}`:                                                                          1,
		`signoff_http_request_duration_seconds_count{method="PUT",route="/api/v1/deployments/{id}/items/{path}",status="2xx"}`: 1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v; want %v", series, got[series], want)
		}
	}
	if _, ok := got["signoff_queue_depth"]; !ok {
		t.Fatal("no signoff_queue_depth")
	}
	// Each change's delivery fails, is retried after about 1 s, fails
	// again and then waits about 16 s: the depth shows it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		depth := scrapeMetrics(t, a.URL)["signoff_queue_depth"]
		if depth >= 1 {
			break
		}
		if depth < 0 || time.Now().After(deadline) {
			t.Fatalf("signoff_queue_depth = %v while deliveries wait to retry; want at least 1", depth)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrapeMetrics reads the app's /metrics into series ("name{labels}" as
// exposed) and values.
func scrapeMetrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %d", res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
