package ui_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// postFile sends the item panel's form with a file, as a browser would.
func (c *client) postFile(path, name string, data []byte, body string, htmx bool) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if body != "" {
		_ = mw.WriteField("body", body)
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	return c.do(req)
}

var fileLink = regexp.MustCompile(`href="(/deployments/\d+/files/\d+)"`)

func TestEvidenceFileUploadedShownAndServedSafely(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)

	// A text log and a picture, from the panel's form (HTMX and not).
	log := []byte("<script>alert(document.cookie)</script>\nmigrate: ok\n")
	res := c.postFile(dpath(d, "/items/1.1.1.1/files"), "migrate.log", log, "", true)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "migrate.log") ||
		!strings.Contains(res.Body, "&lt;script&gt;alert(document.cookie)") || strings.Contains(res.Body, "<script>alert") {
		t.Fatalf("upload answer %d:\n%s", res.StatusCode, res.Body)
	}
	sum := sha256.Sum256(log)
	if !strings.Contains(res.Body, hex.EncodeToString(sum[:])) {
		t.Fatalf("the panel does not show the file's SHA-256")
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 40)...)
	res = c.postFile(dpath(d, "/items/1.1.1.1/files"), "screen.png", png, "The login page after the deploy.", false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload without JavaScript: %d %s", res.StatusCode, res.Body)
	}
	page := c.get(dpath(d, "/items/1.1.1.1/comments"))
	links := fileLink.FindAllStringSubmatch(page.Body, -1)
	if len(links) < 2 || !strings.Contains(page.Body, `<img src="`+links[0][1]) && !strings.Contains(page.Body, `<img src="`+links[1][1]) {
		t.Fatalf("comments page shows no picture:\n%s", page.Body)
	}

	// Served as the allow-listed type, never sniffed, sandboxed.
	for _, l := range links {
		res := c.get(l[1])
		h := res.Header
		if res.StatusCode != http.StatusOK || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "inline") {
			t.Fatalf("GET %s: %d %v", l[1], res.StatusCode, h)
		}
		got := sha256.Sum256([]byte(res.Body))
		if h.Get("X-Signoff-SHA256") != hex.EncodeToString(got[:]) ||
			h.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(got[:])+":" {
			t.Fatalf("GET %s: digest headers %v do not match the bytes", l[1], h)
		}
		switch ct := h.Get("Content-Type"); {
		case bytes.Equal([]byte(res.Body), log):
			if ct != "text/plain; charset=utf-8" {
				t.Fatalf("log served as %q", ct)
			}
		case bytes.Equal([]byte(res.Body), png):
			if ct != "image/png" {
				t.Fatalf("png served as %q", ct)
			}
		default:
			t.Fatalf("GET %s: unexpected body", l[1])
		}
		if dl := c.get(l[1] + "?download=1"); !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("?download=1: %v", dl.Header)
		}
	}

	// As an attacker: active content, disguises, oversize, wrong doors.
	for _, c2 := range []struct {
		name   string
		data   []byte
		status int
	}{
		{"x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), http.StatusUnsupportedMediaType},
		{"x.html", []byte(`<html><script>alert(1)</script>`), http.StatusUnsupportedMediaType},
		{"x.htm", []byte(`<script>alert(1)</script>`), http.StatusUnsupportedMediaType},
		{"x.png", []byte(`<html><script>alert(1)</script>`), http.StatusUnsupportedMediaType},
		{"x.js", []byte(`alert(1)`), http.StatusUnsupportedMediaType},
		{"x.txt", []byte("\x00\x01binary"), http.StatusUnsupportedMediaType},
		{"big.log", bytes.Repeat([]byte("a"), signoff.MaxFileBytes+1), http.StatusRequestEntityTooLarge},
		{"huge.log", bytes.Repeat([]byte("a"), signoff.MaxFileBytes+200<<10), http.StatusRequestEntityTooLarge},
	} {
		res := c.postFile(dpath(d, "/items/1.1.1.1/files"), c2.name, c2.data, "", true)
		if res.StatusCode != c2.status {
			t.Errorf("%s: %d; want %d\n%s", c2.name, res.StatusCode, c2.status, res.Body)
		}
		if c2.status == http.StatusRequestEntityTooLarge && !strings.Contains(res.Body, "5.0 MB") {
			t.Errorf("%s: the 413 does not say the limit: %s", c2.name, res.Body)
		}
	}
	auditor := a.login(a.user("Ari Auditor", false, true))
	if res := auditor.postFile(dpath(d, "/items/1.1.1.1/files"), "a.txt", []byte("x"), "", true); res.StatusCode != http.StatusForbidden {
		t.Fatalf("auditor upload: %d", res.StatusCode)
	}
	if res := auditor.get(links[0][1]); res.StatusCode != http.StatusOK {
		t.Fatalf("auditor download: %d", res.StatusCode)
	}
	other := a.deployment(alice)
	if res := c.get(strings.Replace(links[0][1], dpath(d, ""), dpath(other, ""), 1)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("file through another deployment: %d", res.StatusCode)
	}
	if res := a.anon().get(links[0][1]); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("anonymous download: %d", res.StatusCode)
	}
	files, err := a.db.Files(t.Context(), d.ID, "")
	if err != nil || len(files) != 2 {
		t.Fatalf("%d files stored (%v); want 2: refused uploads wrote", len(files), err)
	}
}
