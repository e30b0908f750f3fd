package signoff

import (
	"fmt"
	"strconv"
	"strings"
)

// TargetKind is what an event changed: the first part of its target.
type TargetKind string

const (
	TargetDeployment TargetKind = "deployment" // deployment/<id>
	TargetItem       TargetKind = "item"       // item/<path>, such as item/2.4.1.3
	TargetSection    TargetKind = "section"    // section/<phase.section>, such as section/2.4
	TargetNote       TargetKind = "note"       // note/<position>, 1-based
	TargetSlot       TargetKind = "slot"       // slot/<position>, 1-based
	TargetUser       TargetKind = "user"       // user/<id>
	TargetRole       TargetKind = "role"       // role/<id>
	TargetToken      TargetKind = "token"      // token/<id>
	TargetWebhook    TargetKind = "webhook"    // webhook/<id>
	TargetTemplate   TargetKind = "template"   // template/<slug>
)

// Target is what an event changed, as its payload's "target" names it.
// Readers take its parts from here rather than cutting the string.
type Target struct {
	Kind TargetKind
	// ID is the number after the kind: a deployment's, person's, role's,
	// token's or webhook's id, or a note's or slot's position.
	ID   int64
	Path string // an item's path
	Slug string // a template's slug
}

// DeploymentTarget names a deployment.
func DeploymentTarget(id int64) Target { return Target{Kind: TargetDeployment, ID: id} }

// ItemTarget names an item by its path.
func ItemTarget(path string) Target { return Target{Kind: TargetItem, Path: path} }

// SectionTarget names a section by its path, "phase.section".
func SectionTarget(path string) Target { return Target{Kind: TargetSection, Path: path} }

// NoteTarget names a note field by its position.
func NoteTarget(position int) Target { return Target{Kind: TargetNote, ID: int64(position)} }

// SlotTarget names a sign-off slot by its position.
func SlotTarget(position int) Target { return Target{Kind: TargetSlot, ID: int64(position)} }

// UserTarget names a person.
func UserTarget(id int64) Target { return Target{Kind: TargetUser, ID: id} }

// RoleTarget names a role.
func RoleTarget(id int64) Target { return Target{Kind: TargetRole, ID: id} }

// TokenTarget names an API token.
func TokenTarget(id int64) Target { return Target{Kind: TargetToken, ID: id} }

// WebhookTarget names a webhook.
func WebhookTarget(id int64) Target { return Target{Kind: TargetWebhook, ID: id} }

// TemplateTarget names a template by its slug.
func TemplateTarget(slug string) Target { return Target{Kind: TargetTemplate, Slug: slug} }

// String is the target as payloads write it.
func (t Target) String() string {
	switch t.Kind {
	case TargetItem, TargetSection:
		return string(t.Kind) + "/" + t.Path
	case TargetTemplate:
		return string(t.Kind) + "/" + t.Slug
	}
	return string(t.Kind) + "/" + strconv.FormatInt(t.ID, 10)
}

// Position is a note's or slot's position.
func (t Target) Position() int { return int(t.ID) }

// Section is the phase and section numbers of an item target ("2.4" of
// item/2.4.1.3).
func (t Target) Section() (phase, section int) {
	parts := strings.SplitN(t.Path, ".", 3)
	if len(parts) < 3 {
		return 0, 0
	}
	phase, _ = strconv.Atoi(parts[0])
	section, _ = strconv.Atoi(parts[1])
	return phase, section
}

// ParseTarget reads a payload's target. It accepts only what String
// writes: a known kind, a positive number without leading zeros or sign,
// an item path of three to five such numbers ("phase.section.item", then
// up to two levels of sub-items), a non-empty slug without a slash.
func ParseTarget(s string) (Target, error) {
	kind, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Target{}, fmt.Errorf("target %q is not kind/name", s)
	}
	t := Target{Kind: TargetKind(kind)}
	var err error
	switch t.Kind {
	case TargetItem:
		t.Path, err = rest, checkItemPath(rest)
	case TargetSection:
		t.Path, err = rest, checkSectionPath(rest)
	case TargetTemplate:
		t.Slug = rest
		if rest == "" || strings.Contains(rest, "/") {
			err = fmt.Errorf("%q is not a template slug", rest)
		}
	case TargetDeployment, TargetNote, TargetSlot, TargetUser, TargetRole, TargetToken, TargetWebhook:
		t.ID, err = positive(rest)
	default:
		return Target{}, fmt.Errorf("target %q: unknown kind %q", s, kind)
	}
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	return t, nil
}

// checkItemPath accepts "phase.section.item[.child[.grandchild]]".
func checkItemPath(path string) error {
	parts := strings.Split(path, ".")
	if len(parts) < 3 || len(parts) > 5 {
		return fmt.Errorf("item path %q has %d parts, not 3 to 5", path, len(parts))
	}
	for _, p := range parts {
		if _, err := positive(p); err != nil {
			return fmt.Errorf("item path %q: %w", path, err)
		}
	}
	return nil
}

// positive reads a number as strconv writes a positive one.
func positive(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q is not a positive number", s)
	}
	return n, nil
}

// checkSectionPath accepts "phase.section".
func checkSectionPath(path string) error {
	phase, section, ok := strings.Cut(path, ".")
	if !ok {
		return fmt.Errorf("section path %q is not phase.section", path)
	}
	for _, p := range []string{phase, section} {
		if _, err := positive(p); err != nil {
			return fmt.Errorf("section path %q: %w", path, err)
		}
	}
	return nil
}
