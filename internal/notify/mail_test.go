package notify_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/signoff/signoff/internal/signoff"
)

// addresses lists the recipients of the messages, sorted.
func addresses(msgs []received) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.To...)
	}
	slices.Sort(out)
	return out
}

func TestRoleHoldersMailedWhenChecklistCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{tls: true}) // STARTTLS and a login, as a real server wants
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	dave := e.user("Dave Dba", "Database Administrator")
	dora := e.user("Dora Dba", "Database Administrator")
	e.user("Carl Cto", "CTO/Technical Director")
	gone := e.user("Gary Gone", "Database Administrator")
	if err := e.db.SetActive(e.ctx, gone.ID, false, as(owner)); err != nil {
		t.Fatal(err)
	}
	e.start()
	d := e.deployment(owner)

	e.resolve(d, dana, leaves[:len(leaves)-1]...)
	e.drain()
	if got := e.mail.messages(); len(got) != 0 {
		t.Fatalf("mail before the checklist is complete: %v", addresses(got))
	}

	e.resolve(d, dana, leaves[len(leaves)-1])
	want := []string{dana.Email, dave.Email, dora.Email} // not the CTO: the final approval waits
	eventually(t, 10*time.Second, "mail to the holders of the technical roles", func() bool {
		return len(e.mail.messages()) >= len(want)
	})
	e.drain()
	got := e.mail.messages()
	if a := addresses(got); !slices.Equal(a, want) {
		t.Fatalf("mail went to %v; want %v", a, want)
	}
	m := e.mail.to(dave.Email)[0]
	if wantSubject := "[Signoff] voxflow-api v2.4.0 → production: ready for your sign-off as Database Administrator"; m.Subject != wantSubject {
		t.Errorf("subject = %q; want %q", m.Subject, wantSubject)
	}
	link := "https://signoff.example.com/deployments/" + itoa(d.ID)
	if !strings.Contains(m.Body, link) || !strings.Contains(m.Body, "Hello Dave Dba") {
		t.Errorf("body lacks greeting or link %s:\n%s", link, m.Body)
	}
	if m.From != "signoff@example.com" || m.Header.Get("From") != `"Signoff" <signoff@example.com>` {
		t.Errorf("from = %q / %q", m.From, m.Header.Get("From"))
	}
	if !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, "@signoff.example.com>") {
		t.Errorf("Message-ID = %q", m.MessageID)
	}
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.MessageID] = true
	}
	if len(ids) != len(got) {
		t.Errorf("Message-IDs repeat across mails: %v", ids)
	}
	// The mail log agrees.
	for _, em := range e.emails(d) {
		if em.Status != signoff.DeliveryDelivered || em.Attempts != 1 || em.SentAt == nil || em.Kind != signoff.NoticeSignable {
			t.Errorf("logged email = %s", dump(em))
		}
	}

	// More changes while the condition holds tell nobody again.
	if _, err := e.db.SetNote(e.ctx, d.ID, 1, "All smooth.", as(dana)); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if n := len(e.mail.messages()); n != len(want) {
		t.Fatalf("%d mails after a note edit; want still %d", n, len(want))
	}
}

func TestFinalApproverMailedWhenOtherSlotsSigned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	dave := e.user("Dave Dba", "Database Administrator")
	carl := e.user("Carl Cto", "CTO/Technical Director")
	e.start()
	d := e.deployment(owner)
	e.resolve(d, owner)
	e.drain()
	e.sign(d, 1, dana)
	e.drain()
	if got := e.mail.to(carl.Email); len(got) != 0 {
		t.Fatalf("the final approver was mailed with a slot unsigned: %q", got[0].Subject)
	}

	e.sign(d, 2, dave)
	eventually(t, 10*time.Second, "mail to the final approver", func() bool { return len(e.mail.to(carl.Email)) == 1 })
	m := e.mail.to(carl.Email)[0]
	if want := "[Signoff] voxflow-api v2.4.0 → production: ready for your sign-off as CTO/Technical Director"; m.Subject != want {
		t.Errorf("subject = %q; want %q", m.Subject, want)
	}
	if !strings.Contains(m.Body, "final approval") {
		t.Errorf("body does not say it is the final approval:\n%s", m.Body)
	}
	// The signers, who cannot sign another slot, heard only of their own.
	e.drain()
	if n := len(e.mail.to(dana.Email)); n != 1 {
		t.Errorf("Dana got %d mails; want 1", n)
	}
}

func TestOwnerMailedWhenSignatureGoesStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	e.start()
	d := e.deployment(owner)
	e.resolve(d, owner)
	e.drain()
	e.sign(d, 1, dana)
	e.drain()
	if n := len(e.mail.to(owner.Email)); n != 0 {
		t.Fatalf("owner got %d mails before anything went stale", n)
	}

	// Unticking an item makes Dana's signature stale.
	e.set(d, "1.1.2", signoff.ItemOpen, owner)
	eventually(t, 10*time.Second, "mail to the owner", func() bool { return len(e.mail.to(owner.Email)) == 1 })
	m := e.mail.to(owner.Email)[0]
	if want := "[Signoff] voxflow-api v2.4.0 → production: the Deployment Engineer sign-off is stale"; m.Subject != want {
		t.Errorf("subject = %q; want %q", m.Subject, want)
	}
	if !strings.Contains(m.Body, "Dana Engineer signed") || !strings.Contains(m.Body, "created this deployment") {
		t.Errorf("body:\n%s", m.Body)
	}

	// Ticking it again: still stale (once told, not again), and the slot
	// can be signed again, which Dana hears of.
	e.set(d, "1.1.2", signoff.ItemDone, owner)
	eventually(t, 10*time.Second, "mail to Dana to sign again", func() bool { return len(e.mail.to(dana.Email)) == 2 })
	again := e.mail.to(dana.Email)[1]
	if !strings.Contains(again.Body, "stale and must be given again") {
		t.Errorf("second mail to Dana does not say why:\n%s", again.Body)
	}
	e.drain()
	if n := len(e.mail.to(owner.Email)); n != 1 {
		t.Errorf("owner got %d mails; want 1", n)
	}
}

func TestOwnerMailedWhenItemsFallOverdue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	n := e.start()
	d := e.deployment(owner)
	e.resolve(d, owner, "1.1.1", "1.1.2", "1.1.3")
	d, err := e.db.SetStatus(e.ctx, d.ID, signoff.StatusLive, "", as(owner))
	if err != nil {
		t.Fatal(err)
	}
	live := *d.WentLiveAt
	e.drain()

	// One hour after go-live nothing is due yet.
	e.clock.Set(live.Add(time.Hour))
	if err := n.ScanOverdue(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if got := e.mail.to(owner.Email); len(got) != 0 {
		t.Fatalf("mail before anything is due: %q", got[0].Subject)
	}

	// Past two hours both monitoring items are overdue: one mail lists them.
	e.clock.Set(live.Add(2*time.Hour + time.Minute))
	if err := n.ScanOverdue(e.ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the overdue mail", func() bool { return len(e.mail.to(owner.Email)) == 1 })
	m := e.mail.to(owner.Email)[0]
	if want := "[Signoff] voxflow-api v2.4.0 → production: 2 items overdue"; m.Subject != want {
		t.Errorf("subject = %q; want %q", m.Subject, want)
	}
	for _, want := range []string{"2.1.1  Error rates normal", "2.1.2  Latency normal"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}

	// Scanning again tells nothing new; ticking one and unticking it makes
	// it fall overdue again, which is told on its own.
	if err := n.ScanOverdue(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.set(d, "2.1.1", signoff.ItemDone, owner)
	e.drain()
	if got := e.mail.to(owner.Email); len(got) != 1 {
		t.Fatalf("owner got %d mails; want 1", len(got))
	}
	e.set(d, "2.1.1", signoff.ItemOpen, owner)
	eventually(t, 10*time.Second, "the second overdue mail", func() bool { return len(e.mail.to(owner.Email)) == 2 })
	if m := e.mail.to(owner.Email)[1]; !strings.Contains(m.Subject, "1 item overdue") {
		t.Errorf("second overdue mail: %q", m.Subject)
	}
}

func TestOverdueScanRunsOnItsOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	opt := e.options()
	opt.ScanInterval = 200 * time.Millisecond
	e.run(e.notifier(e.db, opt))
	d := e.deployment(owner)
	d, err := e.db.SetStatus(e.ctx, d.ID, signoff.StatusLive, "", as(owner))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(d.WentLiveAt.Add(3 * time.Hour))
	eventually(t, 30*time.Second, "the periodic scan to mail the owner", func() bool {
		return len(e.mail.to(owner.Email)) == 1
	})
}

func TestNoMailWithoutSMTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSMTP: true})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	e.start()
	d := e.deployment(owner)
	e.resolve(d, owner)
	e.drain()
	logged := e.emails(d)
	if len(logged) != 1 || logged[0].Address != dana.Email || logged[0].Status != signoff.DeliverySkipped ||
		logged[0].LastError != "SMTP not configured" {
		t.Fatalf("mail log = %s; want one skipped mail to Dana", dump(logged))
	}
	var jobs int
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT count(*) FROM river_job WHERE kind = 'signoff.email'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 || len(e.mail.messages()) != 0 {
		t.Fatalf("%d mail jobs, %d mails received; want none", jobs, len(e.mail.messages()))
	}
}

func TestAuditorsAndOtherSlotsSignersAreNotMailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	both := e.user("Bea Both", "Deployment Engineer", "Database Administrator")
	auditor, err := e.db.CreateUser(e.ctx, signoff.NewUser{Email: "audrey@example.com", Name: "Audrey Auditor",
		Password: testPassword, IsAuditor: true, Roles: []string{"Database Administrator"}}, as(owner))
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	d := e.deployment(owner)
	e.resolve(d, owner)
	eventually(t, 10*time.Second, "mail to Bea", func() bool { return len(e.mail.to(both.Email)) == 2 })
	e.drain()
	if got := e.mail.to(auditor.Email); len(got) != 0 {
		t.Fatalf("an auditor was asked to sign")
	}
	// Once Bea signs one slot she cannot sign the other: the later mails
	// about the other slot skip her. Untick and retick to make it signable
	// anew.
	e.sign(d, 1, both)
	e.drain()
	e.set(d, "1.1.1", signoff.ItemOpen, owner)
	e.drain()
	e.set(d, "1.1.1", signoff.ItemDone, owner)
	e.drain()
	var episodes int
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT count(*) FROM notifications WHERE deployment_id = $1 AND subject = 'slot/2'`, d.ID).Scan(&episodes); err != nil {
		t.Fatal(err)
	}
	if episodes != 2 {
		t.Fatalf("the DBA slot became signable %d times; want 2", episodes)
	}
	var subjects []string
	for _, m := range e.mail.to(both.Email) {
		subjects = append(subjects, m.Subject)
	}
	want := []string{"Database Administrator", "Deployment Engineer", "Deployment Engineer"}
	if len(subjects) != len(want) {
		t.Fatalf("Bea got %q", subjects)
	}
	slices.Sort(subjects)
	for i, w := range want {
		if !strings.HasSuffix(subjects[i], "as "+w) {
			t.Fatalf("Bea got %q; want mails for %v (not DBA again, having signed as Deployment Engineer)", subjects, want)
		}
	}
}

// The connection breaks after the server got the whole message and before
// its answer arrives: the attempt cannot know whether the mail went. The
// next attempt sends the identical message again, and the log says the
// recipient may have it twice.
func TestMailLostAnswerIsSentAgainAsTheSameMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	dropped := make(chan string, 1)
	e.mail.setOnData(func(c *smtp.Conn, m received) {
		e.mail.setOnData(nil)
		c.Conn().Close() // no 250: the sender reads EOF
		dropped <- m.MessageID
	})
	e.start()
	d := e.deployment(owner)
	e.resolve(d, owner)
	eventually(t, 20*time.Second, "the mail to be delivered", func() bool {
		log := e.emails(d)
		return len(log) == 1 && log[0].Status == signoff.DeliveryDelivered
	})
	first := <-dropped
	got := e.mail.to(dana.Email)
	if len(got) != 2 || got[0].MessageID != first || !bytes.Equal(got[0].Raw, got[1].Raw) {
		t.Fatalf("the server got %d messages; want the same message twice", len(got))
	}
	log := e.emails(d)[0]
	if log.Attempts != 2 || !strings.Contains(log.LastError, "Attempt 1 was cut off") || !strings.Contains(log.LastError, "may have it twice") {
		t.Fatalf("mail log = %s", dump(log))
	}
}

// A mail refused before it is handed over (here the recipient) was never
// in doubt: its log says only why it failed.
func TestMailRefusedBeforeHandoverIsNotInDoubt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	e.mail.refuseRcpt(dana.Email)
	e.start()
	d := e.deployment(owner)
	e.resolve(d, owner)
	eventually(t, 20*time.Second, "the mail to fail", func() bool {
		log := e.emails(d)
		return len(log) == 1 && log[0].Status == signoff.DeliveryFailed
	})
	log := e.emails(d)[0]
	if log.Attempts != 1 || strings.Contains(log.LastError, "doubt") || !strings.Contains(log.LastError, "550") {
		t.Fatalf("mail log = %s; want failed after 1 attempt with the server's 550, not in doubt", dump(log))
	}
	if len(e.mail.messages()) != 0 {
		t.Fatal("a refused recipient got mail")
	}
}
