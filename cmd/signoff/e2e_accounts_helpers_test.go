package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// userByEmail reads a person as the store has them now.
func (a *e2eApp) userByEmail(email string) *signoff.User {
	a.t.Helper()
	people, err := a.DB.Users(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	for _, u := range people {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	a.t.Fatalf("nobody has the email %s", email)
	return nil
}

// systemActions lists the system chain's actions in order.
func (a *e2eApp) systemActions(t *testing.T) []string {
	t.Helper()
	evs, err := a.DB.Events(context.Background(), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Action
	}
	return out
}

// slotOf is the position of the first slot for role.
func slotOf(t *testing.T, a *e2eApp, d *signoff.Deployment, role string) int {
	t.Helper()
	slots, err := a.DB.Slots(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if s.Role == role {
			return s.Position
		}
	}
	t.Fatalf("deployment %d has no %s slot", d.ID, role)
	return 0
}

// slot reads one slot with its standing signature.
func (a *e2eApp) slot(d *signoff.Deployment, pos int) signoff.Slot {
	a.t.Helper()
	slots, err := a.DB.Slots(context.Background(), d.ID)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, s := range slots {
		if s.Position == pos {
			return s
		}
	}
	a.t.Fatalf("no slot %d", pos)
	return signoff.Slot{}
}

// signedWith reads, from the deployment's audit chain, the credential the
// latest signature on slot pos was given with.
func (a *e2eApp) signedWith(t *testing.T, d *signoff.Deployment, pos int) signoff.SignedWith {
	t.Helper()
	evs, err := a.DB.Events(context.Background(), d.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		ev, err := signoff.DecodeEvent([]byte(evs[i].Payload))
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := ev.Body.(*signoff.SignoffSignEvent); ok && s.After.Slot == pos {
			if s.After.SignedWith == nil {
				t.Fatalf("the signature on slot %d records no credential", pos)
			}
			return *s.After.SignedWith
		}
	}
	t.Fatalf("no signature on slot %d", pos)
	return signoff.SignedWith{}
}

// tabFor opens a tab signed in as u.
func (a *e2eApp) tabFor(t *testing.T, browser context.Context, name string, u *signoff.User) *tab {
	t.Helper()
	b := newTab(t, browser, a.URL, name)
	b.login(u)
	return b
}

// deploymentNow reads a deployment as it stands.
func (a *e2eApp) deploymentNow(d *signoff.Deployment) *signoff.Deployment {
	a.t.Helper()
	got, err := a.DB.Deployment(context.Background(), d.ID)
	if err != nil {
		a.t.Fatal(err)
	}
	return got
}

// waitNotices waits until the notifier recorded want notices of a kind
// for a deployment (it follows the audit chain on its own).
func (a *e2eApp) waitNotices(d *signoff.Deployment, kind string, want int) {
	a.t.Helper()
	var n int
	for range 200 {
		if err := a.DB.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM notifications WHERE deployment_id = $1 AND kind = $2`, d.ID, kind).Scan(&n); err != nil {
			a.t.Fatal(err)
		}
		if n == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Errorf("%d %s notices for deployment %d, want %d", n, kind, d.ID, want)
}
