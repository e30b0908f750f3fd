package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// TemplateSummary is a row of the template list.
type TemplateSummary struct {
	ID                 int64 // the template (not version) id
	Slug               string
	Title              string
	LatestVersion      int
	LatestVersionID    int64
	AllowMultipleSlots bool
	UpdatedAt          time.Time
	Deployments        int
}

var slugJunk = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify turns a title into a template slug.
func Slugify(title string) string {
	s := strings.Trim(slugJunk.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 80 {
		s = strings.TrimRight(s[:80], "-")
	}
	return s
}

// TemplateImport is a Markdown file to store as a template version, with
// what the person importing it decided.
type TemplateImport struct {
	Source   []byte
	FileName string // names the template when neither the file nor Name does
	// Name is the template's name as the importer chose it; "" takes the
	// file's own title (its # heading or front matter), else FileName's.
	Name string
	// Slug imports under this slug rather than one made from the name.
	Slug string
	// Expect is the latest version of the template that the importer saw
	// and means to follow: 0 for a new template (an existing one is a
	// conflict), N to add version N+1 to one at version N (one that moved
	// on meanwhile is a conflict), AnyVersion to create or add, whichever
	// fits.
	Expect int
}

// AnyVersion imports whether or not the template exists.
const AnyVersion = -1

// ImportTemplate stores Markdown under its title (or slug): a new
// template, or a new version of the one with that slug. An unchanged file
// returns the latest version as it is.
func (db *DB) ImportTemplate(ctx context.Context, src []byte, slug string, actor signoff.EventActor) (*signoff.Template, bool, error) {
	return db.SaveTemplate(ctx, TemplateImport{Source: src, Slug: slug, Expect: AnyVersion}, actor)
}

// SaveTemplate stores in one transaction, with one template.import event,
// a new template or a new version of one, as imp says. It reports whether
// it stored anything: the same bytes as the latest version store nothing.
func (db *DB) SaveTemplate(ctx context.Context, imp TemplateImport, actor signoff.EventActor) (*signoff.Template, bool, error) {
	r, err := checklist.Read(imp.Source, imp.FileName)
	if err != nil {
		return nil, false, err
	}
	t := r.Template
	if name := strings.Join(strings.Fields(imp.Name), " "); name != "" {
		t.Title = name
	}
	slug := imp.Slug
	if slug == "" {
		slug = Slugify(t.Title)
	}
	switch {
	case t.Title == "" && slug == "":
		return nil, false, signoff.Errorf(signoff.EINVALID, "The file has no title (a # heading or a front matter title): give the template a name.")
	case slug == "" || Slugify(slug) != slug:
		return nil, false, signoff.Errorf(signoff.EINVALID, "Template name %q must contain letters or digits.", orDefault(imp.Slug, t.Title))
	case len(t.Title) > 200:
		return nil, false, signoff.Errorf(signoff.EINVALID, "The template's name is over 200 characters.")
	}
	sum := sha256.Sum256(imp.Source)

	// The version to return: the new one, or the latest when the file is
	// the one it was made from (then nothing is recorded).
	var versionID int64
	var created bool
	_, err = db.changeSystem(ctx, "import template "+slug, func(tx pgx.Tx) (*signoff.Change, error) {
		// Imports take turns on the system chain (changeSystem), so the
		// first to make a new template commits it before the next looks.
		// Lock the template's row, if it exists, so that no other change
		// of it claims the same version.
		var templateID int64
		var title string
		var latest int
		var latestHash []byte
		var latestID *int64
		err := tx.QueryRow(ctx, `
			SELECT t.id, t.title, coalesce(v.version, 0), v.source_hash, v.id
			FROM templates t
			LEFT JOIN LATERAL (SELECT id, version, source_hash FROM template_versions
			                   WHERE template_id = t.id ORDER BY version DESC LIMIT 1) v ON true
			WHERE t.slug = $1
			FOR UPDATE OF t`, slug).Scan(&templateID, &title, &latest, &latestHash, &latestID)
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("import template %s: read latest: %w", slug, err)
		}
		if t.Title == "" {
			t.Title = orDefault(title, slug)
		}
		if latestID != nil && string(latestHash) == string(sum[:]) {
			versionID = *latestID
			return nil, nil // unchanged: rolled back, nothing recorded
		}
		if err := expectVersion(imp.Expect, exists, latest, title); err != nil {
			return nil, err
		}
		if exists {
			_, err = tx.Exec(ctx, `UPDATE templates SET title = $2 WHERE id = $1`, templateID, t.Title)
		} else {
			err = tx.QueryRow(ctx, `INSERT INTO templates (slug, title) VALUES ($1, $2) RETURNING id`, slug, t.Title).Scan(&templateID)
		}
		if isUniqueViolation(err, "") {
			return nil, signoff.Errorf(signoff.ECONFLICT, "A template named %q was created meanwhile: look at it before importing again.", slug)
		}
		if err != nil {
			return nil, fmt.Errorf("import template %s: %w", slug, err)
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO template_versions (template_id, version, source, source_hash, created_by)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id`, templateID, latest+1, string(imp.Source), sum[:], nullID(actor.ID)).Scan(&versionID)
		if err != nil {
			return nil, fmt.Errorf("import template %s version %d: %w", slug, latest+1, err)
		}
		created = true
		c := t.Counts()
		ch := signoff.NewChange(actor, signoff.TemplateTarget(slug), &signoff.TemplateImportEvent{
			After: signoff.TemplateImportAfter{Title: t.Title, Version: latest + 1, SHA256: fmt.Sprintf("%x", sum),
				Phases: c.Phases, Sections: c.Sections, Items: c.Items, Slots: c.Slots, Notes: c.Notes},
		})
		return &ch, nil
	})
	if err != nil {
		return nil, false, err
	}
	tmpl, err := db.TemplateVersion(ctx, versionID)
	return tmpl, created, err
}

// expectVersion checks that the template is where the importer saw it.
func expectVersion(expect int, exists bool, latest int, title string) error {
	switch {
	case expect == AnyVersion:
	case expect == 0 && exists:
		return signoff.Errorf(signoff.ECONFLICT, "A template named %q already exists (version %d): save the file as its version %d, or give it another name.", title, latest, latest+1)
	case expect > 0 && !exists:
		return signoff.Errorf(signoff.ENOTFOUND, "The template to add a version to no longer exists.")
	case expect > 0 && latest != expect:
		return signoff.Errorf(signoff.ECONFLICT, "%q changed meanwhile: it is at version %d now, not %d. Look at the new version before saving.", title, latest, expect)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// EnsureTemplate imports src under its title only if no template of that
// slug exists yet: how the built-in default arrives on a fresh database
// without overriding versions admins made since.
func (db *DB) EnsureTemplate(ctx context.Context, src []byte) error {
	t, err := checklist.Parse(src)
	if err != nil {
		return fmt.Errorf("parse built-in template: %w", err)
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM templates WHERE slug = $1)`, Slugify(t.Title)).Scan(&exists); err != nil {
		return fmt.Errorf("look for built-in template: %w", err)
	}
	if exists {
		return nil
	}
	_, _, err = db.ImportTemplate(ctx, src, "", signoff.EventActor{Name: "Signoff", Via: "system"})
	if signoff.ErrorCode(err) == signoff.ECONFLICT {
		return nil // another instance imported it at the same moment
	}
	return err
}

// TemplateVersion returns one template version, parsed, with its
// template's current settings.
func (db *DB) TemplateVersion(ctx context.Context, versionID int64) (*signoff.Template, error) {
	t, err := db.templateStructure(ctx, versionID)
	if err != nil {
		return nil, err
	}
	var allowMultiple bool
	var title string
	err = db.pool.QueryRow(ctx, `
		SELECT t.allow_multiple_slots, t.title FROM template_versions v
		JOIN templates t ON t.id = v.template_id
		WHERE v.id = $1`, versionID).Scan(&allowMultiple, &title)
	if err != nil {
		return nil, notFound(fmt.Errorf("template version %d: %w", versionID, err), "Template version %d not found.", versionID)
	}
	// A copy, so no caller ever writes to the shared cached value.
	c := *t
	c.AllowMultipleSlots, c.Title = allowMultiple, title
	return &c, nil
}

// templateStructure returns a version's parsed structure from the cache,
// reading and parsing it once. Versions are immutable, so the cache never
// needs invalidating and holds across app instances. The value is shared:
// callers must not modify it. It carries no template settings.
func (db *DB) templateStructure(ctx context.Context, versionID int64) (*signoff.Template, error) {
	if t, ok := db.templates.Load(versionID); ok {
		return t.(*signoff.Template), nil
	}
	var src, slug, title, createdBy string
	var version int
	var createdAt time.Time
	err := db.pool.QueryRow(ctx, `
		SELECT v.source, t.slug, t.title, v.version, v.created_at, coalesce(u.name, 'Signoff')
		FROM template_versions v
		JOIN templates t ON t.id = v.template_id
		LEFT JOIN users u ON u.id = v.created_by
		WHERE v.id = $1`, versionID).Scan(&src, &slug, &title, &version, &createdAt, &createdBy)
	if err != nil {
		return nil, notFound(fmt.Errorf("template version %d: %w", versionID, err), "Template version %d not found.", versionID)
	}
	t, err := checklist.Parse([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("parse stored template version %d: %w", versionID, err)
	}
	// The title is the template's, as its latest import named it: a
	// file need not name itself.
	t.ID, t.Slug, t.Title, t.Version, t.CreatedAt, t.CreatedBy = versionID, slug, title, version, createdAt, createdBy
	db.templates.Store(versionID, t)
	return t, nil
}

// TemplateStructure is a version's phases, sections, slots and fields
// without its template's settings: what pages need, with no query once
// cached. The value is shared and must not be modified.
func (db *DB) TemplateStructure(ctx context.Context, versionID int64) (*signoff.Template, error) {
	return db.templateStructure(ctx, versionID)
}

// LatestTemplate returns the newest version of the template with the slug
// (or, failing that, the title).
func (db *DB) LatestTemplate(ctx context.Context, slugOrTitle string) (*signoff.Template, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `
		SELECT v.id FROM templates t
		JOIN template_versions v ON v.template_id = t.id
		WHERE t.slug = $1 OR lower(t.title) = lower($1)
		ORDER BY (t.slug = $1) DESC, v.version DESC
		LIMIT 1`, strings.TrimSpace(slugOrTitle)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.Errorf(signoff.ENOTFOUND, "No template is named %q.", slugOrTitle)
	}
	if err != nil {
		return nil, fmt.Errorf("find template %q: %w", slugOrTitle, err)
	}
	return db.TemplateVersion(ctx, id)
}

// TemplateSource returns the Markdown a version was imported from.
func (db *DB) TemplateSource(ctx context.Context, versionID int64) (string, error) {
	var src string
	err := db.pool.QueryRow(ctx, `SELECT source FROM template_versions WHERE id = $1`, versionID).Scan(&src)
	if err != nil {
		return "", notFound(fmt.Errorf("template version %d source: %w", versionID, err), "Template version %d not found.", versionID)
	}
	return src, nil
}

// Templates lists every template with its newest version.
func (db *DB) Templates(ctx context.Context) ([]TemplateSummary, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT t.id, t.slug, t.title, v.version, v.id, t.allow_multiple_slots, v.created_at,
		       (SELECT count(*) FROM deployments d
		        JOIN template_versions tv ON tv.id = d.template_version_id
		        WHERE tv.template_id = t.id)
		FROM templates t
		JOIN LATERAL (
		    SELECT id, version, created_at FROM template_versions
		    WHERE template_id = t.id ORDER BY version DESC LIMIT 1
		) v ON true
		ORDER BY lower(t.title)`)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TemplateSummary, error) {
		var s TemplateSummary
		err := r.Scan(&s.ID, &s.Slug, &s.Title, &s.LatestVersion, &s.LatestVersionID, &s.AllowMultipleSlots, &s.UpdatedAt, &s.Deployments)
		return s, err
	})
}

// SetAllowMultipleSlots changes whether one person may sign several slots
// of deployments of a template.
func (db *DB) SetAllowMultipleSlots(ctx context.Context, slug string, allow bool, actor signoff.EventActor) error {
	_, err := db.changeSystem(ctx, "template settings", func(tx pgx.Tx) (*signoff.Change, error) {
		var before bool
		err := tx.QueryRow(ctx, `
			UPDATE templates t SET allow_multiple_slots = $2
			FROM templates old WHERE t.id = old.id AND t.slug = $1
			RETURNING old.allow_multiple_slots`, slug, allow).Scan(&before)
		if err != nil {
			return nil, notFound(fmt.Errorf("template %s settings: %w", slug, err), "No template is named %q.", slug)
		}
		ch := signoff.NewChange(actor, signoff.TemplateTarget(slug), &signoff.TemplateSettingsEvent{
			Before: signoff.TemplateSettings{AllowMultipleSlots: before}, After: signoff.TemplateSettings{AllowMultipleSlots: allow}})
		return &ch, nil
	})
	return err
}
