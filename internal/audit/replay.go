package audit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// createAfter is what a deployment.create event records about the new
// deployment: its items (paths in document order) and note field names.
type createAfter struct {
	Items []string `json:"items"`
	Notes []string `json:"notes"`
}

// itemStateAfter is an item.state event's "after": the new state and, for
// an N/A on a parent, the leaves it changed.
type itemStateAfter struct {
	State    string   `json:"state"`
	NAReason string   `json:"na_reason"`
	Items    []string `json:"items"`
}

// noteAfter is a note.edit event's "after".
type noteAfter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// signAfter is what a signoff.sign event records about the signature.
type signAfter struct {
	Slot            int    `json:"slot"`
	Role            string `json:"role"`
	SignerID        int64  `json:"signer_id"`
	PrintedName     string `json:"printed_name"`
	Meaning         string `json:"meaning"`
	ChecklistSHA256 string `json:"checklist_sha256"`
	ChecklistRev    int64  `json:"checklist_rev"`
}

// replay rebuilds the checklist state a deployment's events describe: the
// item list and note fields from deployment.create, all items open and all
// notes empty, then every item.state and note.edit in seq order.
type replay struct {
	deploymentID int64
	items        []signoff.Item
	notes        []signoff.Note
	index        map[string]int
}

func newReplay(deploymentID int64, create *signoff.EventPayload) (*replay, error) {
	if create.Action != signoff.ActDeploymentCreate {
		return nil, fmt.Errorf("the first event is %s, not %s", create.Action, signoff.ActDeploymentCreate)
	}
	var a createAfter
	if err := json.Unmarshal(create.After, &a); err != nil {
		return nil, fmt.Errorf("the deployment.create event's item list is unreadable: %v", err)
	}
	r := &replay{deploymentID: deploymentID, index: make(map[string]int, len(a.Items))}
	for i, p := range a.Items {
		if _, dup := r.index[p]; dup {
			return nil, fmt.Errorf("the deployment.create event lists item %s twice", p)
		}
		r.index[p] = i
		r.items = append(r.items, signoff.Item{Path: p, State: signoff.ItemOpen})
	}
	for i, name := range a.Notes {
		r.notes = append(r.notes, signoff.Note{Position: i + 1, Name: name})
	}
	return r, nil
}

// apply changes the state by one event; events that do not touch items or
// notes change nothing.
func (r *replay) apply(p *signoff.EventPayload) error {
	switch p.Action {
	case signoff.ActItemState:
		var a itemStateAfter
		if err := json.Unmarshal(p.After, &a); err != nil {
			return fmt.Errorf("item.state payload unreadable: %v", err)
		}
		st := signoff.ItemState(a.State)
		if !st.Valid() {
			return fmt.Errorf("item.state to unknown state %q", a.State)
		}
		paths := a.Items
		if len(paths) == 0 {
			path, ok := strings.CutPrefix(p.Target, "item/")
			if !ok {
				return fmt.Errorf("item.state on %q, not an item", p.Target)
			}
			paths = []string{path}
		}
		for _, path := range paths {
			i, ok := r.index[path]
			if !ok {
				return fmt.Errorf("item.state on item %s, which the deployment does not have", path)
			}
			r.items[i].State, r.items[i].NAReason = st, a.NAReason
		}
	case signoff.ActNoteEdit:
		var a noteAfter
		if err := json.Unmarshal(p.After, &a); err != nil {
			return fmt.Errorf("note.edit payload unreadable: %v", err)
		}
		pos, err := strconv.Atoi(strings.TrimPrefix(p.Target, "note/"))
		if err != nil || pos < 1 || pos > len(r.notes) || !strings.HasPrefix(p.Target, "note/") {
			return fmt.Errorf("note.edit on %q, which the deployment does not have", p.Target)
		}
		r.notes[pos-1].Value = a.Value
	}
	return nil
}

// hash is the SHA-256 of the current state in signoff.Checklist's canonical
// format: what a signature given now would attest to.
func (r *replay) hash() [32]byte {
	return signoff.NewChecklist(nil, r.items, r.notes).StateHash(r.deploymentID)
}
