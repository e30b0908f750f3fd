package notify_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"mime"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	smtpUser     = "signoff"
	smtpPassword = "mail-secret-123"
)

// mailbox is a real SMTP server run by the test, in process (emersion's
// go-smtp server), keeping every message it accepts.
type mailbox struct {
	t    testing.TB
	srv  *smtp.Server
	addr net.Addr
	cert *x509.Certificate // with TLS: the certificate clients must trust
	auth bool              // logins are required

	mu   sync.Mutex
	msgs []received
	// onData, when set, runs once a message is received, before the
	// server answers it (tests stop the sender or drop the connection).
	onData func(c *smtp.Conn, m received)
	// refused are recipients the server refuses for good (550).
	refused map[string]bool
}

// received is one accepted message, parsed.
type received struct {
	From      string
	To        []string
	Raw       []byte
	Header    mail.Header
	Subject   string
	Body      string
	MessageID string
}

// startSMTP listens on a loopback port. With withTLS it offers STARTTLS
// with a test certificate and requires a login.
func startSMTP(t testing.TB, withTLS bool) *mailbox {
	t.Helper()
	mb := &mailbox{t: t, auth: withTLS}
	mb.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{mb: mb, conn: c}, nil
	}))
	mb.srv.Domain = "mail.test"
	mb.srv.ErrorLog = log.New(io.Discard, "", 0)
	if withTLS {
		// httptest's certificate is valid for 127.0.0.1.
		ts := httptest.NewUnstartedServer(nil)
		ts.StartTLS()
		mb.srv.TLSConfig = &tls.Config{Certificates: ts.TLS.Certificates}
		mb.cert = ts.Certificate()
		ts.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr()
	go mb.srv.Serve(ln)
	t.Cleanup(func() { mb.srv.Close() })
	return mb
}

func (mb *mailbox) hostPort() (string, string) {
	host, port, _ := net.SplitHostPort(mb.addr.String())
	return host, port
}

// clientTLS is the TLS configuration that trusts this server.
func (mb *mailbox) clientTLS() *tls.Config {
	if mb.cert == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(mb.cert)
	return &tls.Config{RootCAs: pool}
}

// messages returns what was received so far.
func (mb *mailbox) messages() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.msgs...)
}

// setOnData sets the hook that runs on every received message.
func (mb *mailbox) setOnData(f func(c *smtp.Conn, m received)) {
	mb.mu.Lock()
	mb.onData = f
	mb.mu.Unlock()
}

// refuseRcpt makes the server refuse mail for addr for good.
func (mb *mailbox) refuseRcpt(addr string) {
	mb.mu.Lock()
	if mb.refused == nil {
		mb.refused = map[string]bool{}
	}
	mb.refused[strings.ToLower(addr)] = true
	mb.mu.Unlock()
}

// to returns the messages received for one address.
func (mb *mailbox) to(addr string) []received {
	var out []received
	for _, m := range mb.messages() {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

type session struct {
	mb     *mailbox
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.mb.auth && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mb.mu.Lock()
	refused := s.mb.refused[strings.ToLower(to)]
	s.mb.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	body, err := decodeQP(m.Body)
	if err != nil {
		return err
	}
	got := received{From: s.from, To: s.to, Raw: raw, Header: m.Header,
		Subject: subject, Body: body, MessageID: m.Header.Get("Message-ID")}
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, got)
	onData := s.mb.onData
	s.mb.mu.Unlock()
	if onData != nil {
		onData(s.conn, got)
	}
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
