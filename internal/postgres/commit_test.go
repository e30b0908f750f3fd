package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// faultyDB is a store whose connections pass through a proxy that breaks
// them at a COMMIT, beside a store on the same database that sees the
// truth.
func faultyDB(t *testing.T) (faulty, direct *postgres.DB, proxy *pgtest.Proxy) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	proxy, through := pgtest.NewProxy(t, url)
	for _, u := range []string{url, through} {
		db, err := postgres.Open(ctx, u, postgres.Options{PasswordCost: cheapPasswords})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		if direct == nil {
			direct = db
		} else {
			faulty = db
		}
	}
	if err := direct.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	return faulty, direct, proxy
}

func wantOutcomeUnknown(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, signoff.EUNKNOWN)
	if msg := signoff.ErrorMessage(err); !strings.Contains(msg, "may or may not have been made") || strings.Contains(msg, "Nothing was changed") {
		t.Fatalf("message %q", msg)
	}
}

// A COMMIT whose answer never comes is "outcome unknown", never a
// failure: here the change was made, as the other store sees.
func TestCommitLostIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, direct, proxy := faultyDB(t)
	alice := addUser(t, direct, "Alice Chen")
	d := newSmallDeployment(t, direct, alice, "voxflow-api")

	proxy.DropCommitAnswer()
	_, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(alice))
	wantOutcomeUnknown(t, err)
	if got := reload(t, direct, d); got.Status != signoff.StatusLive {
		t.Fatalf("status %s: the committed change is not there", got.Status)
	}

	proxy.DropCommitAnswer()
	_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice))
	wantOutcomeUnknown(t, err)
	if it := item(t, direct, d, "1.2.1"); it.State != signoff.ItemDone {
		t.Fatalf("item %s: the committed tick is not there", it.State)
	}

	proxy.DropCommitAnswer()
	_, err = db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: smallSlug, Service: "lost-answer",
		Environment: "production", Version: "v1"}, as(alice))
	wantOutcomeUnknown(t, err)
	if n := sqlInt(t, direct, `SELECT count(*) FROM deployments WHERE service = 'lost-answer'`); n != 1 {
		t.Fatalf("%d deployments made", n)
	}
	checkChain(t, direct, d.ID)
}

// A change that committed is answered as made even when nothing can be
// read after it: a tick's update carries its event and why it is unread.
func TestTickCommittedButUnreadIsAnsweredAsMade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, direct, proxy := faultyDB(t)
	alice := addUser(t, direct, "Alice Chen")
	d := newSmallDeployment(t, direct, alice, "voxflow-api")

	proxy.CutAfterCommit()
	u, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice))
	proxy.Heal()
	if err != nil {
		t.Fatalf("a committed tick failed: %v", err)
	}
	if u.Unread == nil || !u.Changed() || u.Deployment != nil {
		t.Fatalf("update %+v; want its event and the read error", u)
	}
	if it := item(t, direct, d, "1.2.1"); it.State != signoff.ItemDone || u.Event.Seq != reload(t, direct, d).AuditSeq {
		t.Fatalf("item %s, event %d: not what was committed", it.State, u.Event.Seq)
	}
}

// Under an idempotency key, a create whose answer was lost is made once:
// the retry finds the key the commit wrote and answers with the same
// deployment; a retry with another request under the key is refused.
func TestIdempotentCreateAfterALostCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, direct, proxy := faultyDB(t)
	alice := addUser(t, direct, "Alice Chen")
	newDep := signoff.NewDeployment{TemplateSlug: "voxflow-production-deployment-checklist", Service: "keyed", Environment: "production", Version: "v1"}
	key := func(body string) context.Context {
		return postgres.WithIdempotencyKey(ctx, postgres.NewIdempotencyKey("token:1", "ci-42", "POST", "/api/v1/deployments", []byte(body)))
	}
	proxy.DropCommitAnswer()
	_, err := db.CreateDeployment(key("v1"), newDep, as(alice))
	wantOutcomeUnknown(t, err)

	k := postgres.NewIdempotencyKey("token:1", "ci-42", "POST", "/api/v1/deployments", []byte("v1"))
	d, err := db.CreateDeployment(postgres.WithIdempotencyKey(ctx, k), newDep, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Replayed() || k.Claimed() {
		t.Fatalf("the retry: replayed %v, claimed %v", k.Replayed(), k.Claimed())
	}
	_, err = db.CreateDeployment(key("v2"), newDep, as(alice))
	wantCode(t, err, signoff.EKEYREUSED)
	if n := sqlInt(t, direct, `SELECT count(*) FROM deployments WHERE service = 'keyed'`); n != 1 {
		t.Fatalf("%d deployments made; want 1", n)
	}
	if got := sqlInt(t, direct, `SELECT id FROM deployments WHERE service = 'keyed'`); got != d.ID {
		t.Fatalf("the retry answered deployment %d; the one made is %d", d.ID, got)
	}
	// A status change retried under its key is not made twice (going live
	// twice would be refused).
	live := postgres.NewIdempotencyKey("token:1", "go-live", "POST", "/status", []byte("live"))
	for range 2 {
		if _, err := db.SetStatus(postgres.WithIdempotencyKey(ctx, live), d.ID, signoff.StatusLive, "", as(alice)); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, direct, d); got.Status != signoff.StatusLive || got.AuditSeq != 2 {
		t.Fatalf("after the retried move: %s, seq %d", got.Status, got.AuditSeq)
	}
}
