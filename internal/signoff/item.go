package signoff

import (
	"strings"
	"time"
)

// ItemState is what has been done about one checklist item.
type ItemState string

const (
	ItemOpen ItemState = "open"
	ItemDone ItemState = "done"
	ItemNA   ItemState = "na"
)

// Valid reports whether s is a known item state.
func (s ItemState) Valid() bool { return s == ItemOpen || s == ItemDone || s == ItemNA }

// Item is one checklist item of a deployment: a snapshot of the template
// version's item plus what the team has done about it.
type Item struct {
	ID          int64
	Path        string // "phase.section.item[.child[.grandchild]]", stable for the API
	ParentPath  string
	Position    int
	Phase       int
	Section     int
	Level       int
	Text        string
	Conditional bool
	HasChildren bool
	DueAfter    time.Duration

	State    ItemState
	NAReason string
	StateBy  *UserRef
	StateAt  *time.Time
	Evidence string
	Assignee *Assignee // nil: nobody in particular

	CommentCount int
	FileCount    int
}

// Assignee is who an item is assigned to: a person or a role.
type Assignee struct {
	User int64 // a person's id, or 0
	Role int64 // a role's id, or 0
	Name string
}

// Title is the item's bold lead text (or all of it without one).
func (it *Item) Title() string { t, _ := SplitItemText(it.Text); return t }

// Detail is the item's text after its bold lead.
func (it *Item) Detail() string { _, d := SplitItemText(it.Text); return d }

// MaxReasonLen bounds N/A reasons, comments and evidence so a page stays a page.
const (
	MaxReasonLen   = 1000
	MaxCommentLen  = 4000
	MaxNoteLen     = 10000
	MaxEvidenceLen = 20000
)

// ItemChange is one requested change to an item's state.
type ItemChange struct {
	Path     string
	State    ItemState
	NAReason string
}

// Validate checks the change on its own: N/A needs a reason.
func (c *ItemChange) Validate() error {
	c.NAReason = strings.TrimSpace(c.NAReason)
	if !c.State.Valid() {
		return Errorf(EINVALID, "State must be open, done or na.")
	}
	if c.State == ItemNA {
		if err := ValidateText("N/A reason", c.NAReason, 1, MaxReasonLen); err != nil {
			if c.NAReason == "" {
				return Errorf(EINVALID, "Marking an item N/A needs a reason.")
			}
			return err
		}
	} else {
		c.NAReason = ""
	}
	return nil
}

// ItemUpdate is one change to an item's state as the store wrote it, with
// what showing it needs, read just after it committed: the deployment, the
// item's top-level block (the top item and everything below it, so the
// item's ancestors and descendants), progress by section and the sign-off
// slots.
type ItemUpdate struct {
	Event      Event // zero when the item already had that state: nothing was recorded
	Deployment *Deployment
	Block      []Item
	Progress   SectionProgress
	Slots      []Slot
	// Unread is why the reads failed after the change committed: the
	// change stands (Event), but nothing else was read. Nil normally.
	Unread error
}

// Changed reports whether the change was recorded (asking for the state an
// item already has records nothing).
func (u *ItemUpdate) Changed() bool { return u.Event.Seq > 0 }

// Comment is a remark on an item.
type Comment struct {
	ID        int64
	ItemID    int64
	ItemPath  string
	Author    UserRef
	Body      string
	CreatedAt time.Time
}

// Note is one of a deployment's note fields ("Issues Encountered").
type Note struct {
	Position  int
	Name      string
	Long      bool
	Value     string
	UpdatedBy *UserRef
	UpdatedAt *time.Time
}

// TopPath is the path of the level-1 item that holds path ("2.4.1" for
// "2.4.1.3.1"): the block a change re-renders, since parents' states
// follow their children.
func TopPath(path string) string {
	parts := strings.SplitN(path, ".", 4)
	if len(parts) < 3 {
		return path
	}
	return strings.Join(parts[:3], ".")
}
