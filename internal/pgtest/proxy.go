package pgtest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy passes connections through to PostgreSQL and breaks them on
// demand at the worst moment there is, a COMMIT, to test what a client
// makes of a connection lost there. It reads the server's messages as the
// protocol frames them and acts on the CommandComplete of a COMMIT (so
// the server has committed when it acts).
type Proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{}
}

type proxyMode int

const (
	proxyPass       proxyMode = iota
	proxyDropCommit           // drop the next COMMIT's answer and close its connection
	proxyCutAfter             // pass the next COMMIT's answer, close its connection, refuse new ones
	proxyDown                 // refuse new connections
)

// NewProxy starts a proxy to the database at rawURL (a TCP URL, as URL
// returns) and returns it with the URL that goes through it.
func NewProxy(t testing.TB, rawURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("pgtest: proxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: proxy: %v", err)
	}
	p := &Proxy{t: t, ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	t.Cleanup(p.close)
	go p.accept()
	u.Host = ln.Addr().String()
	return p, u.String()
}

// DropCommitAnswer makes the next COMMIT through the proxy one whose
// outcome its client cannot know: the server commits, and the client's
// connection closes before the answer reaches it.
func (p *Proxy) DropCommitAnswer() { p.set(proxyDropCommit) }

// CutAfterCommit lets the next COMMIT's answer through and then closes
// its connection, before anything read after it in the same round trip
// arrives, and refuses new connections until Heal: the change is made and
// the client knows it, but can read nothing more.
func (p *Proxy) CutAfterCommit() { p.set(proxyCutAfter) }

// Heal passes everything through again.
func (p *Proxy) Heal() { p.set(proxyPass) }

func (p *Proxy) set(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.mode == proxyDown
		p.mu.Unlock()
		if down {
			client.Close()
			continue
		}
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns[client], p.conns[server] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() {
			io.Copy(server, client)
			server.Close()
		}()
		go p.serverToClient(server, client)
	}
}

var commitTag = []byte("COMMIT\x00")

// serverToClient passes the server's messages on, one at a time, and
// acts on a COMMIT's CommandComplete as the mode says.
func (p *Proxy) serverToClient(server, client net.Conn) {
	defer func() {
		client.Close()
		server.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}()
	for {
		msg, err := readMessage(server)
		if err != nil {
			return
		}
		if msg[0] == 'C' && bytes.Equal(msg[5:], commitTag) {
			p.mu.Lock()
			mode := p.mode
			switch mode {
			case proxyDropCommit:
				p.mode = proxyPass
			case proxyCutAfter:
				p.mode = proxyDown
			}
			p.mu.Unlock()
			switch mode {
			case proxyDropCommit:
				return
			case proxyCutAfter:
				// The answer to a COMMIT on its own ends with the
				// ReadyForQuery after it; in a pipeline, what follows is
				// the next statement's, and is cut.
				if next, err := readMessage(server); err == nil && next[0] == 'Z' {
					msg = append(msg, next...)
				}
				client.Write(msg)
				return
			}
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

// readMessage reads one message of the server: its type, its length, the
// rest.
func readMessage(r io.Reader) ([]byte, error) {
	head := make([]byte, 5)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(head[1:])) - 4
	if n < 0 || n > 1<<30 {
		return nil, io.ErrUnexpectedEOF
	}
	msg := make([]byte, 5+n)
	copy(msg, head)
	_, err := io.ReadFull(r, msg[5:])
	return msg, err
}
