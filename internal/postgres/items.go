package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

type ItemStateAfter = signoff.ItemStateAfter

// SetItemState ticks, unticks or marks N/A one item. Marking a parent N/A
// marks every open item below it N/A with the same reason, in one event.
// Asking for the state an item already has changes nothing and records
// nothing. It returns the event, or a zero event for a no-op.
func (db *DB) SetItemState(ctx context.Context, deploymentID int64, c signoff.ItemChange, actor signoff.EventActor) (signoff.Event, error) {
	ev, _, err := db.setItemState(ctx, deploymentID, c, actor, false)
	return ev, err
}

// SetItemStateAndRead is SetItemState that also reads, in the round trip
// that commits, what showing the change needs: the item's top-level block,
// progress by section and the slots, as the change left them.
//
// Ticks that arrive while their deployment is busy are written together,
// in arrival order, in its next transaction (tick_batch.go).
func (db *DB) SetItemStateAndRead(ctx context.Context, deploymentID int64, c signoff.ItemChange, actor signoff.EventActor) (signoff.Event, *ItemContext, error) {
	if err := c.Validate(); err != nil {
		return signoff.Event{}, nil, err
	}
	return db.tick(ctx, deploymentID, c, actor)
}

func (db *DB) setItemState(ctx context.Context, deploymentID int64, c signoff.ItemChange, actor signoff.EventActor, read bool) (signoff.Event, *ItemContext, error) {
	if err := c.Validate(); err != nil {
		return signoff.Event{}, nil, err
	}
	tx, err := db.acquirePipelined(ctx)
	if err != nil {
		return signoff.Event{}, nil, fmt.Errorf("set item state: %w", err)
	}
	defer tx.close(ctx)

	// The common case, ticking a leaf, is two round trips: BEGIN, lock the
	// deployment and update the item; then the audit event, the reads and
	// COMMIT. If the deployment turns out not to be writable, the rollback
	// undoes the update.
	//
	// The item's time is the event's: read under the lock the first
	// statement took, never behind the previous event (as lockDeployment
	// reads it), so one write stamps it.
	first := &pgx.Batch{}
	first.Queue(lockDeploymentSQL, deploymentID)
	first.Queue(`
		UPDATE deployment_items i
		SET state = $3, na_reason = $4, state_by = $5,
		    state_at = greatest(clock_timestamp(), d.audit_at + interval '1 microsecond')
		FROM deployment_items old, deployments d
		WHERE old.id = i.id AND d.id = i.deployment_id
		  AND i.deployment_id = $1 AND i.path = $2 AND NOT i.has_children
		  AND (i.state, i.na_reason) IS DISTINCT FROM ($3::item_state, $4::text)
		RETURNING old.state, old.na_reason, i.state_at`,
		deploymentID, c.Path, c.State, c.NAReason, nullID(actor.ID))
	br, err := tx.begin(ctx, first)
	if err != nil {
		return signoff.Event{}, nil, fmt.Errorf("set item state: %w", err)
	}
	l, err := scanLocked(br.QueryRow(), deploymentID)
	if err != nil {
		br.Close()
		return signoff.Event{}, nil, err
	}
	var before ItemStateAfter
	var at time.Time
	err = br.QueryRow().Scan(&before.State, &before.NAReason, &at)
	updated := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		br.Close()
		return signoff.Event{}, nil, fmt.Errorf("set item %s to %s: %w", c.Path, c.State, err)
	}
	if err := br.Close(); err != nil {
		return signoff.Event{}, nil, fmt.Errorf("set item %s to %s: %w", c.Path, c.State, err)
	}
	if err := l.writable(); err != nil {
		return signoff.Event{}, nil, err
	}

	after := ItemStateAfter{State: c.State, NAReason: c.NAReason}
	if updated {
		l.Now = at.UTC()
	} else {
		// Not a leaf that changed: a parent, an unknown path, or a no-op.
		var hasChildren bool
		err = tx.QueryRow(ctx, `
			SELECT has_children FROM deployment_items
			WHERE deployment_id = $1 AND path = $2`, deploymentID, c.Path).Scan(&hasChildren)
		if errors.Is(err, pgx.ErrNoRows) {
			return signoff.Event{}, nil, errNoItem(deploymentID, c.Path)
		}
		if err != nil {
			return signoff.Event{}, nil, fmt.Errorf("item %s of deployment %d: %w", c.Path, deploymentID, err)
		}
		if hasChildren && c.State != signoff.ItemNA {
			return signoff.Event{}, nil, errTickedParent(c.Path)
		}
		if hasChildren {
			err = tx.QueryRow(ctx, `
				WITH changed AS (
				    UPDATE deployment_items
				    SET state = 'na', na_reason = $3, state_by = $4, state_at = $5
				    WHERE deployment_id = $1 AND path LIKE $2 || '.%'
				      AND NOT has_children AND state = 'open'
				    RETURNING path, position
				)
				SELECT coalesce(array_agg(path ORDER BY position), '{}') FROM changed`,
				deploymentID, c.Path, c.NAReason, nullID(actor.ID), l.Now).Scan(&after.Items)
			if err != nil {
				return signoff.Event{}, nil, fmt.Errorf("mark item %s N/A: %w", c.Path, err)
			}
			before = ItemStateAfter{State: signoff.ItemOpen}
		}
	}

	last := &pgx.Batch{}
	var ev signoff.Event
	changed := updated || len(after.Items) > 0 // else: already in that state, nothing to record
	if changed {
		w := deploymentWrite{checklistChanged: true}
		if l.Status == signoff.StatusDraft {
			s := signoff.StatusInProgress
			w.status = &s // the first change starts the deployment
		}
		if ev, err = queueDeploymentEvent(last, l, signoff.Change{
			Actor: actor, Action: signoff.ActItemState, Target: "item/" + c.Path, Before: before, After: after,
		}, w); err != nil {
			return signoff.Event{}, nil, err
		}
	}
	// The answer's reads go after COMMIT, in the same round trip: they see
	// this change (and perhaps a later one), and the deployment's lock is
	// not held while they run.
	then := &pgx.Batch{}
	if read {
		queueItemContext(then, deploymentID, signoff.TopPath(c.Path))
	}
	var ic *ItemContext
	committed, err := tx.commit(ctx, last, func(br pgx.BatchResults) error {
		if changed {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("append audit event %s: %w", signoff.ActItemState, err)
			}
		}
		return nil
	}, then, func(br pgx.BatchResults) error {
		if read {
			var err error
			ic, err = readItemContext(br, deploymentID)
			return err
		}
		return nil
	})
	if committed && err != nil {
		// The change stands; only the answer's reads failed: try them alone.
		ic, err = db.ItemContext(ctx, deploymentID, signoff.TopPath(c.Path))
		if err != nil {
			return ev, nil, err
		}
	}
	if err != nil {
		return signoff.Event{}, nil, fmt.Errorf("set item state: %w", err)
	}
	return ev, ic, nil
}

// errNoItem answers a change to an item the deployment does not have.
func errNoItem(deploymentID int64, path string) error {
	return signoff.Errorf(signoff.ENOTFOUND, "Deployment %d has no item %s.", deploymentID, path)
}

// errTickedParent answers a tick of an item with sub-items, whose state
// follows theirs (only N/A may be set on it, closing them all).
func errTickedParent(path string) error {
	return signoff.Errorf(signoff.EINVALID, "Item %s has sub-items: tick those; it is done when they all are.", path)
}

// AddComment adds a remark to an item.
func (db *DB) AddComment(ctx context.Context, deploymentID int64, path, body string, actor signoff.EventActor) (signoff.Event, error) {
	body = strings.TrimSpace(body)
	if err := signoff.ValidateText("Comment", body, 1, signoff.MaxCommentLen); err != nil {
		return signoff.Event{}, err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return signoff.Event{}, fmt.Errorf("add comment: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	l, err := lockDeployment(ctx, tx, deploymentID)
	if err != nil {
		return signoff.Event{}, err
	}
	if err := l.writable(); err != nil {
		return signoff.Event{}, err
	}
	var commentID int64
	err = tx.QueryRow(ctx, `
		INSERT INTO item_comments (deployment_id, item_id, author_id, author_name, body, created_at)
		SELECT $1, id, $3, $4, $5, $6 FROM deployment_items
		WHERE deployment_id = $1 AND path = $2
		RETURNING id`, deploymentID, path, nullID(actor.ID), actor.Name, body, l.Now).Scan(&commentID)
	if err != nil {
		return signoff.Event{}, notFound(fmt.Errorf("comment on item %s: %w", path, err), "Deployment %d has no item %s.", deploymentID, path)
	}
	ev, err := db.appendDeploymentEvent(ctx, tx, l, signoff.NewChange(actor, signoff.ItemTarget(path),
		&signoff.ItemCommentEvent{After: signoff.ItemCommentAfter{Body: body, Comment: commentID}}), deploymentWrite{})
	if err != nil {
		return signoff.Event{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return signoff.Event{}, fmt.Errorf("add comment: commit: %w", err)
	}
	return ev, nil
}

// Comments lists an item's comments, oldest first.
func (db *DB) Comments(ctx context.Context, deploymentID int64, path string) ([]signoff.Comment, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT c.id, c.item_id, i.path, coalesce(c.author_id, 0), c.author_name, c.body, c.created_at
		FROM item_comments c
		JOIN deployment_items i ON i.id = c.item_id
		WHERE c.deployment_id = $1 AND ($2 = '' OR i.path = $2)
		ORDER BY c.created_at, c.id`, deploymentID, path)
	if err != nil {
		return nil, fmt.Errorf("comments on deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.Comment
	for rows.Next() {
		var c signoff.Comment
		if err := rows.Scan(&c.ID, &c.ItemID, &c.ItemPath, &c.Author.ID, &c.Author.Name, &c.Body, &c.CreatedAt); err != nil {
			return nil, fmt.Errorf("comments on deployment %d: %w", deploymentID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Items returns one item and its descendants (the block a page swaps after a
// change), or every item when path is empty.
func (db *DB) Items(ctx context.Context, deploymentID int64, path string) ([]signoff.Item, error) {
	return db.items(ctx, db.pool, deploymentID, path)
}

// SetNote edits one of a deployment's note fields.
func (db *DB) SetNote(ctx context.Context, deploymentID int64, position int, value string, actor signoff.EventActor) (signoff.Event, error) {
	value = strings.TrimRight(value, " \t\r\n")
	if err := signoff.ValidateText("Note", value, 0, signoff.MaxNoteLen); err != nil {
		return signoff.Event{}, err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return signoff.Event{}, fmt.Errorf("set note: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	l, err := lockDeployment(ctx, tx, deploymentID)
	if err != nil {
		return signoff.Event{}, err
	}
	if err := l.writable(); err != nil {
		return signoff.Event{}, err
	}
	var name, before string
	err = tx.QueryRow(ctx, `
		UPDATE deployment_notes n
		SET value = $3, updated_by = $4, updated_at = $5
		FROM deployment_notes old
		WHERE n.deployment_id = $1 AND n.position = $2
		  AND old.deployment_id = n.deployment_id AND old.position = n.position
		RETURNING n.name, old.value`, deploymentID, position, value, nullID(actor.ID), l.Now).Scan(&name, &before)
	if err != nil {
		return signoff.Event{}, notFound(fmt.Errorf("note %d of deployment %d: %w", position, deploymentID, err),
			"Deployment %d has no note field %d.", deploymentID, position)
	}
	if before == value {
		return signoff.Event{}, nil // rolled back: nothing changed
	}
	ev, err := db.appendDeploymentEvent(ctx, tx, l, signoff.NewChange(actor, signoff.NoteTarget(position), &signoff.NoteEditEvent{
		Before: signoff.NoteEditBefore{Name: name, Value: before}, After: signoff.NoteEditAfter{Name: name, Value: value},
	}), deploymentWrite{checklistChanged: true})
	if err != nil {
		return signoff.Event{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return signoff.Event{}, fmt.Errorf("set note: commit: %w", err)
	}
	return ev, nil
}

// SetEvidence attaches evidence (text or a link, such as a script's output)
// to an item; pipelines use it through the API.
func (db *DB) SetEvidence(ctx context.Context, deploymentID int64, path, evidence string, actor signoff.EventActor) (signoff.Event, error) {
	evidence = strings.TrimSpace(evidence)
	if err := signoff.ValidateText("Evidence", evidence, 1, signoff.MaxEvidenceLen); err != nil {
		return signoff.Event{}, err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return signoff.Event{}, fmt.Errorf("set evidence: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	l, err := lockDeployment(ctx, tx, deploymentID)
	if err != nil {
		return signoff.Event{}, err
	}
	if err := l.writable(); err != nil {
		return signoff.Event{}, err
	}
	var before string
	err = tx.QueryRow(ctx, `
		UPDATE deployment_items i SET evidence = $3
		FROM deployment_items old
		WHERE i.deployment_id = $1 AND i.path = $2 AND old.id = i.id
		RETURNING old.evidence`, deploymentID, path, evidence).Scan(&before)
	if err != nil {
		return signoff.Event{}, notFound(fmt.Errorf("evidence on item %s: %w", path, err), "Deployment %d has no item %s.", deploymentID, path)
	}
	if before == evidence {
		return signoff.Event{}, nil // unchanged: the rollback undoes the no-op update
	}
	ev, err := db.appendDeploymentEvent(ctx, tx, l, signoff.NewChange(actor, signoff.ItemTarget(path), &signoff.ItemEvidenceEvent{
		Before: signoff.ItemEvidenceBefore{Evidence: before}, After: signoff.ItemEvidenceAfter{Evidence: evidence},
	}), deploymentWrite{})
	if err != nil {
		return signoff.Event{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return signoff.Event{}, fmt.Errorf("set evidence: commit: %w", err)
	}
	return ev, nil
}
