package notify

import (
	"fmt"
	"strings"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// The mails, in plain text. Each says what happened, what to do, where,
// and why this person gets it.

const mailPrefix = "[Signoff] "

func signableMail(d *signoff.Deployment, nt signoff.Notice, to postgres.Recipient, link string) (subject, body string) {
	s := nt.Slot
	subject = mailPrefix + d.Name() + ": ready for your sign-off as " + s.Role
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", to.Name)
	switch {
	case s.Final:
		fmt.Fprintf(&b, "%s is ready for its final approval as %s: every item is done or N/A and every other sign-off is given.\n", d.Name(), s.Role)
	case s.GoNoGo:
		fmt.Fprintf(&b, "%s is ready for its go/no-go sign-off as %s: every item above it is done or N/A. It must be given before the deployment goes live.\n", d.Name(), s.Role)
	case s.Gate():
		fmt.Fprintf(&b, "%s is ready for your %s sign-off as %s: every item above it is done or N/A.\n", d.Name(), s.Group, s.Role)
	default:
		fmt.Fprintf(&b, "%s is ready for your sign-off as %s: every item of its checklist is done or N/A.\n", d.Name(), s.Role)
	}
	if nt.Resign {
		fmt.Fprintf(&b, "\nThe checklist changed after %s signed this slot, so that sign-off is stale and must be given again.\n", s.Signature.Signer.Name)
	}
	fmt.Fprintf(&b, "\nReview and sign:\n%s\n", link)
	fmt.Fprintf(&b, "\n-- \nYou get this because you hold the %s role in Signoff.\n", s.Role)
	return subject, b.String()
}

func staleMail(d *signoff.Deployment, nt signoff.Notice, to postgres.Recipient, link string) (subject, body string) {
	s := nt.Slot
	subject = mailPrefix + d.Name() + ": the " + s.Role + " sign-off is stale"
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", to.Name)
	fmt.Fprintf(&b, "%s signed %s as %s on %s, but the checklist changed since, so that sign-off no longer counts. It must be given again.\n",
		s.Signature.Signer.Name, d.Name(), s.Role, s.Signature.SignedAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	fmt.Fprintf(&b, "\nSee the deployment:\n%s\n", link)
	fmt.Fprintf(&b, "\n-- \nYou get this because you created this deployment in Signoff.\n")
	return subject, b.String()
}

func rejectedMail(d *signoff.Deployment, nt signoff.Notice, to postgres.Recipient, link string) (subject, body string) {
	s, rj := nt.Slot, nt.Slot.Rejection
	subject = mailPrefix + d.Name() + ": " + rj.By.Name + " asked for changes as " + s.Role
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", to.Name)
	fmt.Fprintf(&b, "%s will not sign %s as %s yet, and asks for changes:\n\n", rj.By.Name, d.Name(), s.Role)
	for _, line := range strings.Split(rj.Comment, "\n") {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	fmt.Fprintf(&b, "\nThe %s sign-off waits until %s withdraws the request or signs.\n", s.Group, rj.By.Name)
	fmt.Fprintf(&b, "\nSee the deployment:\n%s\n", link)
	fmt.Fprintf(&b, "\n-- \nYou get this because you created this deployment in Signoff.\n")
	return subject, b.String()
}

func overdueMail(d *signoff.Deployment, items []signoff.Notice, to postgres.Recipient, link string) (subject, body string) {
	if len(items) == 1 {
		subject = mailPrefix + d.Name() + ": 1 item overdue"
	} else {
		subject = mailPrefix + fmt.Sprintf("%s: %d items overdue", d.Name(), len(items))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", to.Name)
	fmt.Fprintf(&b, "%s went live on %s. These post-deployment items are past their due time and still open:\n\n",
		d.Name(), d.WentLiveAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	for _, nt := range items {
		fmt.Fprintf(&b, "  %s  %s (due %s)\n", nt.Item.Path, nt.Item.Title(), nt.DueAt.UTC().Format("2 Jan 15:04 UTC"))
	}
	fmt.Fprintf(&b, "\nTick them, or mark them N/A with a reason:\n%s\n", link)
	fmt.Fprintf(&b, "\n-- \nYou get this because you created this deployment in Signoff.\n")
	return subject, b.String()
}
