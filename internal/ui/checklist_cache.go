package ui

import (
	"bytes"
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// checklistCache keeps the checklists of recently viewed deployments, as
// read from the database with their sign-off slots, their progress, and
// the page body that shows them (deploymentBody: the phase navigator, the
// summary, the phases, the note fields) rendered and compressed: most of
// the deployment page's work, and the same for everyone until the next
// change.
//
// Every entry is keyed by all that its content depends on. A checklist
// depends on its deployment's audit sequence number: every change to a
// deployment bumps it in the same transaction, and each request reads it
// afresh, so an entry is never used after a change, whichever instance
// made it; nothing needs invalidating, and old entries age out of the LRU.
// The rendering depends besides on whether the viewer may edit
// (checkboxes or not), on which due times have passed (overdue markers)
// and on ?hide=done. Checklists are never modified once built, so entries are
// shared.
type checklistCache struct {
	mu      sync.Mutex
	max     int
	lru     *list.List // of *checklistEntry, most recently used first
	entries map[int64]*list.Element

	recompressing chan struct{} // a semaphore of one
}

// checklistKey names one state of one deployment's checklist.
type checklistKey struct {
	deployment int64
	seq        int64 // the deployment's audit sequence number
}

// phasesKey names everything the rendered phases depend on.
type phasesKey struct {
	checklistKey
	editable bool // forms and checkboxes, or a read-only list
	// overdueAsOf is the latest due time passed while the deployment is
	// live (zero: none): it decides which open timed items show overdue.
	overdueAsOf time.Time
	hideDone    bool // the page asked to hide resolved items (?hide=done)
}

type checklistEntry struct {
	key   checklistKey
	cl    *signoff.Checklist
	slots []signoff.Slot // the sign-off slots, read with the checklist
	// progress is the checklist's, by the latest due time passed (see
	// phasesKey.overdueAsOf): the overdue counts depend on nothing else.
	progress map[time.Time]signoff.SectionProgress
	phases   map[phasesKey]*gzSegment
}

// checklistCacheSize bounds memory: an entry is the checklist as read and
// its renderings, kept compressed (some 20 KB each for the 222-item seed,
// instead of over 200 KB of HTML).
const checklistCacheSize = 64

// maxRenderings bounds the renderings kept for one checklist state: two
// edit rights, and a due time or two passing.
const maxRenderings = 4

func newChecklistCache(max int) *checklistCache {
	return &checklistCache{max: max, lru: list.New(), entries: make(map[int64]*list.Element), recompressing: make(chan struct{}, 1)}
}

func keyOf(d *signoff.Deployment) checklistKey {
	return checklistKey{deployment: d.ID, seq: d.AuditSeq}
}

// view returns the page's view of d as user sees it at now: its
// checklist and sign-off slots at d's audit sequence, from the cache or
// read with load, and their progress, counted once per due time passed.
func (c *checklistCache) view(d *signoff.Deployment, user *signoff.User, now time.Time,
	load func() (*signoff.Checklist, []signoff.Slot, error)) (*deploymentView, error) {
	k := keyOf(d)
	c.mu.Lock()
	e := c.get(k)
	c.mu.Unlock()
	if e == nil {
		cl, slots, err := load()
		if err != nil {
			return nil, err
		}
		e = &checklistEntry{key: k, cl: cl, slots: slots,
			progress: map[time.Time]signoff.SectionProgress{}, phases: map[phasesKey]*gzSegment{}}
		c.mu.Lock()
		c.put(e)
		c.mu.Unlock()
	}
	v := &deploymentView{D: d, CL: e.cl, Slots: e.slots, User: user, Now: now}
	asOf := v.overdueAsOf()
	c.mu.Lock()
	p, ok := e.progress[asOf]
	c.mu.Unlock()
	if !ok {
		p = e.cl.SectionProgress(d.LiveSince(), now)
		c.mu.Lock()
		if len(e.progress) >= maxRenderings {
			clear(e.progress)
		}
		e.progress[asOf] = p
		c.mu.Unlock()
	}
	v.Progress = p
	return v, nil
}

// body returns v's page body (deploymentBody: the phase navigator and
// the checklist) as compressed HTML, rendered and compressed once per
// phasesKey. v.CL must be the checklist this cache gave for v.D.
func (c *checklistCache) body(ctx context.Context, v *deploymentView) (*gzSegment, error) {
	k := phasesKey{checklistKey: keyOf(v.D), editable: v.CanEdit(), overdueAsOf: v.overdueAsOf(), hideDone: v.HideDone}
	c.mu.Lock()
	if e := c.get(k.checklistKey); e != nil && e.cl == v.CL {
		if seg, ok := e.phases[k]; ok {
			c.mu.Unlock()
			if seg.level < maxSegmentLevel && seg.hits.Add(1) == recompressAfter {
				c.recompress(k, v.CL, seg)
			}
			return seg, nil
		}
	}
	c.mu.Unlock()

	html, err := renderBody(ctx, v)
	if err != nil {
		return nil, err
	}
	seg, err := newGzSegment(html.Bytes(), segmentLevel)
	putRenderBuffer(html)
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.get(k.checklistKey); e != nil && e.cl == v.CL {
		if len(e.phases) >= maxRenderings {
			clear(e.phases)
		}
		e.phases[k] = seg
	}
	return seg, nil
}

// renderBody renders v's page body into a render buffer the caller gives
// back with putRenderBuffer.
func renderBody(ctx context.Context, v *deploymentView) (*bytes.Buffer, error) {
	b := renderBuffers.Get().(*bytes.Buffer)
	b.Reset()
	if err := deploymentBody(v).Render(ctx, b); err != nil {
		putRenderBuffer(b)
		return nil, err
	}
	return b, nil
}

// recompressAfter is how many views of one rendering make it worth
// compressing harder: a page viewed once after a change is compressed
// fast; one a crowd reloads is compressed again at the best ratio, in the
// background, which also halves the time each reader spends inflating it
// (fewer, longer matches).
const recompressAfter = 3

// recompress replaces seg, k's rendering of cl, with the same HTML
// compressed at maxSegmentLevel. One at a time: a busy moment leaves the
// rest at the fast level until their next views.
func (c *checklistCache) recompress(k phasesKey, cl *signoff.Checklist, seg *gzSegment) {
	select {
	case c.recompressing <- struct{}{}:
	default:
		seg.hits.Store(0) // try again after a few more views
		return
	}
	go func() {
		defer func() { <-c.recompressing }()
		html, err := seg.html()
		if err != nil {
			return // cannot happen to bytes this process compressed; keep seg
		}
		better, err := newGzSegment(html, maxSegmentLevel)
		if err != nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if el, ok := c.entries[k.deployment]; ok {
			if e := el.Value.(*checklistEntry); e.key == k.checklistKey && e.cl == cl && e.phases[k] == seg {
				e.phases[k] = better
			}
		}
	}()
}

// get returns the entry for k, or nil. The caller holds mu.
func (c *checklistCache) get(k checklistKey) *checklistEntry {
	el, ok := c.entries[k.deployment]
	if !ok {
		return nil
	}
	e := el.Value.(*checklistEntry)
	if e.key != k {
		return nil
	}
	c.lru.MoveToFront(el)
	return e
}

// put adds e, replacing an older state of its deployment. The caller
// holds mu.
func (c *checklistCache) put(e *checklistEntry) {
	if el, ok := c.entries[e.key.deployment]; ok {
		// A slower request may bring an older state: keep the newer.
		if el.Value.(*checklistEntry).key.seq > e.key.seq {
			return
		}
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.key.deployment] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*checklistEntry)
		delete(c.entries, old.key.deployment)
	}
}

// overdueAsOf is the latest due time of v's timed items that has passed
// while the deployment is live, or zero: what decides which open items
// show overdue.
func (v *deploymentView) overdueAsOf() time.Time {
	live := v.D.LiveSince()
	if live == nil {
		return time.Time{}
	}
	var last time.Time
	for i := range v.CL.Items {
		it := &v.CL.Items[i]
		if it.DueAfter == 0 {
			continue
		}
		if due := live.Add(it.DueAfter); v.Now.After(due) && due.After(last) {
			last = due
		}
	}
	return last
}
