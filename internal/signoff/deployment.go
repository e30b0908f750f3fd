package signoff

import (
	"strings"
	"time"
)

// Status is where a deployment is in its life.
type Status string

const (
	StatusDraft      Status = "draft"
	StatusInProgress Status = "in_progress"
	StatusLive       Status = "live"
	StatusCompleted  Status = "completed"
	StatusAborted    Status = "aborted"
)

// Statuses lists every status in life order.
var Statuses = []Status{StatusDraft, StatusInProgress, StatusLive, StatusCompleted, StatusAborted}

// Label is the status as people read it.
func (s Status) Label() string {
	switch s {
	case StatusDraft:
		return "Draft"
	case StatusInProgress:
		return "In progress"
	case StatusLive:
		return "Live"
	case StatusCompleted:
		return "Completed"
	case StatusAborted:
		return "Aborted"
	}
	return string(s)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Deployment is one run of a template version for a service, environment and
// version.
type Deployment struct {
	ID                int64
	TemplateVersionID int64
	TemplateSlug      string
	TemplateTitle     string
	TemplateVersion   int
	Service           string
	Environment       string
	Version           string
	PlannedAt         *time.Time
	Status            Status
	WentLiveAt        *time.Time
	CompletedAt       *time.Time
	AbortedAt         *time.Time
	AbortedBy         *UserRef // who aborted it (nil before migration 0017 knew)
	AbortReason       string
	LockedAt          *time.Time
	CreatedBy         UserRef
	CreatedAt         time.Time
	UpdatedAt         time.Time
	ChecklistRev      int64
	AuditSeq          int64

	// Filled by list queries.
	Progress Progress
	Signed   int // standing, fresh signatures
	Stale    int // standing signatures the checklist changed under
	Slots    int
	Overdue  int
}

// Name is the deployment's human label, "voxflow-api v2.4.0 → production".
func (d *Deployment) Name() string {
	return d.Service + " " + d.Version + " → " + d.Environment
}

// Locked reports whether the final approval has made the deployment read-only.
func (d *Deployment) Locked() bool { return d.LockedAt != nil }

// LiveSince is when the deployment went live while it is live, else nil:
// timed items count as overdue only then.
func (d *Deployment) LiveSince() *time.Time {
	if d.Status != StatusLive {
		return nil
	}
	return d.WentLiveAt
}

// Writable returns an error when the deployment may no longer change.
func (d *Deployment) Writable() error {
	switch {
	case d.Locked():
		return Errorf(ELOCKED, "This deployment was signed off and locked; it can no longer change.")
	case d.Status == StatusAborted:
		return Errorf(ECONFLICT, "This deployment was aborted; it can no longer change.")
	}
	return nil
}

// UserRef names a user in a record.
type UserRef struct {
	ID   int64
	Name string
}

// NewDeployment is what it takes to start a deployment.
type NewDeployment struct {
	TemplateSlug string // empty means the built-in default template
	Service      string
	Environment  string
	Version      string
	PlannedAt    *time.Time
}

// Validate trims and checks the fields.
func (n *NewDeployment) Validate() error {
	n.Service = strings.TrimSpace(n.Service)
	n.Environment = strings.TrimSpace(n.Environment)
	n.Version = strings.TrimSpace(n.Version)
	if err := ValidateText("Service", n.Service, 1, 100); err != nil {
		return err
	}
	if err := ValidateText("Environment", n.Environment, 1, 50); err != nil {
		return err
	}
	return ValidateText("Version", n.Version, 1, 100)
}

// DeploymentFilter narrows the deployment list.
type DeploymentFilter struct {
	Status      Status
	Service     string
	Environment string
	Signer      string
	From, To    *time.Time // created in [From, To)
	Limit       int
	Offset      int
}

// Progress counts a checklist's items by state. Parents count as resolved
// when all their children are.
type Progress struct {
	Total   int
	Done    int
	NA      int
	Overdue int // open timed tasks past their due time (live deployments)
}

// Resolved is the number of items done or N/A.
func (p Progress) Resolved() int { return p.Done + p.NA }

// Open counts the tasks neither done nor N/A.
func (p Progress) Open() int { return p.Total - p.Resolved() }

// Percent is the share resolved, 0 to 100, rounded down so 100 means all.
func (p Progress) Percent() int {
	if p.Total == 0 {
		return 0
	}
	return p.Resolved() * 100 / p.Total
}

// Complete reports whether every item is resolved.
func (p Progress) Complete() bool { return p.Total > 0 && p.Resolved() == p.Total }

// CanMoveTo checks a status change people ask for. Completion is not among
// them: the final approval completes a deployment.
func (d *Deployment) CanMoveTo(to Status) error {
	if err := d.Writable(); err != nil {
		return err
	}
	allowed := map[Status][]Status{
		StatusDraft:      {StatusInProgress, StatusLive, StatusAborted},
		StatusInProgress: {StatusLive, StatusAborted},
		StatusLive:       {StatusAborted},
	}
	for _, s := range allowed[d.Status] {
		if s == to {
			return nil
		}
	}
	if to == StatusCompleted {
		return Errorf(ECONFLICT, "A deployment is completed by its final approval sign-off.")
	}
	return Errorf(ECONFLICT, "A %s deployment cannot move to %s.", d.Status.Label(), to.Label())
}
