package notify

import (
	"bytes"
	"context"
	"crypto/tls"
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
	sendErr := n.mailer.send(ctx, e)
	res := postgres.DeliveryResult{Status: signoff.DeliveryDelivered, Attempts: attempt}
	var se *smtp.SMTPError
	permanent := errors.As(sendErr, &se) && se.Code >= 500
	if sendErr != nil {
		res.Status, res.Error = signoff.DeliveryPending, sendErr.Error()
		if last || permanent {
			res.Status = signoff.DeliveryFailed
		}
	}
	if err := n.db.RecordEmail(context.WithoutCancel(ctx), id, res); err != nil {
		return err
	}
	switch {
	case sendErr == nil:
		return nil
	case permanent:
		n.logger.Warn("mail refused", "email", id, "err", sendErr)
		return river.JobCancel(sendErr)
	}
	n.logger.Warn("mail not sent", "email", id, "attempt", attempt, "err", sendErr)
	return sendErr
}

// send delivers one message: connect, (START)TLS as configured, log in if
// a username is set, and hand the message over.
func (m *mailer) send(ctx context.Context, e *signoff.Email) error {
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	deadline := time.Now().Add(time.Minute)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	var c *smtp.Client
	switch m.cfg.TLS {
	case "tls":
		c = smtp.NewClient(tls.Client(conn, m.tls))
	case "starttls":
		if c, err = smtp.NewClientStartTLS(conn, m.tls); err != nil {
			return fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if m.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.cfg.Username, m.cfg.Password)); err != nil {
			return fmt.Errorf("log in to %s: %w", addr, err)
		}
	}
	if err := c.SendMail(m.from.Address, []string{e.Address}, bytes.NewReader(m.compose(e))); err != nil {
		return fmt.Errorf("send to %s: %w", e.Address, err)
	}
	return c.Quit()
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
