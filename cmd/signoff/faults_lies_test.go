package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/loadgen"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// TestFaultAnswersNeverLie is issue 16's proof: PostgreSQL is restarted,
// its backends are terminated and one is killed (a crash the server
// recovers from) while people tick and change statuses on two app
// instances and pipelines create deployments through the API. Every
// answer is then held against the database: no change answered 2xx is
// missing, no request answered "nothing was changed" has its change in
// the database, and a create retried with its Idempotency-Key made one
// deployment, the one every answer names.
func TestFaultAnswersNeverLie(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "signoff-lies-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the cluster may run as an unprivileged user
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	// fsync off keeps the test quick; synchronous_commit stays on: a
	// crashed backend must not take acknowledged commits with it.
	pgCfg := embeddedpg.Config{Port: restartPort(t), DataDir: filepath.Join(dir, "pg"), Settings: map[string]string{"fsync": "off"}}
	cluster, err := embeddedpg.Start(ctx, pgCfg, nil)
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	defer func() { cluster.Stop() }()
	if err := postgres.Migrate(ctx, cluster.URL()); err != nil {
		t.Fatal(err)
	}
	db, emails, depID, leaves := faultFixture(t, cluster.URL(), 6)
	a, b := startApp(t, cluster.URL()), startApp(t, cluster.URL())
	people, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, 6)
	for i := range tokens {
		if _, tokens[i], err = db.CreateToken(ctx, signoff.NewToken{Name: fmt.Sprintf("pipeline %d", i), UserID: people[i].ID},
			signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
			t.Fatal(err)
		}
	}

	log := &answerLog{}
	loadCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, email := range emails {
		var mine []string
		for k, p := range leaves {
			if k%len(emails) == i {
				mine = append(mine, p)
			}
		}
		base := []string{a.URL, b.URL}[i%2]
		wg.Go(func() { log.ticker(loadCtx, base, email, depID, mine) })
	}
	for i := range 3 {
		wg.Go(func() { log.mover(loadCtx, []string{a.URL, b.URL}[i%2], emails[i], tokens[i], i) })
	}
	for i := 3; i < 6; i++ {
		wg.Go(func() { log.pipeline(loadCtx, b.URL, tokens[i], i) })
	}

	faults := &faultInjector{t: t, url: cluster.URL()}
	defer faults.close()
	time.Sleep(800 * time.Millisecond)
	// Connections cut again and again, at whatever moment each request is.
	for range 20 {
		faults.terminateBackends()
		time.Sleep(50 * time.Millisecond)
	}
	faults.killBackend()
	time.Sleep(2 * time.Second)
	faults.close()
	if err := cluster.Stop(); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if cluster, err = embeddedpg.Start(ctx, pgCfg, nil); err != nil {
		t.Fatalf("restart postgres: %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	for range 10 {
		faults.terminateBackends()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()

	check, err := postgres.Open(ctx, cluster.URL(), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	log.verify(t, check, depID)
	t.Logf("faults: %s; answers: %s", faults, log.summary())
	if faults.killed == 0 {
		t.Error("no backend was killed: the test did not test a crash")
	}
}

// answer is one request and what it was told.
type answer struct {
	what    string // "tick", "move", "create"
	key     string // tick: item path; move: deployment id; create: version
	to      string // tick: the state asked; move: the status asked
	t0, t1  time.Time
	class   string // "ok", "nothing" (nothing was changed), "unknown", "conflict", "other"
	id      int64  // create: the deployment answered
	status  int
	message string
}

type answerLog struct {
	mu      sync.Mutex
	answers []answer
}

func (l *answerLog) add(a answer) {
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
}

// classify reads what an answer claims: made, nothing changed, unknown.
func classify(status int, body string, err error) string {
	switch {
	case err != nil:
		return "unknown" // no answer: it may have been made
	case status < 400:
		return "ok"
	case status == http.StatusConflict:
		return "conflict"
	case strings.Contains(body, "may or may not"):
		return "unknown"
	case strings.Contains(body, "Nothing was changed") || strings.Contains(body, "nothing was changed"):
		return "nothing"
	}
	return "other"
}

func send(ctx context.Context, c *http.Client, req *http.Request) (int, string, error) {
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

// ticker is a person ticking and unticking their own items with HTMX.
func (l *answerLog) ticker(ctx context.Context, base, email string, depID int64, mine []string) {
	c := browserClient()
	state := map[string]string{}
	loggedIn := false
	for n := 0; ctx.Err() == nil; n++ {
		if !loggedIn {
			code, _, err := formPost(ctx, c, base, "/login", url.Values{"email": {email}, "password": {testPassword}})
			if loggedIn = err == nil && code == http.StatusSeeOther; !loggedIn {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		path := mine[n%len(mine)]
		next := map[string]string{"": "done", "open": "done", "done": "open"}[state[path]]
		t0 := time.Now()
		code, body, err := formPost(ctx, c, base, fmt.Sprintf("/deployments/%d/items/%s/state", depID, path), url.Values{"state": {next}})
		if ctx.Err() != nil {
			err = ctx.Err() // cut off by the test's end: unknown
		}
		a := answer{what: "tick", key: path, to: next, t0: t0, t1: time.Now(), status: code, message: body, class: classify(code, body, err)}
		l.add(a)
		switch {
		case a.class == "ok":
			state[path] = next
		case code == http.StatusUnauthorized || code == http.StatusSeeOther:
			loggedIn = false
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// mover creates deployments (API, no key) and moves each through its
// statuses with the web form, one request at a time, retrying a move until
// it is answered.
func (l *answerLog) mover(ctx context.Context, base, email, token string, i int) {
	c := browserClient()
	if code, _, err := formPost(ctx, c, base, "/login", url.Values{"email": {email}, "password": {testPassword}}); err != nil || code != http.StatusSeeOther {
		return
	}
	for n := 0; ctx.Err() == nil; n++ {
		version := fmt.Sprintf("mover-%d-%d", i, n)
		id := l.create(ctx, base, token, version, "")
		if id == 0 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for _, to := range []string{"in_progress", "live", "aborted"} {
			for ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/deployments/%d/status", base, id),
					strings.NewReader(url.Values{"status": {to}, "reason": {"test"}, "confirm": {"yes"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", base)
				code, body, err := send(ctx, c, req)
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				a := answer{what: "move", key: fmt.Sprint(id), to: to, t0: t0, t1: time.Now(), status: code, message: body, class: classify(code, body, err)}
				l.add(a)
				if a.class == "ok" || a.class == "conflict" {
					break
				}
				time.Sleep(30 * time.Millisecond)
			}
		}
	}
}

// pipeline creates deployments through the API with an Idempotency-Key,
// retrying each until it is answered 2xx (the end of the test cuts the
// last one short).
func (l *answerLog) pipeline(ctx context.Context, base, token string, i int) {
	for n := 0; ctx.Err() == nil; n++ {
		version := fmt.Sprintf("pipeline-%d-%d", i, n)
		for ctx.Err() == nil && l.create(ctx, base, token, version, "key-"+version) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// create sends one API create and returns the deployment answered, or 0.
func (l *answerLog) create(ctx context.Context, base, token, version, key string) int64 {
	body := fmt.Sprintf(`{"template":%q,"service":"faults","environment":"test","version":%q}`, seedSlug, version)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/deployments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	t0 := time.Now()
	code, text, err := send(ctx, &http.Client{Timeout: 10 * time.Second}, req)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	a := answer{what: "create", key: version, to: key, t0: t0, t1: time.Now(), status: code, message: text, class: classify(code, text, err)}
	if a.class == "ok" {
		var d struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal([]byte(text), &d) != nil || d.ID == 0 {
			a.class = "other"
		}
		a.id = d.ID
	}
	l.add(a)
	return a.id
}

func (l *answerLog) summary() string {
	counts := map[string]int{}
	for _, a := range l.answers {
		counts[a.what+" "+a.class]++
	}
	return fmt.Sprint(counts)
}

// verify holds every answer against the database.
func (l *answerLog) verify(t *testing.T, db *postgres.DB, tickDep int64) {
	t.Helper()
	ctx := context.Background()
	for _, a := range l.answers {
		if a.class == "other" {
			t.Errorf("%s %s → %s answered %d: %.200s", a.what, a.key, a.to, a.status, a.message)
		}
	}
	// Ticks: every event is a change some request asked for; the request
	// that asked for it last before it happened must not have been told
	// "nothing was changed", unless another one for it is unanswered.
	events, err := db.Events(ctx, tickDep, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checked := l.checkEvents(t, "tick", events, func(d *signoff.DecodedEvent) (string, string, bool) {
		e, ok := d.Body.(*signoff.ItemStateEvent)
		if !ok {
			return "", "", false
		}
		return d.Target.Path, string(e.After.State), true
	})
	problems, err := loadgen.Consistent(ctx, db, tickDep)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("ticked deployment: %s", p)
	}
	items, err := db.Items(ctx, tickDep, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if last := l.last("tick", it.Path); last != nil && last.class == "ok" && string(it.State) != last.to {
			t.Errorf("item %s is %s; the last answer (2xx) said %s", it.Path, it.State, last.to)
		}
	}
	// Creates: a version answered 2xx exists once; one answered "nothing
	// was changed" and never retried does not; every answer for a key
	// names the one deployment it made.
	made := map[string][]int64{}
	rows, err := db.Pool().Query(ctx, `SELECT version, id FROM deployments WHERE service = 'faults'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		var id int64
		rows.Scan(&v, &id)
		made[v] = append(made[v], id)
	}
	creates, moves := 0, 0
	for _, a := range l.answers {
		if a.what != "create" {
			continue
		}
		creates++
		ids := made[a.key]
		switch {
		case len(ids) > 1:
			t.Errorf("version %s was created %d times", a.key, len(ids))
		case a.class == "ok" && (len(ids) != 1 || ids[0] != a.id):
			t.Errorf("create %s answered deployment %d; the database has %v", a.key, a.id, ids)
		case a.class == "nothing" && a.to == "" && len(ids) != 0:
			t.Errorf("create %s was answered %d %q, but it was made: %v", a.key, a.status, a.message, ids)
		}
	}
	// Moves: the same as ticks, deployment by deployment.
	for v, ids := range made {
		if !strings.HasPrefix(v, "mover-") {
			continue
		}
		for _, id := range ids {
			events, err := db.Events(ctx, id, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			moves += l.checkEvents(t, "move", events, func(d *signoff.DecodedEvent) (string, string, bool) {
				e, ok := d.Body.(*signoff.DeploymentStatusEvent)
				if !ok {
					return "", "", false
				}
				return fmt.Sprint(id), string(e.After.Status), true
			})
			if problems, err := loadgen.Consistent(ctx, db, id); err != nil || len(problems) > 0 {
				t.Errorf("deployment %d: %v %v", id, problems, err)
			}
		}
	}
	for _, a := range l.answers {
		if a.what == "move" && a.class == "ok" && !l.eventFor(db, a) {
			t.Errorf("move of %s to %s was answered 2xx and is not in the audit log", a.key, a.to)
		}
	}
	if checked == 0 || creates == 0 || moves == 0 {
		t.Fatalf("checked %d tick events, %d creates, %d moves: the test tested too little", checked, creates, moves)
	}
	t.Logf("held %d tick events, %d creates and %d moves against the answers", checked, creates, moves)
}

// checkEvents holds each event of kind what against the requests for it,
// returning how many it held.
func (l *answerLog) checkEvents(t *testing.T, what string, events []signoff.Event, read func(*signoff.DecodedEvent) (key, to string, ok bool)) int {
	t.Helper()
	n := 0
	for _, ev := range events {
		d, err := signoff.DecodeEvent([]byte(ev.Payload))
		if err != nil {
			t.Fatal(err)
		}
		key, to, ok := read(d)
		if !ok {
			continue
		}
		n++
		var latest *answer
		unanswered := false
		for i := range l.answers {
			a := &l.answers[i]
			if a.what != what || a.key != key || a.to != to || a.t0.After(ev.At) {
				continue
			}
			if latest == nil || a.t0.After(latest.t0) {
				latest = a
			}
			if a.class == "unknown" && ev.At.Sub(a.t0) < 15*time.Second {
				unanswered = true
			}
		}
		switch {
		case latest == nil:
			t.Errorf("%s event %d (%s → %s at %s) answers no request", what, ev.Seq, key, to, ev.At.Format(time.StampMicro))
		case latest.class == "nothing" && !unanswered:
			t.Errorf("%s %s → %s was answered %d %.120q, but it was made (event %d)", what, key, to, latest.status, latest.message, ev.Seq)
		}
	}
	return n
}

// last is the last request of kind what for key.
func (l *answerLog) last(what, key string) *answer {
	var out *answer
	for i := range l.answers {
		if a := &l.answers[i]; a.what == what && a.key == key && (out == nil || a.t0.After(out.t0)) {
			out = a
		}
	}
	return out
}

func (l *answerLog) eventFor(db *postgres.DB, a answer) bool {
	var n int
	db.Pool().QueryRow(context.Background(), `
		SELECT count(*) FROM audit_events_all WHERE deployment_id = $1::bigint
		  AND payload::jsonb ->> 'action' = 'deployment.status'
		  AND payload::jsonb -> 'after' ->> 'status' = $2`, a.key, a.to).Scan(&n)
	return n == 1
}

// faultInjector breaks the database's connections from the side, on a
// connection of its own (made again when a fault took it).
type faultInjector struct {
	t                  *testing.T
	url                string
	conn               *pgx.Conn
	terminated, killed int
}

func (f *faultInjector) String() string {
	return fmt.Sprintf("%d backends terminated, %d killed, one restart", f.terminated, f.killed)
}

func (f *faultInjector) exec(q string, scan func(pgx.Rows)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		if f.conn == nil || f.conn.IsClosed() {
			conn, err := pgx.Connect(ctx, f.url)
			if err != nil {
				f.t.Errorf("fault injector: %v", err)
				return
			}
			f.conn = conn
		}
		rows, err := f.conn.Query(ctx, q)
		if err == nil {
			for rows.Next() {
				scan(rows)
			}
			rows.Close()
			err = rows.Err()
		}
		if err == nil {
			return
		}
		f.conn.Close(ctx)
		if attempt == 3 {
			f.t.Errorf("fault injector: %v", err)
			return
		}
		time.Sleep(200 * time.Millisecond) // crash recovery, or a restart
	}
}

func (f *faultInjector) close() {
	if f.conn != nil {
		f.conn.Close(context.Background())
	}
}

// terminateBackends ends every client connection to the app's database.
func (f *faultInjector) terminateBackends() {
	f.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
		func(pgx.Rows) { f.terminated++ })
}

// killBackend kills a busy backend outright: PostgreSQL ends every
// connection and recovers from its log before it answers again.
func (f *faultInjector) killBackend() {
	var pids []int
	for range 50 { // until the apps have connected again
		f.exec(`SELECT pid FROM pg_stat_activity WHERE application_name = 'signoff' AND backend_type = 'client backend'
			ORDER BY state = 'active' DESC LIMIT 1`, func(r pgx.Rows) {
			var pid int
			r.Scan(&pid)
			pids = append(pids, pid)
		})
		if len(pids) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			f.t.Errorf("kill backend %d: %v", pid, err)
		}
		f.killed++
	}
}
