package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Password is the load users' password. Their hashes use cheap argon2
// parameters (the hash records its own), so logging in does not dominate.
const Password = "load-generator-password"

// loadPasswordCost is the load users' argon2id cost: their passwords guard
// nothing.
var loadPasswordCost = password.Params{Memory: 64, Time: 1, Threads: 1}

// Result is a whole run: per-phase figures and the invariant check.
type Result struct {
	Stats      []*Stats
	Violations []string // what the database holds that was not sent, or vice versa
	Checked    Checked
}

// Checked says what the invariant check covered.
type Checked struct {
	Deployments, Items, Events int
	Uncertain                  int // items whose last request failed, so either state is right
}

// Phase returns a phase's stats, or nil.
func (r *Result) Phase(name string) *Stats {
	for _, s := range r.Stats {
		if s.Phase == name {
			return s
		}
	}
	return nil
}

// target is one deployment the generator ticks, and what it sent.
type target struct {
	id     int64
	leaves []string

	mu        sync.Mutex
	expected  map[string]signoff.ItemState
	uncertain map[string]bool
	changes   int // successful state changes sent
}

// Run sets up users and deployments through the store at dbURL, runs the
// phases against cfg.BaseURL, and verifies the database afterwards.
func Run(ctx context.Context, dbURL string, cfg Config) (*Result, error) {
	if cfg.Clients <= 0 || cfg.Deployments <= 0 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("clients, deployments and duration must be positive")
	}
	if len(cfg.Phases) == 0 {
		cfg.Phases = DefaultPhases
	}
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 4, PasswordCost: loadPasswordCost})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	w, err := setUp(ctx, db, cfg)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{MaxIdleConns: cfg.Clients * 2, MaxIdleConnsPerHost: cfg.Clients * 2, IdleConnTimeout: time.Minute,
		DisableCompression: true} // session.send asks for gzip and inflates
	defer transport.CloseIdleConnections()
	if w.sessions, err = logIn(ctx, cfg.BaseURL, w.users, transport); err != nil {
		return nil, err
	}
	res := &Result{}
	for _, phase := range cfg.Phases {
		op, err := w.operation(phase)
		if err != nil {
			return nil, err
		}
		st := run(ctx, phase, cfg.Clients, cfg.Duration, op)
		cfg.logf("%-12s %7d requests  %8.1f/s  p50 %-8s p95 %-8s p99 %-8s errors %d", st.Phase, st.Requests, st.RPS(),
			round(st.Percentile(50)), round(st.Percentile(95)), round(st.Percentile(99)), st.Errors)
		res.Stats = append(res.Stats, st)
	}
	if err := verify(ctx, db, append(w.spread, w.hot), res); err != nil {
		return nil, err
	}
	return res, nil
}

// logf writes a progress line, if anyone reads them.
func (cfg Config) logf(format string, args ...any) {
	if cfg.Log != nil {
		// A progress line that cannot be written is no reason to stop.
		_, _ = fmt.Fprintf(cfg.Log, format+"\n", args...)
	}
}

// world is what the phases act on: the load users, their logged-in
// sessions and the deployments they tick.
type world struct {
	cfg      Config
	users    []*signoff.User
	sessions []*session
	spread   []*target // the spread phase's deployments, a few people each
	hot      *target   // the hot phase's one deployment, everyone on it
}

// setUp creates the run's users and deployments through the store, named
// after the run so that runs never share them.
func setUp(ctx context.Context, db *postgres.DB, cfg Config) (*world, error) {
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		return nil, err
	}
	tmpl, err := db.LatestTemplate(ctx, postgres.Slugify(mustSeedTitle()))
	if err != nil {
		return nil, err
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.logf("setup: %d users, %d + 1 deployments (run %s)", cfg.Clients, cfg.Deployments, runID)
	w := &world{cfg: cfg}
	for i := range cfg.Clients {
		u, err := db.CreateUser(ctx, signoff.NewUser{
			Email: fmt.Sprintf("load-%s-%d@example.invalid", runID, i), Name: fmt.Sprintf("Load %d", i), Password: Password,
		}, signoff.EventActor{Name: "load generator", Via: "cli"})
		if err != nil {
			return nil, fmt.Errorf("create load user: %w", err)
		}
		w.users = append(w.users, u)
	}
	by := signoff.EventActor{ID: w.users[0].ID, Name: w.users[0].Name, Via: "cli"}
	for i := range cfg.Deployments + 1 {
		t, err := newTarget(ctx, db, signoff.NewDeployment{TemplateSlug: tmpl.Slug,
			Service: "load-" + runID, Environment: "load", Version: "v" + strconv.Itoa(i)}, by)
		if err != nil {
			return nil, err
		}
		if i < cfg.Deployments {
			w.spread = append(w.spread, t)
		} else {
			w.hot = t
		}
	}
	return w, nil
}

// newTarget creates a deployment and notes its leaves, the items ticked.
func newTarget(ctx context.Context, db *postgres.DB, n signoff.NewDeployment, by signoff.EventActor) (*target, error) {
	d, err := db.CreateDeployment(ctx, n, by)
	if err != nil {
		return nil, err
	}
	items, err := db.Items(ctx, d.ID, "")
	if err != nil {
		return nil, err
	}
	t := &target{id: d.ID, expected: map[string]signoff.ItemState{}, uncertain: map[string]bool{}}
	for _, it := range items {
		if !it.HasChildren {
			t.leaves = append(t.leaves, it.Path)
		}
	}
	return t, nil
}

// logIn signs every user in, each with a cookie jar of their own.
func logIn(ctx context.Context, base string, users []*signoff.User, transport http.RoundTripper) ([]*session, error) {
	sessions := make([]*session, len(users))
	for i, u := range users {
		sessions[i] = newSession(base, u.Email, transport)
		if err := sessions[i].login(ctx, Password); err != nil {
			return nil, err
		}
	}
	return sessions, nil
}

// operation is what each client does, again and again, in a phase.
func (w *world) operation(phase string) (func(ctx context.Context, c, n int) error, error) {
	clients, deployments := w.cfg.Clients, w.cfg.Deployments
	switch phase {
	case PhaseReadFloor:
		return func(ctx context.Context, c, n int) error {
			code, err := w.sessions[c].get(ctx, "/_load/read-floor")
			return expect(code, err, http.StatusOK)
		}, nil
	case PhaseWriteFloor:
		return func(ctx context.Context, c, n int) error {
			code, err := w.sessions[c].post(ctx, "/_load/write-floor", nil, true)
			return expect(code, err, http.StatusOK)
		}, nil
	case PhaseTickSpread:
		return ticker(w.sessions, func(c int) (*target, int, int) {
			per := (clients + deployments - 1) / deployments
			return w.spread[c%deployments], c / deployments, per
		}), nil
	case PhaseTickHot:
		return ticker(w.sessions, func(c int) (*target, int, int) {
			return w.hot, c, clients
		}), nil
	case PhasePage:
		return func(ctx context.Context, c, n int) error {
			code, err := w.sessions[c].get(ctx, "/deployments/"+strconv.FormatInt(w.spread[c%len(w.spread)].id, 10))
			return expect(code, err, http.StatusOK)
		}, nil
	}
	return nil, fmt.Errorf("unknown phase %q", phase)
}

// ticker returns an operation in which client c flips, round robin, the
// leaves it owns on its deployment (leaf k belongs to the client with
// index k mod peers), so the expected final state of every item is known.
func ticker(sessions []*session, place func(c int) (t *target, index, peers int)) func(ctx context.Context, c, n int) error {
	type own struct {
		t      *target
		leaves []string
		state  map[string]signoff.ItemState
	}
	owns := make([]*own, len(sessions))
	for c := range sessions {
		t, idx, peers := place(c)
		o := &own{t: t, state: map[string]signoff.ItemState{}}
		for k, p := range t.leaves {
			if k%peers == idx%peers {
				o.leaves = append(o.leaves, p)
			}
		}
		t.mu.Lock()
		for _, p := range o.leaves {
			if s, ok := t.expected[p]; ok {
				o.state[p] = s
			}
		}
		t.mu.Unlock()
		owns[c] = o
	}
	return func(ctx context.Context, c, n int) error {
		o := owns[c]
		if len(o.leaves) == 0 {
			return nil
		}
		path := o.leaves[n%len(o.leaves)]
		next := signoff.ItemDone
		if o.state[path] == signoff.ItemDone {
			next = signoff.ItemOpen
		}
		url := fmt.Sprintf("/deployments/%d/items/%s/state", o.t.id, path)
		code, err := sessions[c].post(ctx, url, formState(next), true)
		err = expect(code, err, http.StatusOK)
		o.t.mu.Lock()
		defer o.t.mu.Unlock()
		if err != nil {
			o.t.uncertain[path] = true
			return err
		}
		o.state[path] = next
		o.t.expected[path] = next
		delete(o.t.uncertain, path)
		o.t.changes++
		return nil
	}
}

func formState(s signoff.ItemState) url.Values {
	// The page's form: a hidden "open" then the checkbox's "done" when ticked.
	if s == signoff.ItemDone {
		return url.Values{"state": {"open", "done"}}
	}
	return url.Values{"state": {"open"}}
}

// verify compares the database with what was sent: every item's state, the
// number of events, and each deployment's hash chain.
func verify(ctx context.Context, db *postgres.DB, targets []*target, res *Result) error {
	for _, t := range targets {
		items, err := db.Items(ctx, t.id, "")
		if err != nil {
			return err
		}
		res.Checked.Deployments++
		for _, it := range items {
			want, sent := t.expected[it.Path]
			if !sent {
				want = signoff.ItemOpen
			}
			if t.uncertain[it.Path] {
				res.Checked.Uncertain++
				continue
			}
			res.Checked.Items++
			if it.State != want {
				res.Violations = append(res.Violations, fmt.Sprintf("deployment %d item %s: database has %s, last sent %s", t.id, it.Path, it.State, want))
			}
		}
		events, err := db.Events(ctx, t.id, 0, 0)
		if err != nil {
			return err
		}
		res.Checked.Events += len(events)
		if want := 1 + t.changes; len(t.uncertain) == 0 && len(events) != want {
			res.Violations = append(res.Violations, fmt.Sprintf("deployment %d: %d events, want %d (1 + %d changes sent)", t.id, len(events), want, t.changes))
		}
		problems, err := Consistent(ctx, db, t.id)
		if err != nil {
			return err
		}
		for _, p := range problems {
			res.Violations = append(res.Violations, fmt.Sprintf("deployment %d: %s", t.id, p))
		}
	}
	return nil
}

func mustSeedTitle() string {
	t, err := checklist.Parse(checklist.Seed)
	if err != nil {
		return ""
	}
	return t.Title
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
