package api_test

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/metrics"
	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/ui"
)

// scrape reads /metrics into series ("name{labels}" as exposed) and values.
func scrape(t *testing.T, srv *httptest.Server) map[string]float64 {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + "/metrics")
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

// TestMetricsCountAPIChanges: the web application as production mounts it,
// with metrics whose queue depth is read from a Notifier that is not
// started yet. Changes through the API are counted with via="api", a
// token's attempt to sign as a refused signature; a change queues no job
// of its own, and the webhook delivery a sync queues shows in
// signoff_queue_depth until a worker runs it.
func TestMetricsCountAPIChanges(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	// The receiver is on this machine: let webhooks reach it.
	cfg, err := config.Load(func(k string) string { return map[string]string{"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	n, err := notify.New(db, cfg, logger, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Sources{Pool: db.Pool(), QueueDepth: n.QueueDepth})
	s, err := ui.New(ctx, db, cfg, logger, ui.Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(s.Handler())
	t.Cleanup(web.Close)
	e := &env{t: t, db: db, web: web}

	var hooked atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooked.Add(1)
	}))
	t.Cleanup(receiver.Close)
	if _, err := db.CreateWebhook(ctx, signoff.NewWebhook{URL: receiver.URL + "/hook", Events: []string{signoff.HookDeploymentCreated}},
		signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}

	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	const (
		depth   = "signoff_queue_depth"
		done    = `signoff_item_changes_total{state="done",via="api"}`
		open    = `signoff_item_changes_total{state="open",via="api"}`
		na      = `signoff_item_changes_total{state="na",via="api"}`
		refused = `signoff_signatures_total{outcome="refused"}`
	)
	before := scrape(t, web)
	if v, ok := before[depth]; !ok || v != 0 {
		t.Fatalf("%s = %v (exposed: %v); want 0 before any deployment", depth, v, ok)
	}

	res := e.call(http.MethodPost, "/api/v1/deployments", secret,
		`{"template":"`+seedSlug+`","service":"voxflow-api","environment":"production","version":"v2.4.0"}`)
	wantStatus(t, res, http.StatusCreated)
	id := int64(res.JSON(t)["id"].(float64))
	if got := scrape(t, web)[depth]; got != 0 {
		t.Fatalf("%s = %v after a deployment was created, before any sync; want 0 (a change queues no job)", depth, got)
	}
	if err := n.Sync(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, web)[depth]; got != 1 {
		t.Fatalf("%s = %v after a sync of a new deployment; want 1 (its deployment.created delivery)", depth, got)
	}

	put := func(path, body string) {
		t.Helper()
		wantStatus(t, e.call(http.MethodPut, dpath(id, "/items/"+path), secret, body), http.StatusOK)
	}
	put("1.1.1.1", `{"state":"done"}`)
	got := scrape(t, web)
	if got[done] != 1 || got[depth] != 1 {
		t.Fatalf("after a tick through the API: %s = %v, %s = %v; want 1 and 1", done, got[done], depth, got[depth])
	}
	put("1.1.1.1", `{"state":"done"}`) // no change: nothing recorded, nothing counted
	if got := scrape(t, web); got[done] != 1 || got[depth] != 1 {
		t.Fatalf("a repeated tick moved the metrics: %s = %v, %s = %v", done, got[done], depth, got[depth])
	}
	put("1.1.1.1", `{"state":"open"}`)
	put("1.1.1.2", `{"state":"na","na_reason":"no schema change"}`)
	if err := n.Sync(ctx, id); err != nil { // nothing a webhook here hears of
		t.Fatal(err)
	}
	got = scrape(t, web)
	if got[open] != 1 || got[na] != 1 || got[depth] != 1 {
		t.Fatalf("after an untick, an N/A and a sync: %s = %v, %s = %v, %s = %v; want 1, 1, 1",
			open, got[open], na, got[na], depth, got[depth])
	}
	for series := range got {
		if strings.Contains(series, `via="web"`) {
			t.Errorf("an API change was counted as the web's: %s", series)
		}
	}
	var jobs float64
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'available'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != got[depth] {
		t.Fatalf("%s = %v; the queue holds %v jobs", depth, got[depth], jobs)
	}

	wantError(t, e.call(http.MethodPost, dpath(id, "/slots/1/sign"), secret, `{}`), http.StatusForbidden, "tokens_cannot_sign")
	got = scrape(t, web)
	if got[refused] != 1 {
		t.Fatalf("%s = %v after a token tried to sign; want 1", refused, got[refused])
	}
	route := `signoff_http_request_duration_seconds_count{method="PUT",route="/api/v1/deployments/{id}/items/{path}",status="2xx"}`
	if got[route] != 4 {
		t.Errorf("%s = %v; want 4", route, got[route])
	}

	// A worker runs the delivery: the depth falls back to 0.
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		n.Stop(sctx)
	})
	deadline := time.Now().Add(30 * time.Second)
	for scrape(t, web)[depth] != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v 30 s after the worker started; want 0", depth, scrape(t, web)[depth])
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The job left the queue when a worker took it; the call follows.
	for hooked.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := hooked.Load(); got != 1 {
		t.Fatalf("the webhook was called %d times; want 1 (deployment.created)", got)
	}
}
