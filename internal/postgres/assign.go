package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// AssignTo is who an item or a section is given to: a person (User) or a
// role (Role), or nobody when both are 0.
type AssignTo struct {
	User int64
	Role int64
}

// Assign gives an item (path "phase.section.item…") or every item of a
// section (path "phase.section") to a person or a role, or clears it: one
// UPDATE and one item.assign event. An assignment that changes nothing
// records nothing.
func (db *DB) Assign(ctx context.Context, deploymentID int64, path string, to AssignTo, actor signoff.EventActor) (signoff.Event, error) {
	if to.User != 0 && to.Role != 0 {
		return signoff.Event{}, signoff.Errorf(signoff.EINVALID, "Assign to a person or to a role, not both.")
	}
	target, phase, section, err := assignTarget(path)
	if err != nil {
		return signoff.Event{}, err
	}
	return db.changeDeployment(ctx, deploymentID, "assign", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		name, err := assigneeName(ctx, tx, to)
		if err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `
			UPDATE deployment_items SET assigned_user_id = $5, assigned_role_id = $6
			WHERE deployment_id = $1
			  AND (path = $2 OR ($2 = '' AND phase = $3 AND section = $4))
			  AND (assigned_user_id IS DISTINCT FROM $5 OR assigned_role_id IS DISTINCT FROM $6)
			RETURNING path, position`, deploymentID, itemPathOf(target), phase, section, nullID(to.User), nullID(to.Role))
		if err != nil {
			return nil, fmt.Errorf("assign %s: %w", target, err)
		}
		type changed struct {
			path string
			pos  int
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (changed, error) {
			var c changed
			return c, r.Scan(&c.path, &c.pos)
		})
		if err != nil {
			return nil, fmt.Errorf("assign %s: %w", target, err)
		}
		if len(got) == 0 {
			if err := itemOrSectionExists(ctx, tx, deploymentID, target, phase, section); err != nil {
				return nil, err
			}
			return nil, nil // already so: nothing recorded
		}
		after := signoff.ItemAssignAfter{Name: name, Role: to.Role, User: to.User}
		if target.Kind == signoff.TargetSection {
			// UPDATE … RETURNING keeps no order; the event lists document order.
			slices.SortFunc(got, func(a, b changed) int { return a.pos - b.pos })
			for _, c := range got {
				after.Items = append(after.Items, c.path)
			}
		}
		return &deploymentChange{Change: signoff.NewChange(actor, target, &signoff.ItemAssignEvent{After: after})}, nil
	})
}

// assignTarget reads an item's or a section's path.
func assignTarget(path string) (t signoff.Target, phase, section int, err error) {
	parts := strings.Split(path, ".")
	if len(parts) == 2 {
		p, e1 := strconv.Atoi(parts[0])
		s, e2 := strconv.Atoi(parts[1])
		if e1 == nil && e2 == nil && p > 0 && s > 0 {
			return signoff.SectionTarget(path), p, s, nil
		}
	}
	if t, err := signoff.ParseTarget("item/" + path); err == nil {
		return t, 0, 0, nil
	}
	return signoff.Target{}, 0, 0, signoff.Errorf(signoff.EINVALID, "%q is neither an item nor a section.", path)
}

func itemPathOf(t signoff.Target) string {
	if t.Kind == signoff.TargetItem {
		return t.Path
	}
	return ""
}

func itemOrSectionExists(ctx context.Context, tx pgx.Tx, deploymentID int64, t signoff.Target, phase, section int) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deployment_items WHERE deployment_id = $1
		AND (path = $2 OR ($2 = '' AND phase = $3 AND section = $4)))`, deploymentID, itemPathOf(t), phase, section).Scan(&ok)
	if err != nil {
		return fmt.Errorf("assign %s: %w", t, err)
	}
	if !ok {
		return signoff.Errorf(signoff.ENOTFOUND, "Deployment %d has no %s %s.", deploymentID, t.Kind, t.Path)
	}
	return nil
}

// assigneeName is the active person's or the role's name, as the event
// records it.
func assigneeName(ctx context.Context, tx pgx.Tx, to AssignTo) (string, error) {
	var name string
	switch {
	case to.User != 0:
		err := tx.QueryRow(ctx, `SELECT name FROM users WHERE id = $1 AND active`, to.User).Scan(&name)
		return name, notFound(err, "There is no active person %d to assign to.", to.User)
	case to.Role != 0:
		err := tx.QueryRow(ctx, `SELECT name FROM roles WHERE id = $1`, to.Role).Scan(&name)
		return name, notFound(err, "There is no role %d to assign to.", to.Role)
	}
	return "", nil
}

// WorkItem is an open item assigned to someone, with its deployment.
type WorkItem struct {
	Deployment signoff.Deployment
	Item       signoff.Item
}

// MyWork lists the open leaf items, across deployments that may still
// change, assigned to the person or to a role they hold: the oldest
// deployment first, then in document order.
func (db *DB) MyWork(ctx context.Context, userID int64, limit int) ([]WorkItem, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT d.id, d.service, d.environment, d.version, d.status, d.created_at,
		       i.path, i.text, i.level, i.due_after, d.went_live_at,
		       coalesce(au.name, ar.name, ''), coalesce(i.assigned_user_id, 0), coalesce(i.assigned_role_id, 0)
		FROM deployment_items i
		JOIN deployments d ON d.id = i.deployment_id
		LEFT JOIN users au ON au.id = i.assigned_user_id
		LEFT JOIN roles ar ON ar.id = i.assigned_role_id
		WHERE i.state = 'open' AND NOT i.has_children
		  AND d.status NOT IN ('completed', 'aborted') AND d.locked_at IS NULL
		  AND (i.assigned_user_id = $1
		       OR i.assigned_role_id IN (SELECT role_id FROM user_roles WHERE user_id = $1))
		ORDER BY d.created_at, d.id, i.position
		LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("my work of %d: %w", userID, err)
	}
	defer rows.Close()
	var out []WorkItem
	for rows.Next() {
		var w WorkItem
		var due *time.Duration
		var a signoff.Assignee
		if err := rows.Scan(&w.Deployment.ID, &w.Deployment.Service, &w.Deployment.Environment, &w.Deployment.Version,
			&w.Deployment.Status, &w.Deployment.CreatedAt, &w.Item.Path, &w.Item.Text, &w.Item.Level, &due,
			&w.Deployment.WentLiveAt, &a.Name, &a.User, &a.Role); err != nil {
			return nil, fmt.Errorf("my work of %d: %w", userID, err)
		}
		if due != nil {
			w.Item.DueAfter = *due
		}
		w.Item.State = signoff.ItemOpen
		w.Item.Assignee = &a
		out = append(out, w)
	}
	return out, rows.Err()
}
