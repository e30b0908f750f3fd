package ui

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkRenderDeploymentPage renders the seed deployment page from a
// view already in memory: the templates' share of a page view, without
// the database or HTTP.
func BenchmarkRenderDeploymentPage(b *testing.B) {
	t, err := checklist.Parse(checklist.Seed)
	if err != nil {
		b.Fatal(err)
	}
	var items []signoff.Item
	now := time.Now()
	for i, f := range checklist.Flatten(t) {
		it := signoff.Item{ID: int64(i + 1), Path: f.Path, ParentPath: f.ParentPath, Position: i + 1, Phase: f.Phase,
			Section: f.Section, Level: f.Level, Text: f.Text, Conditional: f.Conditional, HasChildren: f.HasChildren,
			DueAfter: f.DueAfter, State: signoff.ItemOpen}
		if i%3 == 0 && !f.HasChildren {
			it.State, it.StateBy, it.StateAt = signoff.ItemDone, &signoff.UserRef{ID: 1, Name: "Alice Chen"}, &now
		}
		items = append(items, it)
	}
	var slots []signoff.Slot
	for _, s := range t.Slots() {
		slots = append(slots, signoff.Slot{Position: s.Position, Group: s.Group, Role: s.Role})
	}
	user := &signoff.User{ID: 1, Name: "Alice Chen", Active: true, Roles: []signoff.Role{{ID: 1, Name: "Deployment Engineer"}}}
	d := &signoff.Deployment{ID: 1, Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
		Status: signoff.StatusInProgress, TemplateTitle: t.Title, CreatedAt: now, CreatedBy: signoff.UserRef{ID: 1, Name: "Alice Chen"}}
	v := newPageView(d, signoff.NewChecklist(t, items, nil), slots, user, now)
	page := Page{Title: d.Name(), User: user}
	b.ReportAllocs()
	for b.Loop() {
		html, err := renderBody(context.Background(), v)
		if err != nil {
			b.Fatal(err)
		}
		body, err := newGzSegment(html.Bytes(), segmentLevel)
		putRenderBuffer(html)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.WithValue(context.Background(), segmentListKey{}, &segmentList{})
		if err := deploymentPage(page, v, body).Render(ctx, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
