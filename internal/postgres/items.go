package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// AddComment adds a remark to an item.
func (db *DB) AddComment(ctx context.Context, deploymentID int64, path, body string, actor signoff.EventActor) (signoff.Event, error) {
	return db.addComment(ctx, deploymentID, path, body, nil, actor)
}

// addComment adds a remark, and the file sent with it if file is not nil,
// as one change.
func (db *DB) addComment(ctx context.Context, deploymentID int64, path, body string, file *checked, actor signoff.EventActor) (signoff.Event, error) {
	body = strings.TrimSpace(body)
	if err := signoff.ValidateText("Comment", body, 1, signoff.MaxCommentLen); err != nil {
		return signoff.Event{}, err
	}
	return db.changeDeployment(ctx, deploymentID, "add comment", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		var commentID int64
		err := tx.QueryRow(ctx, `
			INSERT INTO item_comments (deployment_id, item_id, author_id, author_name, body, created_at)
			SELECT $1, id, $3, $4, $5, $6 FROM deployment_items
			WHERE deployment_id = $1 AND path = $2
			RETURNING id`, deploymentID, path, nullID(actor.ID), actor.Name, body, l.Now).Scan(&commentID)
		if err != nil {
			return nil, notFound(fmt.Errorf("comment on item %s: %w", path, err), "Deployment %d has no item %s.", deploymentID, path)
		}
		var fileID int64
		if file != nil {
			if fileID, err = file.insert(ctx, tx, l, path, commentID, actor); err != nil {
				return nil, err
			}
		}
		return &deploymentChange{Change: signoff.NewChange(actor, signoff.ItemTarget(path),
			&signoff.ItemCommentEvent{After: file.describe(signoff.ItemCommentAfter{Body: body, Comment: commentID}, fileID)})}, nil
	})
}

// Comments lists an item's comments, oldest first, or every comment of the
// deployment when path is empty.
func (db *DB) Comments(ctx context.Context, deploymentID int64, path string) ([]signoff.Comment, error) {
	return comments(ctx, db.pool, deploymentID, path)
}

func comments(ctx context.Context, q querier, deploymentID int64, path string) ([]signoff.Comment, error) {
	rows, err := q.Query(ctx, `
		SELECT c.id, c.item_id, i.path, coalesce(c.author_id, 0), c.author_name, c.body, c.created_at
		FROM item_comments c
		JOIN deployment_items_all i ON i.deployment_id = c.deployment_id AND i.id = c.item_id
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
	return db.changeDeployment(ctx, deploymentID, "set note", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		var name, before string
		err := tx.QueryRow(ctx, `
			UPDATE deployment_notes n
			SET value = $3, updated_by = $4, updated_at = $5
			FROM deployment_notes old
			WHERE n.deployment_id = $1 AND n.position = $2
			  AND old.deployment_id = n.deployment_id AND old.position = n.position
			RETURNING n.name, old.value`, deploymentID, position, value, nullID(actor.ID), l.Now).Scan(&name, &before)
		if err != nil {
			return nil, notFound(fmt.Errorf("note %d of deployment %d: %w", position, deploymentID, err),
				"Deployment %d has no note field %d.", deploymentID, position)
		}
		if before == value {
			return nil, nil // nothing changed: rolled back, nothing recorded
		}
		return &deploymentChange{Change: signoff.NewChange(actor, signoff.NoteTarget(position), &signoff.NoteEditEvent{
			Before: signoff.NoteEditBefore{Name: name, Value: before}, After: signoff.NoteEditAfter{Name: name, Value: value},
		}), write: deploymentWrite{checklistChanged: true}}, nil
	})
}

// SetEvidence attaches evidence (text or a link, such as a script's output)
// to an item; pipelines use it through the API.
func (db *DB) SetEvidence(ctx context.Context, deploymentID int64, path, evidence string, actor signoff.EventActor) (signoff.Event, error) {
	evidence = strings.TrimSpace(evidence)
	if err := signoff.ValidateText("Evidence", evidence, 1, signoff.MaxEvidenceLen); err != nil {
		return signoff.Event{}, err
	}
	return db.changeDeployment(ctx, deploymentID, "set evidence", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		var before string
		err := tx.QueryRow(ctx, `
			UPDATE deployment_items i SET evidence = $3
			FROM deployment_items old
			WHERE i.deployment_id = $1 AND i.path = $2 AND old.id = i.id
			RETURNING old.evidence`, deploymentID, path, evidence).Scan(&before)
		if err != nil {
			return nil, notFound(fmt.Errorf("evidence on item %s: %w", path, err), "Deployment %d has no item %s.", deploymentID, path)
		}
		if before == evidence {
			return nil, nil // nothing changed: rolled back, nothing recorded
		}
		return &deploymentChange{Change: signoff.NewChange(actor, signoff.ItemTarget(path), &signoff.ItemEvidenceEvent{
			Before: signoff.ItemEvidenceBefore{Evidence: before}, After: signoff.ItemEvidenceAfter{Evidence: evidence},
		})}, nil
	})
}
