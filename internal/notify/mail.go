package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// mailer sends mail through the configured SMTP server.
type mailer struct {
	cfg  config.SMTP
	tls  *tls.Config
	from *mail.Address
}

func newMailer(cfg config.SMTP, tlsConfig *tls.Config) (*mailer, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("SMTP_FROM must be an address such as Signoff <signoff@example.com>, got %q", cfg.From)
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}
	return &mailer{cfg: cfg, tls: tlsConfig, from: from}, nil
}

// sendEmail is one attempt at one mail. A mail already sent is not sent
// again; one the server refuses for good (5xx) is not retried.
//
// Handing a message to an SMTP server and recording that the server took
// it cannot be one step: a process that dies in between, or a connection
// that breaks while the server's answer is on its way, leaves the mail in
// doubt. So, once the server has accepted the sender and the recipient,
// the attempt first records in its own committed write that it is handing
// the message over (the mail log reads "In doubt since attempt N: …"), and
// only then sends DATA. An attempt that finds that note knows an earlier
// one may have delivered. It sends again the identical message (same
// Message-ID, same Date, same bytes), and the log keeps the doubt, so an
// admin sees that the recipient may have it twice. See "Delivery
// guarantees" in docs/notifications.md for why resending beats skipping.
func (n *Notifier) sendEmail(ctx context.Context, id int64, attempt int, last bool) error {
	e, err := n.db.Email(ctx, id)
	if signoff.ErrorCode(err) == signoff.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if e.Status != signoff.DeliveryPending {
		return nil // done by an earlier attempt that was not recorded as finished
	}
	if n.mailer == nil {
		return n.db.RecordEmail(ctx, id, postgres.DeliveryResult{Status: signoff.DeliverySkipped,
			Attempts: e.Attempts, Error: "SMTP not configured"})
	}
	since := doubtSince(e.LastError) // 0: no earlier attempt can have delivered it
	if since > 0 {
		n.logger.Warn("mail in doubt: sending it again with the same Message-ID", "email", id, "attempt", attempt, "since", since)
	}
	handover := func(ctx context.Context) error {
		first := since
		if first == 0 {
			first = attempt
		}
		return n.db.RecordEmail(ctx, id, postgres.DeliveryResult{Status: signoff.DeliveryPending, Attempts: attempt,
			Error: doubtNote(first, fmt.Sprintf("attempt %d is handing the message to the mail server; its answer is not recorded yet.", attempt))})
	}
	inDoubt, sendErr := n.mailer.send(ctx, e, handover)
	res := postgres.DeliveryResult{Status: signoff.DeliveryDelivered, Attempts: attempt}
	var se *smtp.SMTPError
	permanent := errors.As(sendErr, &se) && se.Code >= 500
	switch {
	case sendErr == nil && since > 0:
		res.Error = fmt.Sprintf("Delivered by attempt %d. Attempt %d was cut off after handing the message to the mail server, so the recipient may have it twice (with the same Message-ID).", attempt, since)
	case sendErr != nil:
		res.Status, res.Error = signoff.DeliveryPending, sendErr.Error()
		if last || permanent {
			res.Status = signoff.DeliveryFailed
		}
		if since == 0 && inDoubt {
			since = attempt
		}
		if since > 0 {
			res.Error = doubtNote(since, fmt.Sprintf("the mail server may have the message already. Attempt %d: %s", attempt, sendErr))
		}
	}
	if err := n.recordOutcome(ctx, "email", id, func(ctx context.Context) error { return n.db.RecordEmail(ctx, id, res) }); err != nil {
		return err
	}
	switch {
	case sendErr == nil:
		return nil
	case permanent:
		n.logger.Warn("mail refused", "email", id, "err", sendErr)
		return river.JobCancel(sendErr)
	}
	n.logger.Warn("mail not sent", "email", id, "attempt", attempt, "in_doubt", since > 0, "err", sendErr)
	return sendErr
}

// doubtPrefix starts the mail log's note while an earlier attempt may have
// delivered a mail that is still pending; the number is that attempt.
const doubtPrefix = "In doubt since attempt %d: "

func doubtNote(since int, text string) string { return fmt.Sprintf(doubtPrefix, since) + text }

// doubtSince reads the attempt a note in doubt names, or 0.
func doubtSince(lastError string) int {
	var since int
	if _, err := fmt.Sscanf(lastError, doubtPrefix, &since); err != nil || since < 1 {
		return 0
	}
	return since
}

// send delivers one message: connect, (START)TLS as configured, log in if
// a username is set, name the sender and the recipient, call handover (the
// message is not sent unless it succeeds), and hand the message over.
// inDoubt reports an error after the message's end was sent that is not
// the server's answer (the connection broke, the time ran out): the server
// may have accepted the message.
func (m *mailer) send(ctx context.Context, e *signoff.Email, handover func(context.Context) error) (inDoubt bool, err error) {
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, fmt.Errorf("connect to %s: %w", addr, err)
	}
	// go-smtp sets a deadline of its own around every command, so the
	// job's time limit is kept by closing the connection when it ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *smtp.Client
	switch m.cfg.TLS {
	case "tls":
		c = smtp.NewClient(tls.Client(conn, m.tls))
	case "starttls":
		if c, err = smtp.NewClientStartTLS(conn, m.tls); err != nil {
			conn.Close()
			return false, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = time.Minute, time.Minute
	if m.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.cfg.Username, m.cfg.Password)); err != nil {
			return false, fmt.Errorf("log in to %s: %w", addr, err)
		}
	}
	var opts *smtp.MailOptions
	if !isASCII(m.from.Address) || !isASCII(e.Address) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(m.from.Address, opts); err != nil {
		return false, fmt.Errorf("send to %s: %w", e.Address, err)
	}
	if err := c.Rcpt(e.Address, nil); err != nil {
		return false, fmt.Errorf("send to %s: %w", e.Address, err)
	}
	if err := handover(ctx); err != nil {
		return false, fmt.Errorf("send to %s: not sent, the attempt could not be recorded: %w", e.Address, err)
	}
	w, err := c.Data()
	if err != nil {
		return false, fmt.Errorf("send to %s: %w", e.Address, err)
	}
	// Until its end (the lone dot Close sends) a message is incomplete,
	// and a server discards it.
	if _, err := w.Write(m.compose(e)); err != nil {
		return false, fmt.Errorf("send to %s: %w", e.Address, err)
	}
	if err := w.Close(); err != nil {
		var se *smtp.SMTPError
		return !errors.As(err, &se), fmt.Errorf("send to %s: %w", e.Address, err)
	}
	// The server has the message; a failed goodbye changes nothing.
	c.Quit()
	return false, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// compose renders the message. Everything in it comes from the stored
// mail, so every attempt sends the same message with the same Message-ID,
// and a mail system that has it already can tell.
func (m *mailer) compose(e *signoff.Email) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.from.String())
	header("To", (&mail.Address{Address: e.Address}).String())
	header("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	header("Date", e.CreatedAt.Format(time.RFC1123Z))
	header("Message-ID", e.MessageID)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(e.Body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

// SendNow mails one message at once, outside the queue and the mail log:
// for a message that carries a secret (a password reset link), which must
// be stored nowhere. The caller shows the same link to the admin who
// asked, so a mail that fails loses nothing. It errors when no SMTP
// server is configured.
func (n *Notifier) SendNow(ctx context.Context, to, subject, body string) error {
	if n.mailer == nil {
		return errors.New("SMTP not configured")
	}
	e := &signoff.Email{Address: to, Subject: subject, Body: body, CreatedAt: n.now(),
		MessageID: "<" + hex.EncodeToString(randomBytes(16)) + "@" + n.host + ">"}
	ctx, cancel := context.WithTimeout(ctx, n.mailTimeout)
	defer cancel()
	if _, err := n.mailer.send(ctx, e, func(context.Context) error { return nil }); err != nil {
		return fmt.Errorf("mail to %s: %w", to, err)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
