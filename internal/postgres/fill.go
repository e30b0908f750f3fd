package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// FillOptions shape a scale fill (signoff fill): how many deployments,
// from which template, spread over which stretch of time.
type FillOptions struct {
	N        int           // deployments to add
	Template string        // slug or title of the template to run (default: the seed)
	Seed     uint64        // the same seed makes the same mix and names
	End      time.Time     // the newest is created shortly before (default: now)
	Span     time.Duration // creation times spread over this (default: three years)
	Chunk    int           // deployments per transaction (default 250)
	// Integrate appends each chunk's events to the transparency log (and
	// signs a checkpoint) before the next, as a running server would: an
	// export needs its events in the log.
	Integrate bool
	Progress  func(done, events int)
}

// FillReport counts what a fill added.
type FillReport struct {
	Deployments int
	Events      int
	ByStatus    map[signoff.Status]int
}

// filler holds what every simulated deployment shares: the template, its
// flattened items, and the people who create, tick and sign.
type filler struct {
	t           *signoff.Template
	flat        []checklist.FlatItem
	conditional map[string]bool
	slots       []signoff.SlotDef
	final       []bool
	creator     signoff.EventActor
	tickers     []signoff.EventActor
	signers     []signoff.EventActor // by slot
	rand        *mrand.Rand
	services    []string
}

// Fill adds N deployments of a template, in every state a real database
// holds (mostly completed and signed, some aborted, abandoned drafts, and
// the newest in progress or live), for measuring the app at scale. Each
// deployment's events are built by the function every write of the app
// uses (buildEvent) in the order people would have made the changes, and
// its rows are what those changes leave, so every one exports and
// verifies like a deployment made by hand; they are copied in with COPY,
// a chunk per transaction, instead of the few hundred transactions each
// would take through the store. The role holders are people already in
// the database, or people Fill adds (with passwords nobody knows).
func (db *DB) Fill(ctx context.Context, o FillOptions) (FillReport, error) {
	rep := FillReport{ByStatus: map[signoff.Status]int{}}
	if o.N <= 0 {
		return rep, signoff.Errorf(signoff.EINVALID, "Say how many deployments to add (at least 1).")
	}
	if o.Template == "" {
		seed, err := checklist.Parse(checklist.Seed)
		if err != nil {
			return rep, fmt.Errorf("fill: the seed template: %w", err)
		}
		o.Template = Slugify(seed.Title)
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	if o.Span <= 0 {
		o.Span = 3 * 365 * 24 * time.Hour
	}
	if o.Chunk <= 0 {
		o.Chunk = 250
	}
	f, err := db.newFiller(ctx, o)
	if err != nil {
		return rep, err
	}
	step := o.Span / time.Duration(o.N)
	first := o.End.Add(-o.Span)
	for done := 0; done < o.N; done += o.Chunk {
		k := min(o.Chunk, o.N-done)
		sims, err := db.fillChunk(ctx, f, o, done, k, first, step)
		if err != nil {
			return rep, err
		}
		for _, s := range sims {
			rep.Deployments++
			rep.Events += len(s.events)
			rep.ByStatus[s.status]++
		}
		if o.Integrate {
			if _, err := db.IntegrateLog(ctx); err != nil {
				return rep, fmt.Errorf("fill: %w", err)
			}
			// Ended deployments' chains are sealed as the server seals
			// them once they are in the log.
			for {
				n, err := db.SealDeployments(ctx)
				if err != nil {
					return rep, fmt.Errorf("fill: %w", err)
				}
				if n == 0 {
					break
				}
			}
		}
		if o.Progress != nil {
			o.Progress(rep.Deployments, rep.Events)
		}
	}
	// Plans follow the statistics: give the planner the tables as they now
	// are, as autovacuum would in a while. (A role that does not own them
	// is only warned, and the fill stands.)
	if _, err := db.pool.Exec(ctx, `ANALYZE deployments, deployment_items, deployment_progress, deployment_notes,
		deployment_slots, signoffs, audit_events, audit_log_entries, notification_cursors`); err != nil {
		return rep, fmt.Errorf("fill: analyze: %w", err)
	}
	return rep, nil
}

func (db *DB) newFiller(ctx context.Context, o FillOptions) (*filler, error) {
	t, err := db.LatestTemplate(ctx, o.Template)
	if err != nil {
		return nil, err
	}
	f := &filler{t: t, flat: checklist.Flatten(t), conditional: map[string]bool{}, slots: t.Slots(),
		final: signoff.FinalSlots(t), rand: mrand.New(mrand.NewPCG(o.Seed, o.Seed^0x5eed))}
	for _, it := range f.flat {
		f.conditional[it.Path] = it.Conditional
	}
	if len(f.slots) == 0 {
		return nil, signoff.Errorf(signoff.EINVALID, "Template %s has no sign-off slots to sign.", t.Slug)
	}
	holders, err := db.fillPeople(ctx, f.slots)
	if err != nil {
		return nil, err
	}
	f.signers = holders
	f.creator = holders[0]
	f.tickers = holders[:min(4, len(holders))]
	products := []string{"voxflow", "ledger", "billing", "checkout", "search", "identity", "catalog", "payments",
		"notifications", "inventory", "shipping", "reporting", "gateway", "profile", "pricing", "orders",
		"analytics", "media", "chat", "scheduler", "fraud", "loyalty", "support", "warehouse", "booking"}
	parts := []string{"api", "web", "worker", "db", "cron", "edge", "admin", "sync"}
	for _, p := range products {
		for _, q := range parts {
			f.services = append(f.services, p+"-"+q)
		}
	}
	return f, nil
}

// CountDeployments counts every deployment (a full count: for the scale
// benchmark's header, not for pages).
func (db *DB) CountDeployments(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM deployments`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count deployments: %w", err)
	}
	return n, nil
}

// fillPeople finds, for each slot, an active person holding its role who
// holds no other slot (one person signs one slot), adding one where none
// is free.
func (db *DB) fillPeople(ctx context.Context, slots []signoff.SlotDef) ([]signoff.EventActor, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT lower(r.name), u.id, u.name
		FROM roles r
		JOIN user_roles ur ON ur.role_id = r.id
		JOIN users u ON u.id = ur.user_id
		WHERE u.active AND NOT u.is_auditor
		ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("fill: people: %w", err)
	}
	type holder struct {
		role string
		ref  signoff.EventActor
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (holder, error) {
		var h holder
		return h, r.Scan(&h.role, &h.ref.ID, &h.ref.Name)
	})
	if err != nil {
		return nil, fmt.Errorf("fill: people: %w", err)
	}
	used := map[int64]bool{}
	out := make([]signoff.EventActor, len(slots))
	for k, s := range slots {
		for _, h := range found {
			if h.role == strings.ToLower(s.Role) && !used[h.ref.ID] {
				out[k], used[h.ref.ID] = h.ref, true
				break
			}
		}
		if out[k].ID != 0 {
			out[k].Via = "web"
			continue
		}
		secret := make([]byte, 18)
		rand.Read(secret) // never fails (crypto/rand)
		name := fmt.Sprintf("%s (scale %d)", s.Role, k+1)
		u, err := db.CreateUser(ctx, signoff.NewUser{Email: fmt.Sprintf("scale-%d-%s@example.com", k+1, hex.EncodeToString(secret[:4])),
			Name: name, Password: hex.EncodeToString(secret), Roles: []string{s.Role}},
			signoff.EventActor{Name: "fill", Via: "cli"})
		if err != nil {
			return nil, fmt.Errorf("fill: a holder of %s: %w", s.Role, err)
		}
		out[k], used[u.ID] = signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}, true
	}
	return out, nil
}

// fillLive is how many of the newest deployments are still being worked on
// in a fill of n: the rest are finished (or abandoned).
func fillLive(n int) int { return max(3, min(n/100, 200)) }

// simulate plays the k-th deployment (0 is the oldest) of a fill of n.
func (f *filler) simulate(id int64, k, n int, created time.Time) (*fillSim, error) {
	s := newFillSim(f, id, created)
	service := f.services[f.rand.IntN(len(f.services))]
	env := "production"
	switch r := f.rand.IntN(100); {
	case r < 30:
		env = "staging"
	case r < 38:
		env = "qa"
	case r < 44:
		env = "eu-production"
	case r < 48:
		env = "us-production"
	}
	version := fmt.Sprintf("v%d.%d.%d", 1+k/5000, (k/100)%50, k%100)
	if err := s.create(service, env, version); err != nil {
		return nil, err
	}
	roll := f.rand.IntN(100)
	if k >= n-fillLive(n) {
		// The newest: a draft, one under way, or live with its monitoring open.
		switch (n - 1 - k) % 3 {
		case 0:
			return s, nil
		case 1:
			stop := f.rand.IntN(120)
			return s, s.resolve(func(i int, it checklist.FlatItem) bool { return i > stop || it.DueAfter > 0 })
		}
		if err := s.resolve(untilTimed); err != nil {
			return nil, err
		}
		return s, s.setStatus(signoff.StatusLive, "")
	}
	switch {
	case roll < 3: // an abandoned draft
		return s, nil
	case roll < 10:
		stop := f.rand.IntN(60)
		if err := s.resolve(func(i int, _ checklist.FlatItem) bool { return i > stop }); err != nil {
			return nil, err
		}
		return s, s.setStatus(signoff.StatusAborted, "Rolled back: the smoke tests failed.")
	}
	if err := s.resolve(untilTimed); err != nil {
		return nil, err
	}
	if err := s.setStatus(signoff.StatusLive, ""); err != nil {
		return nil, err
	}
	if err := s.resolve(func(int, checklist.FlatItem) bool { return false }); err != nil {
		return nil, err
	}
	if err := s.note(1, created.Format("2006-01-02")); err != nil {
		return nil, err
	}
	if err := s.note(3, "Migration builds an index concurrently (~6 min on prod)."); err != nil {
		return nil, err
	}
	return s, s.signAll()
}

// fillChunk simulates k deployments and copies them in, in one
// transaction.
func (db *DB) fillChunk(ctx context.Context, f *filler, o FillOptions, done, k int, first time.Time, step time.Duration) ([]*fillSim, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("fill: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('deployments', 'id')) FROM generate_series(1, $1)`, k)
	if err != nil {
		return nil, fmt.Errorf("fill: ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("fill: ids: %w", err)
	}
	sims := make([]*fillSim, k)
	for j := range k {
		at := first.Add(time.Duration(done+j) * step).Add(time.Duration(f.rand.Int64N(int64(step/2 + 1))))
		if sims[j], err = f.simulate(ids[j], done+j, o.N, at); err != nil {
			return nil, fmt.Errorf("fill: deployment %d: %w", ids[j], err)
		}
	}
	if err := copyFilled(ctx, tx, f, sims); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("fill: commit: %w", err)
	}
	return sims, nil
}

// copyFilled writes the simulated deployments' rows, a COPY per table.
func copyFilled(ctx context.Context, tx pgx.Tx, f *filler, sims []*fillSim) error {
	var deps, items, notes, slots, sigs, events, cursors [][]any
	for _, s := range sims {
		last := s.events[len(s.events)-1]
		var locked *time.Time
		var completed, aborted *time.Time
		switch s.status {
		case signoff.StatusCompleted:
			completed, locked = s.ended, s.ended
		case signoff.StatusAborted:
			aborted = s.ended
		}
		deps = append(deps, []any{s.id, f.t.ID, s.service, s.env, s.version, string(s.status),
			s.lived, completed, aborted, locked, f.creator.ID, s.created, last.At, s.rev, last.Seq, last.Hash, last.At})
		for i, it := range f.flat {
			st := s.items[i]
			var by *int64
			if st.StateBy != nil {
				by = &st.StateBy.ID
			}
			var due *time.Duration
			if it.DueAfter > 0 {
				d := it.DueAfter
				due = &d
			}
			items = append(items, []any{s.id, it.Path, it.ParentPath, int32(i + 1), int32(it.Phase), int32(it.Section),
				int32(it.Level), it.Text, it.Conditional, it.HasChildren, due, string(st.State), st.NAReason, by, st.StateAt})
		}
		for _, n := range s.notes {
			var by *int64
			if n.UpdatedBy != nil {
				by = &n.UpdatedBy.ID
			}
			notes = append(notes, []any{s.id, int32(n.Position), n.Name, n.Long, n.Value, by, n.UpdatedAt})
		}
		for k, sl := range f.slots {
			slots = append(slots, []any{s.id, int32(sl.Position), sl.Group, sl.Role, f.final[k]})
		}
		for _, g := range s.signed {
			sigs = append(sigs, []any{s.id, int32(g.slot.Position), g.slot.Role, g.signer.ID, g.signer.Name,
				signoff.Meaning(g.slot.Role), g.at, g.hash, g.rev, g.seq})
		}
		for _, e := range s.events {
			events = append(events, []any{s.id, e.Seq, e.At, nullID(e.Actor.ID), e.Actor.Name, e.Action, e.Target,
				e.Payload, e.PrevHash, e.Hash})
		}
		cursors = append(cursors, []any{s.id, last.Seq, string(s.status)})
	}
	copies := []struct {
		table   string
		columns []string
		rows    [][]any
	}{
		{"deployments", []string{"id", "template_version_id", "service", "environment", "version", "status",
			"went_live_at", "completed_at", "aborted_at", "locked_at", "created_by", "created_at", "updated_at",
			"checklist_rev", "audit_seq", "audit_head", "audit_at"}, deps},
		{"deployment_items", []string{"deployment_id", "path", "parent_path", "position", "phase", "section",
			"level", "text", "conditional", "has_children", "due_after", "state", "na_reason", "state_by", "state_at"}, items},
		{"deployment_notes", []string{"deployment_id", "position", "name", "long", "value", "updated_by", "updated_at"}, notes},
		{"deployment_slots", []string{"deployment_id", "position", "group_name", "role_name", "final"}, slots},
		{"signoffs", []string{"deployment_id", "slot", "role_name", "signer_id", "signer_name", "meaning",
			"signed_at", "checklist_hash", "checklist_rev", "audit_seq"}, sigs},
		{"audit_events", []string{"deployment_id", "seq", "at", "actor_id", "actor_name", "action", "target",
			"payload", "prev_hash", "hash"}, events},
		// The notifications of the past are not sent again.
		{"notification_cursors", []string{"deployment_id", "seq", "status"}, cursors},
	}
	for _, c := range copies {
		if len(c.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.columns, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("fill: copy %s: %w", c.table, err)
		}
	}
	return nil
}
