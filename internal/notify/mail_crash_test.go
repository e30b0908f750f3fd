//go:build unix

package notify_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/signoff/signoff/internal/signoff"
)

// The mail server accepts a message (it answers 250) and the worker
// process dies before it records that: the mail is in doubt. The promise
// (docs/notifications.md, "Delivery guarantees"): after a restart the mail
// is sent again, the identical message with the same Message-ID, never a
// second, different one, and the mail log says the recipient may have it
// twice.
func TestKilledMidMailSendsTheSameMessageAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River to notice the dead worker's job (about 20 s)")
	}
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	// This process only queues (its Notifier is not started yet).
	n := e.notifier(e.db, e.options())
	d := e.deployment(owner)
	e.resolve(d, owner) // slot 1 is signable: one mail, to Dana

	// Another process works the queue. The moment the mail server has the
	// whole message it stops that process (SIGSTOP) and only then answers
	// 250: the answer sits unread in the socket and the process never
	// records it. Then the test kills it (SIGKILL: no defer, no shutdown).
	worker := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.v")
	host, port := e.mail.hostPort()
	worker.Env = append(os.Environ(), crashDBEnv+"="+e.url, crashSMTPEnv+"="+host+":"+port)
	var out strings.Builder
	worker.Stdout, worker.Stderr = &out, &out
	accepted := make(chan received, 1)
	started := make(chan *os.Process, 1)
	e.mail.setOnData(func(_ *smtp.Conn, m received) {
		if err := (<-started).Signal(syscall.SIGSTOP); err != nil {
			t.Errorf("stop the worker: %v", err)
		}
		e.mail.setOnData(nil) // the next message is answered as usual
		accepted <- m
	})
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	started <- worker.Process
	var first received
	select {
	case first = <-accepted:
	case <-time.After(30 * time.Second):
		worker.Process.Kill()
		worker.Wait()
		t.Fatalf("the worker process never sent the mail; its output:\n%s", out.String())
	}
	if err := worker.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := worker.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Success() {
		t.Fatalf("worker did not die: %v", err)
	}

	// The mail log shows the mail pending and in doubt: the attempt wrote,
	// before it sent DATA, that it was handing the message over.
	log := e.emails(d)
	if len(log) != 1 || log[0].Status != signoff.DeliveryPending || log[0].Attempts != 1 ||
		log[0].MessageID != first.MessageID || !strings.HasPrefix(log[0].LastError, "In doubt since attempt 1:") {
		t.Fatalf("mail log after the kill = %s", dump(log))
	}
	var state string
	var attempted time.Time
	var maxAttempts int
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT state, attempted_at, max_attempts FROM river_job WHERE kind = 'signoff.email'`).
		Scan(&state, &attempted, &maxAttempts); err != nil {
		t.Fatal(err)
	}
	if state != "running" {
		t.Fatalf("email job is %s; want running (its worker died)", state)
	}
	if maxAttempts != 8 {
		t.Errorf("email job max_attempts = %d; want 8 (docs/notifications.md)", maxAttempts)
	}

	// Restart: this process works the queue. River rescues the dead
	// worker's job once it has run longer than it may (here the mail
	// timeout, 5 s) and the mail goes again.
	time.Sleep(time.Until(attempted.Add(5*time.Second + 500*time.Millisecond)))
	restarted := time.Now()
	e.run(n)
	eventually(t, 60*time.Second, "the mail to be sent again", func() bool { return len(e.mail.messages()) == 2 })
	t.Logf("sent again %s after the restart", time.Since(restarted).Round(time.Millisecond))
	eventually(t, 10*time.Second, "the mail to be logged as delivered", func() bool {
		log := e.emails(d)
		return len(log) == 1 && log[0].Status == signoff.DeliveryDelivered
	})
	e.drain()

	// One logical notification: one mail in the log, and what reached the
	// server twice is the same message, byte for byte.
	got := e.mail.messages()
	if len(got) != 2 || len(e.mail.to(dana.Email)) != 2 {
		t.Fatalf("the server got %d messages (%v); want the one mail twice", len(got), addresses(got))
	}
	if got[1].MessageID != first.MessageID || !bytes.Equal(got[0].Raw, got[1].Raw) {
		t.Fatalf("sent again as a different message:\n%s\n---\n%s", got[0].Raw, got[1].Raw)
	}
	if got[0].Header.Get("Date") == "" || got[0].Header.Get("Date") != got[1].Header.Get("Date") {
		t.Fatalf("Date %q then %q; want the same", got[0].Header.Get("Date"), got[1].Header.Get("Date"))
	}
	log = e.emails(d)
	if len(log) != 1 || log[0].Attempts != 2 || log[0].SentAt == nil || log[0].MessageID != first.MessageID ||
		!strings.Contains(log[0].LastError, "may have it twice") {
		t.Fatalf("mail log = %s; want one mail, delivered by attempt 2, noting it may have arrived twice", dump(log))
	}
}
