package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// CreateDeployment starts a deployment of a template's latest version: its
// items, notes and sign-off slots are copied from that version. The
// deployment it returns is read in the transaction that creates it, so a
// deployment returned is one that exists. Under an idempotency key that an
// earlier request created a deployment with, it creates nothing and
// returns that one.
func (db *DB) CreateDeployment(ctx context.Context, n signoff.NewDeployment, actor signoff.EventActor) (*signoff.Deployment, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	t, err := db.LatestTemplate(ctx, n.TemplateSlug)
	if err != nil {
		return nil, err
	}
	flat := checklist.Flatten(t)

	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("create deployment: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	var id int64
	err = tx.QueryRow(ctx, `
		INSERT INTO deployments (template_version_id, service, environment, version, planned_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id`, t.ID, n.Service, n.Environment, n.Version, n.PlannedAt, actor.ID).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}
	// The key is claimed once the deployment has an id to record with it;
	// a request that finds it taken rolls back the row it just made.
	key := idempotencyKeyOf(ctx)
	if key != nil {
		if fresh, err := key.claim(ctx, tx, id); err != nil || !fresh {
			if err != nil {
				return nil, err
			}
			tx.Rollback(ctx)
			return db.Deployment(ctx, key.deploymentID)
		}
	}

	var (
		paths, parents, texts           []string
		phases, sections, levels, order []int32
		conditional, hasChildren        []bool
		dueAfter                        []*time.Duration
	)
	for i, it := range flat {
		paths = append(paths, it.Path)
		parents = append(parents, it.ParentPath)
		texts = append(texts, it.Text)
		order = append(order, int32(i+1))
		phases = append(phases, int32(it.Phase))
		sections = append(sections, int32(it.Section))
		levels = append(levels, int32(it.Level))
		conditional = append(conditional, it.Conditional)
		hasChildren = append(hasChildren, it.HasChildren)
		if it.DueAfter > 0 {
			d := it.DueAfter
			dueAfter = append(dueAfter, &d)
		} else {
			dueAfter = append(dueAfter, nil)
		}
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO deployment_items
		    (deployment_id, path, parent_path, position, phase, section, level, text, conditional, has_children, due_after)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[],
		                         $8::text[], $9::bool[], $10::bool[], $11::interval[])`,
		id, paths, parents, order, phases, sections, levels, texts, conditional, hasChildren, dueAfter)
	if err != nil {
		return nil, fmt.Errorf("create deployment %d: copy items: %w", id, err)
	}

	var notePos []int32
	var noteNames []string
	var noteLong []bool
	for i, f := range t.NoteFields {
		notePos = append(notePos, int32(i+1))
		noteNames = append(noteNames, f.Name)
		noteLong = append(noteLong, f.Long)
	}
	var slotPos, slotAbove []int32
	var slotGroups, slotRoles []string
	var slotGoNoGo []bool
	for _, s := range t.Slots() {
		slotPos = append(slotPos, int32(s.Position))
		slotGroups = append(slotGroups, s.Group)
		slotRoles = append(slotRoles, s.Role)
		slotAbove = append(slotAbove, int32(s.Above))
		slotGoNoGo = append(slotGoNoGo, s.GoNoGo)
	}
	_, err = tx.Exec(ctx, `
		WITH notes AS (
		    INSERT INTO deployment_notes (deployment_id, position, name, long)
		    SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bool[])
		)
		INSERT INTO deployment_slots (deployment_id, position, group_name, role_name, final, above, go_no_go)
		SELECT $1, * FROM unnest($5::int[], $6::text[], $7::text[], $8::bool[], $9::int[], $10::bool[])`,
		id, notePos, noteNames, noteLong, slotPos, slotGroups, slotRoles, signoff.FinalSlots(t), slotAbove, slotGoNoGo)
	if err != nil {
		return nil, fmt.Errorf("create deployment %d: copy notes and slots: %w", id, err)
	}

	l, err := lockDeployment(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	after := signoff.DeploymentCreateAfter{
		Template: t.Slug, TemplateVersion: t.Version, TemplateTitle: t.Title,
		Service: n.Service, Environment: n.Environment, Version: n.Version,
		Items: paths, Notes: noteNames, Slots: slotRoles,
	}
	for _, a := range slotAbove {
		if a > 0 { // a gate: say what each slot attests to
			after.Gates = make([]int, len(slotAbove))
			for i, a := range slotAbove {
				after.Gates[i] = int(a)
			}
			break
		}
	}
	if n.PlannedAt != nil {
		after.PlannedAt = n.PlannedAt.UTC().Format(time.RFC3339)
	}
	if _, err := db.appendDeploymentEvent(ctx, tx, l, signoff.NewChange(actor, signoff.DeploymentTarget(id),
		&signoff.DeploymentCreateEvent{After: after}), deploymentWrite{}); err != nil {
		return nil, err
	}
	d, err := readDeployment(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := commit(ctx, tx, "create deployment", "Look for it in the list of deployments"); err != nil {
		return nil, err
	}
	if key != nil {
		key.claimed = true
	}
	return d, nil
}

const deploymentColumns = `
	d.id, d.template_version_id, t.slug, t.title, v.version,
	d.service, d.environment, d.version, d.planned_at, d.status,
	d.went_live_at, d.completed_at, d.aborted_at, d.locked_at,
	d.created_by, u.name, d.created_at, d.updated_at, d.checklist_rev, d.audit_seq,
	d.aborted_by, ab.name, coalesce(d.abort_reason, '')`

const deploymentJoins = `
	FROM deployments d` + deploymentJoinsOn

// deploymentJoinsOn joins a deployment d to its template and creator.
const deploymentJoinsOn = `
	JOIN template_versions v ON v.id = d.template_version_id
	JOIN templates t ON t.id = v.template_id
	JOIN users u ON u.id = d.created_by
	LEFT JOIN users ab ON ab.id = d.aborted_by`

func scanDeployment(row pgx.Row, extra ...any) (*signoff.Deployment, error) {
	var d signoff.Deployment
	var abortedBy *int64
	var abortedByName *string
	dest := []any{&d.ID, &d.TemplateVersionID, &d.TemplateSlug, &d.TemplateTitle, &d.TemplateVersion,
		&d.Service, &d.Environment, &d.Version, &d.PlannedAt, &d.Status,
		&d.WentLiveAt, &d.CompletedAt, &d.AbortedAt, &d.LockedAt,
		&d.CreatedBy.ID, &d.CreatedBy.Name, &d.CreatedAt, &d.UpdatedAt, &d.ChecklistRev, &d.AuditSeq,
		&abortedBy, &abortedByName, &d.AbortReason}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if abortedBy != nil && abortedByName != nil {
		d.AbortedBy = &signoff.UserRef{ID: *abortedBy, Name: *abortedByName}
	}
	return &d, nil
}

// Deployment returns one deployment.
func (db *DB) Deployment(ctx context.Context, id int64) (*signoff.Deployment, error) {
	return readDeployment(ctx, db.pool, id)
}

func readDeployment(ctx context.Context, q querier, id int64) (*signoff.Deployment, error) {
	d, err := scanDeployment(q.QueryRow(ctx, `SELECT `+deploymentColumns+deploymentJoins+` WHERE d.id = $1`, id))
	if err != nil {
		return nil, notFound(fmt.Errorf("deployment %d: %w", id, err), "Deployment %d not found.", id)
	}
	return d, nil
}

// Deployments lists deployments, newest first, with their progress and
// sign-off counts.
//
// Its cost does not grow with the table (docs/performance.md, "At
// scale"): the page is chosen first, from an index in the list's order
// (migrations/0020), and only its rows are counted. The statement is
// planned afresh with its values every time (an unnamed statement, not
// pgx's cached one): the best plan for "service contains x" depends on how
// many services contain x, which a generic plan cannot know, and
// PostgreSQL turns a cached statement generic after five runs.
func (db *DB) Deployments(ctx context.Context, f signoff.DeploymentFilter) ([]*signoff.Deployment, error) {
	var where []string
	args := []any{pgx.QueryExecModeCacheDescribe}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)-1) }
	if f.Status != "" {
		where = append(where, "d.status = "+arg(string(f.Status))+"::deployment_status")
	}
	where = append(where, filterConditions(f, arg)...)
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	page := `SELECT d.id FROM deployments d`
	if len(where) > 0 {
		page += "\n\t\tWHERE " + strings.Join(where, " AND ")
	}
	page += "\n\t\tORDER BY d.created_at DESC, d.id DESC LIMIT " + arg(limit) + " OFFSET " + arg(max(f.Offset, 0))
	q := `WITH page AS MATERIALIZED (
		` + page + `
		)
		SELECT ` + deploymentColumns + `,
		       p.total, p.done, p.na, s.slots, s.signed, s.stale, o.overdue
		FROM page JOIN deployments d ON d.id = page.id` + deploymentJoinsOn + `
		CROSS JOIN LATERAL (` + progressSumsSQL + `) p
		CROSS JOIN LATERAL (
		    SELECT count(*) AS overdue FROM deployment_items i
		    WHERE i.deployment_id = d.id AND i.due_after IS NOT NULL AND NOT i.has_children
		      AND i.state = 'open' AND d.status = 'live'
		      AND d.went_live_at + i.due_after < now()
		) o
		CROSS JOIN LATERAL (
		    SELECT count(*) AS slots,
		           count(sg.id) FILTER (WHERE ` + fresh("sg") + `) AS signed,
		           count(sg.id) FILTER (WHERE NOT ` + fresh("sg") + `) AS stale
		    FROM deployment_slots ds
		    LEFT JOIN signoffs sg ON sg.deployment_id = ds.deployment_id
		         AND sg.slot = ds.position AND sg.ended_at IS NULL
		    WHERE ds.deployment_id = d.id
		) s
		ORDER BY d.created_at DESC, d.id DESC`
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	defer rows.Close()
	var out []*signoff.Deployment
	for rows.Next() {
		var total, done, na, slots, signed, stale, overdue int
		d, err := scanDeployment(rows, &total, &done, &na, &slots, &signed, &stale, &overdue)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		d.Progress = signoff.Progress{Total: total, Done: done, NA: na}
		d.Slots, d.Signed, d.Stale, d.Overdue = slots, signed, stale, overdue
		out = append(out, d)
	}
	return out, rows.Err()
}

// progressSumsSQL sums a deployment d's kept section counts (a lateral
// subquery of lists that show each deployment's progress).
const progressSumsSQL = `
		    SELECT coalesce(sum(p.tasks), 0) AS total,
		           coalesce(sum(p.done), 0) AS done,
		           coalesce(sum(p.na), 0) AS na
		    FROM deployment_progress p
		    WHERE p.deployment_id = d.id`

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Environments lists the environments in use, for the filter menu. Every
// list page asks, so it skips through the environment index from one
// value to the next (a few index probes per environment) instead of
// reading every deployment for a handful of names.
func (db *DB) Environments(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, environmentsSQL)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

const environmentsSQL = `
		WITH RECURSIVE env (name) AS (
		    (SELECT environment FROM deployments ORDER BY environment LIMIT 1)
		    UNION ALL
		    SELECT (SELECT d.environment FROM deployments d WHERE d.environment > env.name
		            ORDER BY d.environment LIMIT 1)
		    FROM env WHERE env.name IS NOT NULL
		)
		SELECT name FROM env WHERE name IS NOT NULL`

// Checklist loads a deployment's items and notes with its template.
func (db *DB) Checklist(ctx context.Context, d *signoff.Deployment) (*signoff.Checklist, error) {
	return db.checklist(ctx, db.pool, d)
}

// checklist is Checklist on q: the pool, or a change's transaction.
func (db *DB) checklist(ctx context.Context, q querier, d *signoff.Deployment) (*signoff.Checklist, error) {
	t, err := db.templateStructure(ctx, d.TemplateVersionID)
	if err != nil {
		return nil, err
	}
	items, err := db.items(ctx, q, d.ID, "")
	if err != nil {
		return nil, err
	}
	notes, err := db.notes(ctx, q, d.ID)
	if err != nil {
		return nil, err
	}
	return signoff.NewChecklist(t, items, notes), nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// itemColumns are what scanItems reads, before the comment and file
// counts; itemJoins brings the names it reads.
const itemColumns = `
		i.id, i.path, i.parent_path, i.position, i.phase, i.section, i.level, i.text,
		i.conditional, i.has_children, i.due_after, i.state, i.na_reason,
		i.state_by, u.name, i.state_at, i.evidence,
		i.assigned_user_id, au.name, i.assigned_role_id, ar.name`

const itemJoins = `
		LEFT JOIN users u ON u.id = i.state_by
		LEFT JOIN users au ON au.id = i.assigned_user_id
		LEFT JOIN roles ar ON ar.id = i.assigned_role_id`

// itemsSQL reads every item of a deployment, in order: the whole page. A
// sealed deployment's items are one row (migration 0021), which the view
// deployment_items_all unpacks.
const itemsSQL = `
		SELECT ` + itemColumns + `, coalesce(c.n, 0), coalesce(f.n, 0)
		FROM deployment_items_all i` + itemJoins + `
		LEFT JOIN (
		    SELECT item_id, count(*) AS n FROM item_comments
		    WHERE deployment_id = $1 GROUP BY item_id
		) c ON c.item_id = i.id
		LEFT JOIN (
		    SELECT item_id, count(*) AS n FROM evidence_files
		    WHERE deployment_id = $1 GROUP BY item_id
		) f ON f.item_id = i.id
		WHERE i.deployment_id = $1
		ORDER BY i.position`

// blockItemsSQL reads one item and its descendants: the block a page swaps
// after a change. Items are stored in document order, so the block is the
// item and what follows it up to the next item at its level or above: a
// short range of the (deployment_id, position) index, where matching paths
// by prefix would read every item of the deployment.
const blockItemsSQL = `
		SELECT ` + itemColumns + `,
		       (SELECT count(*) FROM item_comments c WHERE c.item_id = i.id),
		       (SELECT count(*) FROM evidence_files f WHERE f.item_id = i.id)
		FROM deployment_items top
		LEFT JOIN LATERAL (
		    SELECT n.position FROM deployment_items n
		    WHERE n.deployment_id = top.deployment_id AND n.position > top.position
		      AND n.level <= top.level
		    ORDER BY n.position
		    LIMIT 1
		) next ON true
		JOIN deployment_items i ON i.deployment_id = top.deployment_id
		     AND i.position >= top.position AND i.position < coalesce(next.position, 2147483647)` + itemJoins + `
		WHERE top.deployment_id = $1 AND top.path = $2
		ORDER BY i.position`

// items reads every item of a deployment, or, given a path, that item and
// its descendants. The block is read from deployment_items, where the
// items of every deployment that can still change are (a tick's answer
// reads it); a sealed deployment's block is cut from all its items.
func (db *DB) items(ctx context.Context, q querier, deploymentID int64, under string) ([]signoff.Item, error) {
	if under == "" {
		rows, err := q.Query(ctx, itemsSQL, deploymentID)
		return scanItems(rows, err, deploymentID)
	}
	rows, err := q.Query(ctx, blockItemsSQL, deploymentID, under)
	block, err := scanItems(rows, err, deploymentID)
	if err != nil || len(block) > 0 {
		return block, err
	}
	rows, err = q.Query(ctx, itemsSQL, deploymentID)
	all, err := scanItems(rows, err, deploymentID)
	if err != nil {
		return nil, err
	}
	return blockOf(all, under), nil
}

// blockOf is the item at path and the items after it below its level.
func blockOf(items []signoff.Item, path string) []signoff.Item {
	for i, it := range items {
		if it.Path != path {
			continue
		}
		end := i + 1
		for end < len(items) && items[end].Level > it.Level {
			end++
		}
		return items[i:end]
	}
	return nil
}

func scanItems(rows pgx.Rows, err error, deploymentID int64) ([]signoff.Item, error) {
	if err != nil {
		return nil, fmt.Errorf("items of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.Item
	for rows.Next() {
		var it signoff.Item
		var due *time.Duration
		var byID *int64
		var byName *string
		var userID, roleID *int64
		var userName, roleName *string
		if err := rows.Scan(&it.ID, &it.Path, &it.ParentPath, &it.Position, &it.Phase, &it.Section, &it.Level, &it.Text,
			&it.Conditional, &it.HasChildren, &due, &it.State, &it.NAReason,
			&byID, &byName, &it.StateAt, &it.Evidence,
			&userID, &userName, &roleID, &roleName, &it.CommentCount, &it.FileCount); err != nil {
			return nil, fmt.Errorf("items of deployment %d: %w", deploymentID, err)
		}
		if due != nil {
			it.DueAfter = *due
		}
		if byID != nil && byName != nil {
			it.StateBy = &signoff.UserRef{ID: *byID, Name: *byName}
		}
		switch {
		case userID != nil && userName != nil:
			it.Assignee = &signoff.Assignee{User: *userID, Name: *userName}
		case roleID != nil && roleName != nil:
			it.Assignee = &signoff.Assignee{Role: *roleID, Name: *roleName}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

const notesSQL = `
		SELECT n.position, n.name, n.long, n.value, n.updated_by, u.name, n.updated_at
		FROM deployment_notes n
		LEFT JOIN users u ON u.id = n.updated_by
		WHERE n.deployment_id = $1
		ORDER BY n.position`

func (db *DB) notes(ctx context.Context, q querier, deploymentID int64) ([]signoff.Note, error) {
	rows, err := q.Query(ctx, notesSQL, deploymentID)
	return scanNotes(rows, err, deploymentID)
}

func scanNotes(rows pgx.Rows, err error, deploymentID int64) ([]signoff.Note, error) {
	if err != nil {
		return nil, fmt.Errorf("notes of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.Note
	for rows.Next() {
		var n signoff.Note
		var byID *int64
		var byName *string
		if err := rows.Scan(&n.Position, &n.Name, &n.Long, &n.Value, &byID, &byName, &n.UpdatedAt); err != nil {
			return nil, fmt.Errorf("notes of deployment %d: %w", deploymentID, err)
		}
		if byID != nil && byName != nil {
			n.UpdatedBy = &signoff.UserRef{ID: *byID, Name: *byName}
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// SetStatus moves a deployment to a new status (start, go live, abort),
// and returns it as the change left it, read before the commit. Under an
// idempotency key an earlier request used, it changes nothing and returns
// the deployment as it stands.
func (db *DB) SetStatus(ctx context.Context, id int64, to signoff.Status, reason string, actor signoff.EventActor) (*signoff.Deployment, error) {
	reason = strings.TrimSpace(reason)
	if to == signoff.StatusAborted {
		if err := signoff.ValidateText("Reason for aborting", reason, 1, signoff.MaxReasonLen); err != nil {
			return nil, err
		}
	}
	var d *signoff.Deployment
	_, err := db.changeDeployment(ctx, id, "set status", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		cur := signoff.Deployment{Status: l.Status, LockedAt: l.LockedAt}
		if err := cur.CanMoveTo(to); err != nil {
			return nil, err
		}
		if err := db.checkMove(ctx, tx, id, to, actor); err != nil {
			return nil, err
		}
		var err error
		switch to {
		case signoff.StatusLive:
			_, err = tx.Exec(ctx, `UPDATE deployments SET went_live_at = $2 WHERE id = $1`, id, l.Now)
		case signoff.StatusAborted:
			_, err = tx.Exec(ctx, `UPDATE deployments SET aborted_at = $2, aborted_by = $3, abort_reason = $4 WHERE id = $1`,
				id, l.Now, actor.ID, reason)
		}
		if err != nil {
			return nil, fmt.Errorf("set status of deployment %d: %w", id, err)
		}
		return &deploymentChange{Change: signoff.NewChange(actor, signoff.DeploymentTarget(id), &signoff.DeploymentStatusEvent{
			Before: signoff.DeploymentStatusBefore{Status: cur.Status}, After: signoff.DeploymentStatusAfter{Status: to, Reason: reason},
		}), write: deploymentWrite{status: &to}, read: func(tx pgx.Tx) (err error) {
			d, err = readDeployment(ctx, tx, id)
			return err
		}}, nil
	})
	if err != nil {
		return nil, err
	}
	if d == nil { // an earlier request with the idempotency key moved it
		return db.Deployment(ctx, id)
	}
	return d, nil
}

// checkMove applies the rules of who may take a deployment live or abort
// it, and refuses going live before the go/no-go sign-off.
func (db *DB) checkMove(ctx context.Context, tx pgx.Tx, id int64, to signoff.Status, actor signoff.EventActor) error {
	if to != signoff.StatusLive && to != signoff.StatusAborted {
		return nil
	}
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, actor.ID))
	if errors.Is(err, pgx.ErrNoRows) {
		return signoff.Errorf(signoff.EFORBIDDEN, "Only a person can take a deployment live or abort it.")
	} else if err != nil {
		return fmt.Errorf("set status of deployment %d: read %d: %w", id, actor.ID, err)
	}
	d, err := readDeployment(ctx, tx, id)
	if err != nil {
		return err
	}
	slots, err := db.slots(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := signoff.CanMove(u, d, slots, to); err != nil || to != signoff.StatusLive {
		return err
	}
	cl, err := db.checklist(ctx, tx, d)
	if err != nil {
		return err
	}
	return signoff.CheckGoLive(d, cl, slots).Err()
}

// GoLive says what stands open if the deployment went live now: what a
// person is asked to confirm before going live.
func (db *DB) GoLive(ctx context.Context, d *signoff.Deployment) (signoff.GoLive, error) {
	cl, err := db.checklist(ctx, db.pool, d)
	if err != nil {
		return signoff.GoLive{}, err
	}
	slots, err := db.slots(ctx, db.pool, d.ID)
	if err != nil {
		return signoff.GoLive{}, err
	}
	return signoff.CheckGoLive(d, cl, slots), nil
}

// SectionProgress counts a deployment's tasks (leaves) by section, without
// reading every item: what a partial page update needs.
func (db *DB) SectionProgress(ctx context.Context, deploymentID int64) (signoff.SectionProgress, error) {
	rows, err := db.pool.Query(ctx, sectionProgressSQL, deploymentID)
	return scanSectionProgress(rows, err, deploymentID)
}

// sectionProgressSQL reads every section's counts after each tick: one
// row per section from deployment_progress, which triggers keep, instead
// of counting every item (migrations/0010). Overdue tasks depend on the
// clock, so they are counted here, among the few tasks with a deadline
// (deployment_items_due_idx), and only while the deployment is live.
const sectionProgressSQL = `
		SELECT p.phase, p.section, p.tasks, p.done, p.na, coalesce(o.overdue, 0)
		FROM deployment_progress p
		LEFT JOIN (
		    SELECT i.phase, i.section, count(*) AS overdue
		    FROM deployment_items i
		    WHERE i.deployment_id = $1 AND i.due_after IS NOT NULL AND NOT i.has_children
		      AND i.state = 'open'
		      AND (SELECT went_live_at FROM deployments
		           WHERE id = $1 AND status = 'live') + i.due_after < now()
		    GROUP BY i.phase, i.section
		) o ON o.phase = p.phase AND o.section = p.section
		WHERE p.deployment_id = $1`

func scanSectionProgress(rows pgx.Rows, err error, deploymentID int64) (signoff.SectionProgress, error) {
	if err != nil {
		return nil, fmt.Errorf("progress of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	out := make(signoff.SectionProgress, 32) // a few dozen sections, grown once at most
	for rows.Next() {
		var k signoff.SectionKey
		var p signoff.Progress
		if err := rows.Scan(&k.Phase, &k.Section, &p.Total, &p.Done, &p.NA, &p.Overdue); err != nil {
			return nil, fmt.Errorf("progress of deployment %d: %w", deploymentID, err)
		}
		out[k] = p
	}
	return out, rows.Err()
}

// ItemBlock reads, in one round trip, what showing an item's top-level
// block needs: the deployment, the block (the top-level item at top and
// everything below it), progress by section and the sign-off slots. Its
// Event is zero: it records nothing.
func (db *DB) ItemBlock(ctx context.Context, deploymentID int64, top string) (*signoff.ItemUpdate, error) {
	b := &pgx.Batch{}
	queueItemBlock(b, deploymentID, top)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	u, err := readItemBlock(br, deploymentID)
	if err != nil {
		return nil, err
	}
	return u, br.Close()
}

// queueItemBlock adds ItemBlock's queries to a batch, for readItemBlock
// to read.
func queueItemBlock(b *pgx.Batch, deploymentID int64, top string) {
	b.Queue(`SELECT `+deploymentColumns+deploymentJoins+` WHERE d.id = $1`, deploymentID)
	b.Queue(blockItemsSQL, deploymentID, top)
	b.Queue(sectionProgressSQL, deploymentID)
	b.Queue(slotsSQL, deploymentID)
}

func readItemBlock(br pgx.BatchResults, deploymentID int64) (*signoff.ItemUpdate, error) {
	var u signoff.ItemUpdate
	var err error
	if u.Deployment, err = scanDeployment(br.QueryRow()); err != nil {
		return nil, notFound(fmt.Errorf("deployment %d: %w", deploymentID, err), "Deployment %d not found.", deploymentID)
	}
	rows, err := br.Query()
	if u.Block, err = scanItems(rows, err, deploymentID); err != nil {
		return nil, err
	}
	rows, err = br.Query()
	if u.Progress, err = scanSectionProgress(rows, err, deploymentID); err != nil {
		return nil, err
	}
	rows, err = br.Query()
	if u.Slots, err = scanSlots(rows, err, deploymentID); err != nil {
		return nil, err
	}
	return &u, nil
}

// DeploymentHead reads the deployment and, unless viewersSeenWithin is
// zero, who watches it (as Viewers does), in one statement: the part of
// the deployment page that the checklist cache cannot hold, since it
// changes without a change to the deployment.
func (db *DB) DeploymentHead(ctx context.Context, deploymentID int64, viewersSeenWithin time.Duration) (*signoff.Deployment, []signoff.UserRef, error) {
	if viewersSeenWithin <= 0 {
		d, err := readDeployment(ctx, db.pool, deploymentID)
		return d, nil, err
	}
	var ids []int64
	var names []string
	d, err := scanDeployment(db.pool.QueryRow(ctx, `SELECT `+deploymentColumns+`, lv.ids, lv.names`+deploymentJoins+`
		CROSS JOIN LATERAL (
		    SELECT array_agg(v.user_id ORDER BY v.user_id) AS ids, array_agg(v.user_name ORDER BY v.user_id) AS names
		    FROM (`+viewersSQL+`) v
		) lv
		WHERE d.id = $1`, deploymentID, viewersSeenWithin), &ids, &names)
	if err != nil {
		return nil, nil, notFound(fmt.Errorf("deployment %d: %w", deploymentID, err), "Deployment %d not found.", deploymentID)
	}
	if len(ids) != len(names) {
		return nil, nil, fmt.Errorf("viewers of deployment %d: %d ids, %d names", deploymentID, len(ids), len(names))
	}
	var viewers []signoff.UserRef
	for i, id := range ids {
		viewers = append(viewers, signoff.UserRef{ID: id, Name: names[i]})
	}
	return d, viewers, nil
}

// DeploymentChecklist reads a deployment's items, notes and sign-off
// slots, with its template's structure, in one round trip: all of it
// changes only with an event of the deployment's, so a reader may keep it
// for as long as the deployment's audit sequence number stays the same.
func (db *DB) DeploymentChecklist(ctx context.Context, d *signoff.Deployment) (*signoff.Checklist, []signoff.Slot, error) {
	b := &pgx.Batch{}
	b.Queue(itemsSQL, d.ID)
	b.Queue(notesSQL, d.ID)
	b.Queue(slotsSQL, d.ID)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	items, err := scanItems(rows, err, d.ID)
	if err != nil {
		return nil, nil, err
	}
	rows, err = br.Query()
	notes, err := scanNotes(rows, err, d.ID)
	if err != nil {
		return nil, nil, err
	}
	rows, err = br.Query()
	slots, err := scanSlots(rows, err, d.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := br.Close(); err != nil {
		return nil, nil, fmt.Errorf("checklist of deployment %d: %w", d.ID, err)
	}
	t, err := db.templateStructure(ctx, d.TemplateVersionID)
	if err != nil {
		return nil, nil, err
	}
	return signoff.NewChecklist(t, items, notes), slots, nil
}
