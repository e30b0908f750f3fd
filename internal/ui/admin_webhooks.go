package ui

import (
	"net/http"
	"strconv"

	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// webhooksView is the notifications admin page: webhooks, the delivery log
// and the mail log.
type webhooksView struct {
	Hooks       []*signoff.Webhook
	Deliveries  []signoff.WebhookDelivery
	Emails      []signoff.Email
	MailEnabled bool
	Created     *signoff.Webhook // just made: its secret is shown this once
	Form        webhookForm
	Error       string
}

type webhookForm struct {
	URL, Format string
	Events      []string
}

// logLimit is how many deliveries and mails the page lists.
const logLimit = 100

func (s *Server) webhookList(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, webhooksView{})
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, v webhooksView) {
	var err error
	if v.Hooks, err = s.db.Webhooks(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Deliveries, err = s.db.WebhookDeliveries(r.Context(), logLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Emails, err = s.db.Emails(r.Context(), logLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	v.MailEnabled = s.cfg.SMTP.Host != ""
	s.render(w, r, status, webhooksPage(s.page(w, r, "Webhooks and mail", "webhooks"), v))
}

// webhookCreate adds a webhook and shows its secret once.
func (s *Server) webhookCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := webhookForm{URL: r.PostFormValue("url"), Format: r.PostFormValue("format"), Events: r.PostForm["event"]}
	n := signoff.NewWebhook{URL: f.URL, Format: f.Format, Secret: r.PostFormValue("secret"), Events: f.Events}
	err := n.Validate()
	if err == nil {
		if gerr := s.webhookGuard.CheckURL(r.Context(), n.URL); gerr != nil {
			err = signoff.Errorf(signoff.EINVALID, "This webhook cannot be added: %s.", gerr)
		}
	}
	var hook *signoff.Webhook
	if err == nil {
		hook, err = s.db.CreateWebhook(r.Context(), n, actor(r))
	}
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID {
			s.renderWebhooks(w, r, problem.Status(code), webhooksView{Form: f, Error: signoff.ErrorMessage(err)})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.renderWebhooks(w, r, http.StatusCreated, webhooksView{Created: hook})
}

func (s *Server) webhookDelete(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "hid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.DeleteWebhook(r.Context(), id, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Webhook deleted: nothing more is sent to it.")
	http.Redirect(w, r, "/admin/webhooks", http.StatusSeeOther)
}

// deliveryBadge is the badge class for a delivery or mail status.
func deliveryBadge(status string) string {
	switch status {
	case signoff.DeliveryDelivered:
		return "badge status-live"
	case signoff.DeliveryFailed:
		return "badge status-aborted"
	case signoff.DeliveryPending:
		return "badge status-in_progress"
	}
	return "badge status-draft"
}

func deliveryLabel(status string) string {
	switch status {
	case signoff.DeliveryDelivered:
		return "Delivered"
	case signoff.DeliveryFailed:
		return "Failed"
	case signoff.DeliveryPending:
		return "Pending"
	case signoff.DeliverySkipped:
		return "Skipped"
	}
	return status
}

// attemptsLabel says how often a delivery was tried and the last answer:
// "2 attempts · HTTP 502".
func attemptsLabel(attempts, code int) string {
	s := strconv.Itoa(attempts) + " attempt"
	if attempts != 1 {
		s += "s"
	}
	if code != 0 {
		s += " · HTTP " + strconv.Itoa(code)
	}
	return s
}

func eventsLabel(events []string) string {
	if len(events) == 0 {
		return "Every event"
	}
	s := ""
	for i, e := range events {
		if i > 0 {
			s += ", "
		}
		s += e
	}
	return s
}
