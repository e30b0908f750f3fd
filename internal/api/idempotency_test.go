package api_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/signoff/signoff/internal/api"
	"github.com/signoff/signoff/internal/signoff"
)

const createBody = `{"template":"voxflow-production-deployment-checklist","service":"voxflow-api","environment":"production","version":"v9.9.9"}`

func keyed(method, path, token, body, key string) request {
	return request{method: method, path: path, token: token, body: body, header: map[string]string{api.HeaderIdempotencyKey: key}}
}

// A create sent twice with one key makes one deployment; the retry gets
// the first answer as it was, marked as a replay.
func TestIdempotentCreateIsMadeOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, secret := e.token(e.user("Alice Chen", false, false), "ci")
	first := e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "run-81-create"))
	wantStatus(t, first, http.StatusCreated)
	if first.Header.Get(api.HeaderReplayed) != "" {
		t.Fatal("the first answer is marked as a replay")
	}
	// Another pipeline step changes the deployment meanwhile.
	var d deploymentBody
	first.Decode(t, &d)
	wantStatus(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1.1"), secret, `{"state":"done"}`), http.StatusOK)

	again := e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "run-81-create"))
	wantStatus(t, again, http.StatusCreated)
	if again.Header.Get(api.HeaderReplayed) != "true" || again.Header.Get("Location") != first.Header.Get("Location") ||
		!bytes.Equal(again.Body, first.Body) {
		t.Fatalf("the retry was not the first answer: %s %q\n%s", again.Header.Get(api.HeaderReplayed), again.Header.Get("Location"), again.Body)
	}
	if n := e.countDeployments(); n != 1 {
		t.Fatalf("%d deployments; want 1", n)
	}
	// Another token's key of the same name is its own.
	_, other := e.token(e.user("Bob Builder", false, false), "other ci")
	wantStatus(t, e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", other, createBody, "run-81-create")), http.StatusCreated)
	if n := e.countDeployments(); n != 2 {
		t.Fatalf("%d deployments; want 2", n)
	}
}

// The same key with another body, address or method is refused, and
// changes nothing.
func TestIdempotencyKeyReusedForAnotherRequestIs422(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, secret := e.token(e.user("Alice Chen", false, false), "ci")
	wantStatus(t, e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "k1")), http.StatusCreated)
	other := bytes.Replace([]byte(createBody), []byte("v9.9.9"), []byte("v9.9.10"), 1)
	wantError(t, e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, string(other), "k1")),
		http.StatusUnprocessableEntity, signoff.EKEYREUSED)
	if n := e.countDeployments(); n != 1 {
		t.Fatalf("%d deployments; want 1", n)
	}
	for _, bad := range []string{" ", `"`, `""`, "with space", string(bytes.Repeat([]byte{'k'}, 256)), "naïve"} {
		wantError(t, e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, bad)), http.StatusBadRequest, signoff.EINVALID)
	}
	if n := e.countDeployments(); n != 1 {
		t.Fatalf("%d deployments after refused keys; want 1", n)
	}
}

// A tick retried under its key is answered as the first time and not
// done again, even after the item was unticked meanwhile; a new key does
// the work.
func TestIdempotentTickIsNotDoneTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	path := dpath(d.ID, "/items/2.4.1.1")
	first := e.send(e.web, keyed(http.MethodPut, path, secret, `{"state":"done"}`, "verify-1"))
	wantStatus(t, first, http.StatusOK)
	wantStatus(t, e.call(http.MethodPut, path, secret, `{"state":"open"}`), http.StatusOK)
	seq := e.auditSeq(d.ID)
	again := e.send(e.web, keyed(http.MethodPut, path, secret, `{"state":"done"}`, "verify-1"))
	wantStatus(t, again, http.StatusOK)
	if !bytes.Equal(again.Body, first.Body) || again.Header.Get(api.HeaderReplayed) != "true" {
		t.Fatalf("the retry was not the first answer:\n%s\n%s", first.Body, again.Body)
	}
	if got := e.auditSeq(d.ID); got != seq {
		t.Fatalf("the retry wrote: audit seq %d → %d", seq, got)
	}
	wantStatus(t, e.send(e.web, keyed(http.MethodPut, path, secret, `{"state":"done"}`, "verify-2")), http.StatusOK)
	if got := e.auditSeq(d.ID); got != seq+1 {
		t.Fatalf("a new key did not tick: audit seq %d → %d", seq, got)
	}
}

// When the first answer could not be kept (the database went away just
// after the commit), a retry is answered afresh and nothing is done again.
func TestIdempotentRetryWithoutTheFirstAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	first := e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "lost-answer"))
	wantStatus(t, first, http.StatusCreated)
	var d deploymentBody
	first.Decode(t, &d)
	status := keyed(http.MethodPost, dpath(d.ID, "/status"), secret, `{"status":"live","confirm":true}`, "go-live")
	wantStatus(t, e.send(e.web, status), http.StatusOK)
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE idempotency_keys SET answer_status = NULL, answer_body = NULL, answer_location = NULL`); err != nil {
		t.Fatal(err)
	}
	seq := e.auditSeq(d.ID)

	again := e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "lost-answer"))
	wantStatus(t, again, http.StatusCreated)
	var d2 deploymentBody
	again.Decode(t, &d2)
	if d2.ID != d.ID || again.Header.Get("Location") != first.Header.Get("Location") || again.Header.Get(api.HeaderReplayed) != "true" {
		t.Fatalf("retry answered deployment %d at %q (replayed %q); want %d", d2.ID, again.Header.Get("Location"), again.Header.Get(api.HeaderReplayed), d.ID)
	}
	// Going live again would be a 409: the retry is answered, not redone.
	res := e.send(e.web, status)
	wantStatus(t, res, http.StatusOK)
	res.Decode(t, &d2)
	if d2.Status != signoff.StatusLive || e.countDeployments() != 1 || e.auditSeq(d.ID) != seq {
		t.Fatalf("after the retries: status %s, %d deployments, seq %d → %d", d2.Status, e.countDeployments(), seq, e.auditSeq(d.ID))
	}
	// The fresh answer is kept now.
	var kept int
	e.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE answer_status IS NOT NULL`).Scan(&kept)
	if kept != 2 {
		t.Fatalf("%d answers kept after the retries; want 2", kept)
	}
}

// Retries sent at once, as a pipeline with an impatient timeout does,
// make one deployment and all get its answer.
func TestIdempotentCreatesAtOnceMakeOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, secret := e.token(e.user("Alice Chen", false, false), "ci")
	var wg sync.WaitGroup
	ids := make([]int64, 6)
	for i := range ids {
		wg.Go(func() {
			res := e.send(e.web, keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "burst"))
			if res.Status != http.StatusCreated {
				t.Errorf("status %d: %s", res.Status, res.Body)
				return
			}
			var d deploymentBody
			res.Decode(t, &d)
			ids[i] = d.ID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("answers name deployments %v; want one", ids)
		}
	}
	if n := e.countDeployments(); n != 1 {
		t.Fatalf("%d deployments; want 1", n)
	}
}
