package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/migrations"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, pgtest.HashFS(migrations.FS), postgres.Migrate)
}

// cheapPasswords makes hashing cheap: the tests check behaviour, not
// argon2's cost.
var cheapPasswords = password.Params{Memory: 64, Time: 1, Threads: 1}

// openDB gives the test a store on a fresh database holding the seed
// template.
func openDB(t testing.TB) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	return db
}

const testPassword = "correct horse battery"

// addUser creates a person holding the given roles.
func addUser(t testing.TB, db *postgres.DB, name string, roles ...string) *signoff.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), signoff.NewUser{
		Email: fmt.Sprintf("%s@example.com", slug(name)), Name: name, Password: testPassword, Roles: roles,
	}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	return u
}

func slug(s string) string { return postgres.Slugify(s) }

func as(u *signoff.User) signoff.EventActor {
	return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
}

// newDeployment starts a deployment of the seed template.
func newDeployment(t testing.TB, db *postgres.DB, by *signoff.User) *signoff.Deployment {
	t.Helper()
	d, err := db.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: "voxflow-production-deployment-checklist", Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
	}, as(by))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// resolveAll ticks every leaf (conditional ones N/A).
func resolveAll(t testing.TB, db *postgres.DB, d *signoff.Deployment, by *signoff.User) {
	t.Helper()
	ctx := context.Background()
	cl, err := db.Checklist(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range cl.Items {
		if it.HasChildren {
			continue
		}
		c := signoff.ItemChange{Path: it.Path, State: signoff.ItemDone}
		if it.Conditional {
			c = signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: "not this time"}
		}
		if _, err := db.SetItemState(ctx, d.ID, c, as(by)); err != nil {
			t.Fatalf("resolve %s: %v", it.Path, err)
		}
	}
}

// wantCode fails unless err carries the domain error code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := signoff.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
}

// openDBWith is openDB with pool options (a bigger pool for the
// concurrency tests, so their goroutines really meet in the database).
func openDBWith(t testing.TB, opt postgres.Options) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	opt.PasswordCost = cheapPasswords
	db, err := postgres.Open(ctx, pgtest.URL(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	return db
}

// smallTemplate is a checklist small enough to resolve in a few ticks:
// 6 leaves (two conditional), a parent with a nested parent, two note
// fields and three sign-off slots, the last the final approval.
//
//	1.1.1       Build (parent)
//	1.1.1.1       Compile
//	1.1.1.2       Run unit tests (parent)
//	1.1.1.2.1       Fast tests
//	1.1.1.2.2       Slow tests (if applicable)
//	1.1.2       Tag the release
//	1.2.1       Smoke test
//	1.2.2       Load test (if needed)
const smallTemplate = `# Small Release Checklist

A short checklist for tests.

## Preparation

### Build
- [ ] **Build** the artefact
  - [ ] Compile
  - [ ] Run unit tests
    - [ ] Fast tests
    - [ ] Slow tests (if applicable)
- [ ] Tag the release

### Checks
- [ ] Smoke test
- [ ] Load test (if needed)

## Deployment Sign-off

### Technical Sign-off
- **Deployment Engineer**: ____ Date: ____
- **Database Administrator**: ____ Date: ____

### Final Approval
- **CTO/Technical Director**: ____ Date: ____

## Notes

**Issues Encountered**:
___
___

**Rollback Plan**: ____
`

const smallSlug = "small-release-checklist"

// smallLeaves are smallTemplate's leaves, in document order.
var smallLeaves = []string{"1.1.1.1", "1.1.1.2.1", "1.1.1.2.2", "1.1.2", "1.2.1", "1.2.2"}

// newSmallDeployment starts a deployment of smallTemplate (imported on
// first use) for the service.
func newSmallDeployment(t testing.TB, db *postgres.DB, by *signoff.User, service string) *signoff.Deployment {
	t.Helper()
	ctx := context.Background()
	if _, _, err := db.ImportTemplate(ctx, []byte(smallTemplate), "", signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{
		TemplateSlug: smallSlug, Service: service, Environment: "production", Version: "v1.0.0",
	}, as(by))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tick sets one item's state and fails the test on error.
func tick(t testing.TB, db *postgres.DB, d *signoff.Deployment, path string, state signoff.ItemState, by *signoff.User) signoff.Event {
	t.Helper()
	c := signoff.ItemChange{Path: path, State: state}
	if state == signoff.ItemNA {
		c.NAReason = "does not apply"
	}
	ev, err := eventOf(db.SetItemState(context.Background(), d.ID, c, as(by)))
	if err != nil {
		t.Fatalf("set %s to %s: %v", path, state, err)
	}
	return ev
}

// reload reads a deployment again.
func reload(t testing.TB, db *postgres.DB, d *signoff.Deployment) *signoff.Deployment {
	t.Helper()
	got, err := db.Deployment(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// item reads one item of a deployment.
func item(t testing.TB, db *postgres.DB, d *signoff.Deployment, path string) signoff.Item {
	t.Helper()
	items, err := db.Items(context.Background(), d.ID, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) == 0 || items[0].Path != path {
		t.Fatalf("item %s not found (got %d items)", path, len(items))
	}
	return items[0]
}

// signAs signs a slot with the test password.
func signAs(db *postgres.DB, d *signoff.Deployment, slot int, u *signoff.User) (*signoff.Signature, error) {
	return db.Sign(context.Background(), postgres.SignInput{
		DeploymentID: d.ID, Slot: slot, UserID: u.ID, Password: testPassword, Via: "web",
	})
}

// mustSign signs a slot and fails the test on error.
func mustSign(t testing.TB, db *postgres.DB, d *signoff.Deployment, slot int, u *signoff.User) *signoff.Signature {
	t.Helper()
	sig, err := signAs(db, d, slot, u)
	if err != nil {
		t.Fatalf("%s signs slot %d: %v", u.Name, slot, err)
	}
	return sig
}

// events reads a chain (deploymentID 0: the system chain).
func events(t testing.TB, db *postgres.DB, deploymentID int64) []signoff.Event {
	t.Helper()
	evs, err := db.Events(context.Background(), deploymentID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// lastEvent is the newest event of a chain.
func lastEvent(t testing.TB, db *postgres.DB, deploymentID int64) signoff.Event {
	t.Helper()
	evs := events(t, db, deploymentID)
	if len(evs) == 0 {
		t.Fatalf("chain of deployment %d is empty", deploymentID)
	}
	return evs[len(evs)-1]
}

// payload reads an event's canonical JSON as every reader does: strictly,
// with its body typed.
func payload(t testing.TB, ev signoff.Event) *signoff.DecodedEvent {
	t.Helper()
	p, err := signoff.DecodeEvent([]byte(ev.Payload))
	if err != nil {
		t.Fatalf("event %d payload: %v", ev.Seq, err)
	}
	return p
}

// checkChain verifies a whole chain as an auditor would: sequence numbers
// 1..n without gaps, each hash recomputed from the previous hash and the
// stored payload bytes, each payload naming its own chain and seq, and
// times that never go backwards.
func checkChain(t testing.TB, db *postgres.DB, deploymentID int64) []signoff.Event {
	t.Helper()
	evs := events(t, db, deploymentID)
	chain := "system"
	if deploymentID != 0 {
		chain = fmt.Sprintf("deployment/%d", deploymentID)
	}
	prev := make([]byte, sha256.Size)
	var prevAt time.Time
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("%s: event %d has seq %d", chain, i+1, ev.Seq)
		}
		if !bytes.Equal(ev.PrevHash, prev) {
			t.Fatalf("%s: event %d prev_hash %x; want %x", chain, ev.Seq, ev.PrevHash, prev)
		}
		if want := signoff.ChainHash(prev, []byte(ev.Payload)); !bytes.Equal(ev.Hash, want) {
			t.Fatalf("%s: event %d hash %x; recomputed %x", chain, ev.Seq, ev.Hash, want)
		}
		p := payload(t, ev)
		if p.Chain != chain || p.Seq != ev.Seq || p.Action != ev.Action {
			t.Fatalf("%s: event %d payload names chain %q seq %d action %q", chain, ev.Seq, p.Chain, p.Seq, p.Action)
		}
		if p.At != ev.At.UTC().Format(signoff.TimeFormat) {
			t.Fatalf("%s: event %d payload time %s; row %s", chain, ev.Seq, p.At, ev.At.UTC().Format(signoff.TimeFormat))
		}
		if ev.At.Before(prevAt) {
			t.Fatalf("%s: event %d at %s is before event %d at %s", chain, ev.Seq, ev.At, ev.Seq-1, prevAt)
		}
		prev, prevAt = ev.Hash, ev.At
	}
	if deploymentID != 0 {
		if d, err := db.Deployment(context.Background(), deploymentID); err != nil {
			t.Fatal(err)
		} else if d.AuditSeq != int64(len(evs)) {
			t.Fatalf("%s: audit_seq %d but %d events", chain, d.AuditSeq, len(evs))
		}
	}
	return evs
}

// itemStatePayload is the before/after of an item.state event.
type itemStatePayload struct {
	State    signoff.ItemState `json:"state"`
	NAReason string            `json:"na_reason"`
	Items    []string          `json:"items"`
}

// stateHashAsOf replays a deployment's audit events with seq < before onto
// a blank copy of its checklist and returns the StateHash of the result:
// the state a signature recorded at audit seq `before` must attest to.
func stateHashAsOf(t testing.TB, db *postgres.DB, d *signoff.Deployment, before int64) [32]byte {
	t.Helper()
	cl, err := db.Checklist(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]signoff.Item, len(cl.Items))
	copy(items, cl.Items)
	index := map[string]int{}
	for i := range items {
		items[i].State, items[i].NAReason = signoff.ItemOpen, ""
		index[items[i].Path] = i
	}
	notes := make([]signoff.Note, len(cl.Notes))
	copy(notes, cl.Notes)
	for i := range notes {
		notes[i].Value = ""
	}
	for _, ev := range events(t, db, d.ID) {
		if ev.Seq >= before {
			break
		}
		p := payload(t, ev)
		switch e := p.Body.(type) {
		case *signoff.ItemStateEvent:
			for _, path := range e.Leaves(p.Target) {
				i, ok := index[path]
				if !ok {
					t.Fatalf("event %d names unknown item %s", ev.Seq, path)
				}
				items[i].State, items[i].NAReason = e.After.State, e.After.NAReason
			}
		case *signoff.NoteEditEvent:
			for i := range notes {
				if notes[i].Position == p.Target.Position() {
					notes[i].Value = e.After.Value
				}
			}
		}
	}
	return signoff.NewChecklist(cl.Template, items, notes).StateHash(d.ID)
}

// currentStateHash is the StateHash of a fresh read of the checklist.
func currentStateHash(t testing.TB, db *postgres.DB, d *signoff.Deployment) [32]byte {
	t.Helper()
	cl, err := db.Checklist(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return cl.StateHash(d.ID)
}

// sqlInt runs a query returning one integer.
func sqlInt(t testing.TB, db *postgres.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// refuseAuditEvents makes the database refuse the next audit events of the
// given action, as a failing disk or a broken constraint would, until the
// returned func is called: every change must then leave nothing behind.
func refuseAuditEvents(t *testing.T, db *postgres.DB, action string) (allow func()) {
	t.Helper()
	ctx := context.Background()
	_, err := db.Pool().Exec(ctx, `
		CREATE OR REPLACE FUNCTION test_refuse_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		    RAISE EXCEPTION 'injected failure: audit event % refused', NEW.action;
		END $$;
		CREATE TRIGGER test_refuse_audit_event BEFORE INSERT ON audit_events
		    FOR EACH ROW WHEN (NEW.action = '`+action+`') EXECUTE FUNCTION test_refuse_audit_event();`)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.Pool().Exec(ctx, `DROP TRIGGER test_refuse_audit_event ON audit_events`); err != nil {
			t.Fatal(err)
		}
	}
}

// eventOf is the event an item change recorded (zero if none), for tests
// that check the log.
func eventOf(u *signoff.ItemUpdate, err error) (signoff.Event, error) {
	if u == nil {
		return signoff.Event{}, err
	}
	return u.Event, err
}
