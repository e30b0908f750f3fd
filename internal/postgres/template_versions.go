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

// TemplateVersionSummary is a row of a template's version list.
type TemplateVersionSummary struct {
	ID          int64
	Version     int
	CreatedAt   time.Time
	CreatedBy   string
	SHA256      []byte
	Bytes       int
	Deployments int
}

// TemplateVersions lists a template's versions, newest first.
func (db *DB) TemplateVersions(ctx context.Context, slug string) ([]TemplateVersionSummary, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT v.id, v.version, v.created_at, coalesce(u.name, 'Signoff'), v.source_hash, octet_length(v.source),
		       (SELECT count(*) FROM deployments d WHERE d.template_version_id = v.id)
		FROM templates t
		JOIN template_versions v ON v.template_id = t.id
		LEFT JOIN users u ON u.id = v.created_by
		WHERE t.slug = $1
		ORDER BY v.version DESC`, slug)
	if err != nil {
		return nil, fmt.Errorf("template %s versions: %w", slug, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TemplateVersionSummary, error) {
		var s TemplateVersionSummary
		err := r.Scan(&s.ID, &s.Version, &s.CreatedAt, &s.CreatedBy, &s.SHA256, &s.Bytes, &s.Deployments)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("template %s versions: %w", slug, err)
	}
	if len(list) == 0 {
		return nil, signoff.Errorf(signoff.ENOTFOUND, "No template is named %q.", slug)
	}
	return list, nil
}

// TemplateAt returns one version of the template with the slug.
func (db *DB) TemplateAt(ctx context.Context, slug string, version int) (*signoff.Template, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `
		SELECT v.id FROM templates t JOIN template_versions v ON v.template_id = t.id
		WHERE t.slug = $1 AND v.version = $2`, slug, version).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.Errorf(signoff.ENOTFOUND, "Template %q has no version %d.", slug, version)
	}
	if err != nil {
		return nil, fmt.Errorf("template %s version %d: %w", slug, version, err)
	}
	return db.TemplateVersion(ctx, id)
}

// TemplateBySlug returns the template with the slug as the list shows it,
// or an ENOTFOUND error: what an import checks before it asks whether to
// add a version.
func (db *DB) TemplateBySlug(ctx context.Context, slug string) (*TemplateSummary, error) {
	var s TemplateSummary
	err := db.pool.QueryRow(ctx, `
		SELECT t.id, t.slug, t.title, v.version, v.id, t.allow_multiple_slots, v.created_at,
		       (SELECT count(*) FROM deployments d
		        JOIN template_versions tv ON tv.id = d.template_version_id
		        WHERE tv.template_id = t.id)
		FROM templates t
		JOIN LATERAL (
		    SELECT id, version, created_at FROM template_versions
		    WHERE template_id = t.id ORDER BY version DESC LIMIT 1
		) v ON true
		WHERE t.slug = $1`, slug).Scan(&s.ID, &s.Slug, &s.Title, &s.LatestVersion, &s.LatestVersionID,
		&s.AllowMultipleSlots, &s.UpdatedAt, &s.Deployments)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.Errorf(signoff.ENOTFOUND, "No template is named %q.", slug)
	}
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", slug, err)
	}
	return &s, nil
}

// CreateRoles adds roles to the catalog in one transaction, one
// role.create event each: the roles a template's sign-off slots name
// that do not exist yet. It returns the roles it made; a name that
// exists already is skipped.
func (db *DB) CreateRoles(ctx context.Context, names []string, actor signoff.EventActor) ([]signoff.Role, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("create roles: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := lockSystemChain(ctx, tx, "create roles"); err != nil {
		return nil, err
	}
	var made []signoff.Role
	for _, name := range names {
		name = strings.TrimSpace(name)
		if err := signoff.ValidateText("Role name", name, 1, 100); err != nil {
			return nil, err
		}
		r := signoff.Role{Name: name}
		err := tx.QueryRow(ctx, `INSERT INTO roles (name) VALUES ($1) ON CONFLICT (lower(name)) DO NOTHING RETURNING id`, name).Scan(&r.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create role %q: %w", name, err)
		}
		if _, err := db.appendSystemEvent(ctx, tx, signoff.NewChange(actor, signoff.RoleTarget(r.ID),
			&signoff.RoleCreateEvent{After: signoff.RoleCreateAfter{Name: name}})); err != nil {
			return nil, err
		}
		made = append(made, r)
	}
	return made, tx.Commit(ctx)
}
