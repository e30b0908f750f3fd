package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// Upload is a file as a person or a pipeline sent it: its name and bytes.
// CheckFile decides its type and refuses what is not allowed.
type Upload struct {
	Name string
	Data []byte
}

// checked is an upload that passed signoff.CheckFile.
type checked struct {
	name, contentType, sha256 string
	data                      []byte
}

func checkUpload(u *Upload) (*checked, error) {
	name, ct, sum, err := signoff.CheckFile(u.Name, u.Data)
	if err != nil {
		return nil, err
	}
	return &checked{name: name, contentType: ct, sha256: sum, data: u.Data}, nil
}

// insert stores the file on the item at path (and on comment, if not 0)
// and returns its id.
func (c *checked) insert(ctx context.Context, tx pgx.Tx, l *lockedDeployment, path string, comment int64, actor signoff.EventActor) (int64, error) {
	sum, _ := hex.DecodeString(c.sha256)
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO evidence_files (deployment_id, item_id, comment_id, name, content_type, size, sha256, data,
		                            uploaded_by, uploader_name, created_at)
		SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM deployment_items
		WHERE deployment_id = $1 AND path = $2
		RETURNING id`, l.ID, path, nullID(comment), c.name, c.contentType, len(c.data), sum, c.data,
		nullID(actor.ID), actor.Name, l.Now).Scan(&id)
	if err != nil {
		return 0, notFound(fmt.Errorf("file on item %s: %w", path, err), "Deployment %d has no item %s.", l.ID, path)
	}
	return id, nil
}

// AddFile attaches an evidence file to an item: one row, one item.file
// event carrying its SHA-256.
func (db *DB) AddFile(ctx context.Context, deploymentID int64, path string, u Upload, actor signoff.EventActor) (signoff.Event, error) {
	c, err := checkUpload(&u)
	if err != nil {
		return signoff.Event{}, err
	}
	return db.changeDeployment(ctx, deploymentID, "add file", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		id, err := c.insert(ctx, tx, l, path, 0, actor)
		if err != nil {
			return nil, err
		}
		return &deploymentChange{Change: signoff.NewChange(actor, signoff.ItemTarget(path), &signoff.ItemFileEvent{
			After: signoff.ItemFileAfter{ContentType: c.contentType, File: id, Name: c.name, SHA256: c.sha256, Size: int64(len(c.data))},
		})}, nil
	})
}

// AddCommentWithFile adds a remark to an item with a file attached to
// it: both rows and one item.comment event that names the file.
func (db *DB) AddCommentWithFile(ctx context.Context, deploymentID int64, path, body string, u Upload, actor signoff.EventActor) (signoff.Event, error) {
	c, err := checkUpload(&u)
	if err != nil {
		return signoff.Event{}, err
	}
	return db.addComment(ctx, deploymentID, path, body, c, actor)
}

// Files lists a deployment's evidence files (without their bytes), in
// the order they were added; only one item's when path is not empty.
func (db *DB) Files(ctx context.Context, deploymentID int64, path string) ([]signoff.EvidenceFile, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT f.id, f.deployment_id, i.path, coalesce(f.comment_id, 0), f.name, f.content_type, f.size, f.sha256,
		       coalesce(f.uploaded_by, 0), f.uploader_name, f.created_at,
		       CASE WHEN f.content_type LIKE 'text/%' OR f.content_type = 'application/json'
		            THEN substring(f.data FROM 1 FOR $3) END
		FROM evidence_files f
		JOIN deployment_items_all i ON i.deployment_id = f.deployment_id AND i.id = f.item_id
		WHERE f.deployment_id = $1 AND ($2 = '' OR i.path = $2)
		ORDER BY f.id`, deploymentID, path, signoff.MaxFilePreview)
	if err != nil {
		return nil, fmt.Errorf("files of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.EvidenceFile
	for rows.Next() {
		var f signoff.EvidenceFile
		var sum, preview []byte
		if err := rows.Scan(&f.ID, &f.DeploymentID, &f.ItemPath, &f.CommentID, &f.Name, &f.ContentType, &f.Size, &sum,
			&f.UploadedBy.ID, &f.UploadedBy.Name, &f.CreatedAt, &preview); err != nil {
			return nil, fmt.Errorf("files of deployment %d: %w", deploymentID, err)
		}
		f.Preview = strings.ToValidUTF8(string(preview), "")
		f.SHA256 = hex.EncodeToString(sum)
		out = append(out, f)
	}
	return out, rows.Err()
}

// File reads one evidence file of a deployment with its bytes.
func (db *DB) File(ctx context.Context, deploymentID, fileID int64) (*signoff.EvidenceFile, error) {
	f := signoff.EvidenceFile{ID: fileID, DeploymentID: deploymentID}
	var sum []byte
	err := db.pool.QueryRow(ctx, `
		SELECT i.path, coalesce(f.comment_id, 0), f.name, f.content_type, f.size, f.sha256,
		       coalesce(f.uploaded_by, 0), f.uploader_name, f.created_at, f.data
		FROM evidence_files f
		JOIN deployment_items_all i ON i.deployment_id = f.deployment_id AND i.id = f.item_id
		WHERE f.deployment_id = $1 AND f.id = $2`, deploymentID, fileID).Scan(
		&f.ItemPath, &f.CommentID, &f.Name, &f.ContentType, &f.Size, &sum,
		&f.UploadedBy.ID, &f.UploadedBy.Name, &f.CreatedAt, &f.Data)
	if err != nil {
		return nil, notFound(fmt.Errorf("file %d of deployment %d: %w", fileID, deploymentID, err), "Deployment %d has no file %d.", deploymentID, fileID)
	}
	f.SHA256 = hex.EncodeToString(sum)
	return &f, nil
}

// fileComment is the comment payload's description of the file sent
// with it, or nothing.
func (c *checked) describe(comment signoff.ItemCommentAfter, id int64) signoff.ItemCommentAfter {
	if c == nil {
		return comment
	}
	comment.ContentType, comment.File, comment.Name, comment.SHA256, comment.Size = c.contentType, id, c.name, c.sha256, int64(len(c.data))
	return comment
}
