package signoff

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Checklist is a deployment's items and notes with its template: everything a
// page, an export or a signature needs to describe the checklist's state.
type Checklist struct {
	Template *Template
	Items    []Item // in document order
	Notes    []Note

	children map[string][]int // parent path -> indexes of children
	index    map[string]int   // path -> index
}

// NewChecklist indexes items (which must be in document order).
func NewChecklist(t *Template, items []Item, notes []Note) *Checklist {
	c := &Checklist{Template: t, Items: items, Notes: notes,
		children: make(map[string][]int), index: make(map[string]int, len(items))}
	for i := range items {
		c.index[items[i].Path] = i
		if p := items[i].ParentPath; p != "" {
			c.children[p] = append(c.children[p], i)
		}
	}
	return c
}

// Item returns the item at path, or nil.
func (c *Checklist) Item(path string) *Item {
	if i, ok := c.index[path]; ok {
		return &c.Items[i]
	}
	return nil
}

// Children returns the direct children of the item at path.
func (c *Checklist) Children(path string) []*Item {
	var out []*Item
	for _, i := range c.children[path] {
		out = append(out, &c.Items[i])
	}
	return out
}

// Ancestors returns the item's parent, then its parent's parent, up to
// the top level.
func (c *Checklist) Ancestors(it *Item) []*Item {
	var out []*Item
	for a := c.Item(it.ParentPath); a != nil; a = c.Item(a.ParentPath) {
		out = append(out, a)
	}
	return out
}

// Descendants returns every item below path, in document order.
func (c *Checklist) Descendants(path string) []*Item {
	var out []*Item
	for _, ch := range c.Children(path) {
		out = append(out, ch)
		out = append(out, c.Descendants(ch.Path)...)
	}
	return out
}

// Effective is an item's state as people count it: a leaf's own state; for
// a parent, done when all its children are resolved (N/A when all are N/A),
// otherwise open.
func (c *Checklist) Effective(it *Item) ItemState {
	if !it.HasChildren {
		return it.State
	}
	allNA := true
	for _, ch := range c.Children(it.Path) {
		switch c.Effective(ch) {
		case ItemOpen:
			return ItemOpen
		case ItemDone:
			allNA = false
		}
	}
	if allNA {
		return ItemNA
	}
	return ItemDone
}

// Progress counts the tasks in scope (all when phase is 0, else one phase;
// one section when section is non-zero too). Only leaves count: a parent is
// a heading for its children, and its state follows from theirs.
func (c *Checklist) Progress(phase, section int) Progress {
	var p Progress
	for i := range c.Items {
		it := &c.Items[i]
		if it.HasChildren || phase != 0 && it.Phase != phase || section != 0 && it.Section != section {
			continue
		}
		p.Total++
		switch it.State {
		case ItemDone:
			p.Done++
		case ItemNA:
			p.NA++
		}
	}
	return p
}

// ProgressAbove counts the tasks among the first n items in document
// order: what a gate standing below them attests to.
func (c *Checklist) ProgressAbove(n int) Progress {
	var p Progress
	for i := range c.Items[:min(n, len(c.Items))] {
		it := &c.Items[i]
		if it.HasChildren {
			continue
		}
		p.Total++
		switch it.State {
		case ItemDone:
			p.Done++
		case ItemNA:
			p.NA++
		}
	}
	return p
}

// Overdue lists open tasks (leaves) whose due time (go-live plus the section's window)
// has passed at now.
func (c *Checklist) Overdue(wentLive *time.Time, now time.Time) []*Item {
	if wentLive == nil {
		return nil
	}
	var out []*Item
	for i := range c.Items {
		it := &c.Items[i]
		if !it.HasChildren && it.DueAfter > 0 && it.State == ItemOpen && now.After(wentLive.Add(it.DueAfter)) {
			out = append(out, it)
		}
	}
	return out
}

// StateHash is the SHA-256 of the checklist's canonical state (see
// CanonicalState). A signature binds to it.
func (c *Checklist) StateHash(deploymentID int64) [32]byte {
	return sha256.Sum256(c.CanonicalState(deploymentID))
}

// CanonicalState serialises the state a signature attests to: every item's
// path, state and N/A reason, and every note's value, in document order. The
// format is line-based with length-prefixed free text so that anyone can
// re-implement it from the README:
//
//	signoff-checklist/v1 deployment=<id>\n
//	item <path> <state> <len>:<na reason>\n      (one per item)
//	note <position> <len>:<value>\n              (one per note field)
//
// where <len> is the byte length of the UTF-8 text that follows the colon.
func (c *Checklist) CanonicalState(deploymentID int64) []byte {
	var b strings.Builder
	b.Grow(64 * len(c.Items))
	fmt.Fprintf(&b, "signoff-checklist/v1 deployment=%d\n", deploymentID)
	for i := range c.Items {
		it := &c.Items[i]
		b.WriteString("item ")
		b.WriteString(it.Path)
		b.WriteByte(' ')
		b.WriteString(string(it.State))
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(len(it.NAReason)))
		b.WriteByte(':')
		b.WriteString(it.NAReason)
		b.WriteByte('\n')
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note %d %d:%s\n", n.Position, len(n.Value), n.Value)
	}
	return []byte(b.String())
}
