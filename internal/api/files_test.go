package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

func TestItemFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	ari := e.user("Ari Auditor", false, true)
	_, auditorSecret := e.token(ari, "audit")
	d := e.deployment(alice)
	log := "./verify-deployment.sh: 42 checks passed\n"
	sum := sha256.Sum256([]byte(log))
	upload := func(query, body, token string) response {
		return e.send(e.web, request{method: http.MethodPost, path: dpath(d.ID, "/items/2.4.1.1/files?"+query), token: token, body: body,
			header: map[string]string{"Content-Type": "application/octet-stream", "Idempotency-Key": ""}})
	}
	res := upload("name=verify.log", log, secret)
	wantStatus(t, res, http.StatusCreated)
	var f struct {
		ID          int64  `json:"id"`
		Item        string `json:"item"`
		Name        string `json:"name"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
		SHA256      string `json:"sha256"`
		URL         string `json:"url"`
	}
	res.Decode(t, &f)
	if f.SHA256 != hex.EncodeToString(sum[:]) || f.Name != "verify.log" || f.Item != "2.4.1.1" || f.Size != int64(len(log)) ||
		f.ContentType != "text/plain; charset=utf-8" || res.Header.Get("Location") != f.URL {
		t.Fatalf("created %+v (Location %q)", f, res.Header.Get("Location"))
	}
	// A retry under the same Idempotency-Key adds nothing.
	seq := e.auditSeq(d.ID)
	for range 2 {
		res = e.send(e.web, request{method: http.MethodPost, path: dpath(d.ID, "/items/2.4.1.1/files?name=run.log&comment=CI+run+9812"), token: secret, body: log,
			header: map[string]string{"Content-Type": "application/octet-stream", "Idempotency-Key": "ci-9812-run-log"}})
		wantStatus(t, res, http.StatusCreated)
	}
	if got := e.auditSeq(d.ID); got != seq+1 {
		t.Fatalf("a retried upload recorded %d events", got-seq)
	}

	// Downloaded by anyone with a token, auditors too: the bytes, their digest.
	dl := e.call(http.MethodGet, f.URL, auditorSecret, "")
	if dl.Status != http.StatusOK || string(dl.Body) != log || dl.Header.Get("X-Signoff-SHA256") != f.SHA256 ||
		!strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") || dl.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(dl.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download: %d %v %q", dl.Status, dl.Header, dl.Body)
	}
	list := e.call(http.MethodGet, dpath(d.ID, "/items/2.4.1.1/files"), auditorSecret, "")
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(string(list.Body), f.SHA256) || !strings.Contains(string(list.Body), `"comment":`) {
		t.Fatalf("list: %s", list.Body)
	}

	// Refused: auditors, active content, wrong bytes, oversize, no name.
	wantError(t, upload("name=a.log", log, auditorSecret), http.StatusForbidden, signoff.EFORBIDDEN)
	wantError(t, upload("name=x.svg", `<svg onload="alert(1)"/>`, secret), http.StatusUnsupportedMediaType, signoff.EUNSUPPORTED)
	wantError(t, upload("name=x.html", `<script>alert(1)</script>`, secret), http.StatusUnsupportedMediaType, signoff.EUNSUPPORTED)
	wantError(t, upload("name=shot.png", `<script>alert(1)</script>`, secret), http.StatusUnsupportedMediaType, signoff.EUNSUPPORTED)
	wantError(t, upload("name=big.log", strings.Repeat("a", signoff.MaxFileBytes+1), secret), http.StatusRequestEntityTooLarge, signoff.ETOOLARGE)
	wantError(t, upload("", log, secret), http.StatusBadRequest, signoff.EINVALID)
	wantError(t, e.call(http.MethodGet, dpath(d.ID, "/files/999"), secret, ""), http.StatusNotFound, signoff.ENOTFOUND)
	if got := e.auditSeq(d.ID); got != seq+1 {
		t.Fatalf("refused uploads recorded %d events", got-seq-1)
	}
}
