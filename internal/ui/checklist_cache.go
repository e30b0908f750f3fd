package ui

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// checklistCache keeps the checklists of recently viewed deployments, as
// read from the database, and their phases as rendered HTML: most of the
// deployment page's work, and the same for everyone until the next change.
//
// An entry belongs to one audit sequence number. Every change to a
// deployment bumps that number in the same transaction, and each request
// reads it afresh, so an entry is never used after a change, whichever
// instance made it: nothing needs invalidating, and old entries simply
// age out of the LRU. The rendering also depends on whether the viewer may
// edit (checkboxes or not), so it is kept per answer, and on the clock
// while timed items count down, so it is dropped when the next one falls
// due. Checklists are never modified once built, so entries are shared.
type checklistCache struct {
	mu      sync.Mutex
	max     int
	lru     *list.List // of *checklistEntry, most recently used first
	entries map[int64]*list.Element
}

type checklistEntry struct {
	deployment int64
	seq        int64
	cl         *signoff.Checklist
	// phases[1] is the rendering for viewers who may edit, phases[0] for
	// those who may not; "" until first needed. Valid before until (zero:
	// for ever).
	phases [2]string
	until  [2]time.Time
}

// checklistCacheSize bounds memory: an entry is about 0.5 MB for the
// 222-item seed (the checklist and two renderings).
const checklistCacheSize = 64

func newChecklistCache(max int) *checklistCache {
	return &checklistCache{max: max, lru: list.New(), entries: make(map[int64]*list.Element)}
}

// checklist returns the deployment's checklist at d's audit sequence, from
// the cache or read with load.
func (c *checklistCache) checklist(d *signoff.Deployment, load func() (*signoff.Checklist, error)) (*signoff.Checklist, error) {
	if e := c.get(d); e != nil {
		return e.cl, nil
	}
	cl, err := load()
	if err != nil {
		return nil, err
	}
	c.put(&checklistEntry{deployment: d.ID, seq: d.AuditSeq, cl: cl})
	return cl, nil
}

// phases returns v's phases as HTML, rendered once per checklist state and
// edit right.
func (c *checklistCache) phases(ctx context.Context, v *deploymentView) (string, error) {
	k := 0
	if v.CanEdit() {
		k = 1
	}
	c.mu.Lock()
	if el, ok := c.entries[v.D.ID]; ok {
		e := el.Value.(*checklistEntry)
		if e.seq == v.D.AuditSeq && e.cl == v.CL && e.phases[k] != "" && (e.until[k].IsZero() || v.Now.Before(e.until[k])) {
			c.mu.Unlock()
			return e.phases[k], nil
		}
	}
	c.mu.Unlock()

	var b strings.Builder
	b.Grow(384 << 10)
	for _, ph := range v.Phases() {
		if err := phaseBlock(v, ph).Render(ctx, &b); err != nil {
			return "", err
		}
	}
	html := b.String()

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[v.D.ID]; ok {
		if e := el.Value.(*checklistEntry); e.seq == v.D.AuditSeq && e.cl == v.CL {
			e.phases[k], e.until[k] = html, v.nextDue()
		}
	}
	return html, nil
}

func (c *checklistCache) get(d *signoff.Deployment) *checklistEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[d.ID]
	if !ok {
		return nil
	}
	e := el.Value.(*checklistEntry)
	if e.seq != d.AuditSeq {
		return nil
	}
	c.lru.MoveToFront(el)
	return e
}

func (c *checklistCache) put(e *checklistEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.deployment]; ok {
		// A slower request may bring an older state: keep the newer.
		if el.Value.(*checklistEntry).seq > e.seq {
			return
		}
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.deployment] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*checklistEntry)
		delete(c.entries, old.deployment)
	}
}

// nextDue is when the next open timed item falls due, after which the
// rendering (its overdue markers) is out of date; zero if none will.
func (v *deploymentView) nextDue() time.Time {
	if v.D.WentLiveAt == nil || v.D.Status != signoff.StatusLive {
		return time.Time{}
	}
	var next time.Time
	for i := range v.CL.Items {
		it := &v.CL.Items[i]
		if it.DueAfter == 0 {
			continue
		}
		due := v.D.WentLiveAt.Add(it.DueAfter)
		if !due.Before(v.Now) && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next
}
