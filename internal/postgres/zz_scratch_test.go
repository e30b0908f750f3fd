package postgres_test

import (
	"context"
	"testing"
)

func TestScratchSmall(t *testing.T) {
	db := openDB(t)
	a := addUser(t, db, "Alice")
	d := newSmallDeployment(t, db, a, "svc")
	cl, _ := db.Checklist(context.Background(), d)
	for _, it := range cl.Items {
		t.Logf("%s parent=%q children=%v cond=%v %q", it.Path, it.ParentPath, it.HasChildren, it.Conditional, it.Text)
	}
	for _, n := range cl.Notes {
		t.Logf("note %d %q long=%v", n.Position, n.Name, n.Long)
	}
	s, _ := db.Slots(context.Background(), d.ID)
	for _, x := range s {
		t.Logf("slot %+v", x)
	}
}
