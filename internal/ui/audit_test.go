package ui_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/signoff"
)

// completedDeployments creates n signed-off deployments (and the team that
// signs them) on the app's database.
func completedDeployments(t *testing.T, a *app, n int, service string) []*signoff.Deployment {
	t.Helper()
	ctx := context.Background()
	team, err := audittest.NewTeam(ctx, a.db)
	if err != nil {
		t.Fatal(err)
	}
	var out []*signoff.Deployment
	for i := range n {
		d, err := audittest.Completed(ctx, a.db, team, audittest.Options{Service: service, Environment: "production",
			Version: "v1." + string(rune('0'+i)), Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// serverKey fetches the public key the server publishes, as an auditor
// would, without signing in.
func serverKey(t *testing.T, a *app) []byte {
	t.Helper()
	res := a.anon().get("/.well-known/signoff-signing-key")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("well-known key: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	pub, err := audit.ParsePublicKey(res.Body)
	if err != nil || !strings.Contains(res.Body, "-----BEGIN PUBLIC KEY-----") || !strings.Contains(res.Body, audit.Fingerprint(pub)) {
		t.Fatalf("well-known key: %v\n%s", err, res.Body)
	}
	return pub
}

func TestWellKnownSigningKey(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	pub := serverKey(t, a)
	res := a.anon().get("/.well-known/signoff-signing-key?format=json")
	var info audit.PublicKeyJSON
	if err := json.Unmarshal([]byte(res.Body), &info); err != nil || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON key: %v %s", err, res.Header.Get("Content-Type"))
	}
	if info.Fingerprint != audit.Fingerprint(pub) || info.Algorithm != "ed25519" {
		t.Fatalf("JSON key %+v", info)
	}
}

func TestDeploymentExports(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	d := completedDeployments(t, a, 1, "voxflow-api")[0]
	viewer := a.login(a.user("Vera Viewer", false, false))
	pub := serverKey(t, a)

	// The deployment page offers the four exports.
	page := viewer.get(dpath(d, ""))
	for _, f := range []string{"pdf", "md", "json", "csv"} {
		if !strings.Contains(page.Body, `href="`+dpath(d, "/export."+f)+`"`) {
			t.Errorf("the Export menu lacks %s", f)
		}
	}
	if !strings.Contains(page.Body, `data-testid="export-menu"`) {
		t.Error("no Export menu on the deployment page")
	}

	types := map[string]string{"json": "application/json", "csv": "text/csv", "pdf": "application/pdf", "md": "text/markdown"}
	for f, ct := range types {
		res := viewer.get(dpath(d, "/export."+f))
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), ct) ||
			!strings.Contains(res.Header.Get("Content-Disposition"), `attachment; filename="`+audit.FileBase(d)+"."+f+`"`) {
			t.Fatalf("export.%s: %d %s %s", f, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		if f == "json" {
			if _, err := audit.Verify([]byte(res.Body), pub); err != nil {
				t.Fatalf("the JSON export does not verify against the published key: %v", err)
			}
		}
	}
	if res := a.anon().get(dpath(d, "/export.json")); res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		t.Fatalf("anonymous export: %d; want a redirect to sign in", res.StatusCode)
	}
	if res := viewer.get("/deployments/99999/export.pdf"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("export of a missing deployment: %d", res.StatusCode)
	}
}

func TestAuditWorkspace(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	completedDeployments(t, a, 2, "billing-worker")
	alice := a.user("Alice Again", false, false)
	open := a.deployment(alice) // in progress: listed, never in the ZIP

	if res := a.login(alice).get("/audit"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a team member on /audit: %d; want 403", res.StatusCode)
	}
	if res := a.login(alice).get("/audit/export.zip"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a team member on the bulk ZIP: %d; want 403", res.StatusCode)
	}
	auditor := a.login(a.user("Ari Auditor", false, true))
	res := auditor.get("/audit")
	if res.StatusCode != http.StatusOK || strings.Count(res.Body, `data-testid="audit-row"`) != 3 ||
		!strings.Contains(res.Body, `href="`+dpath(open, "/export.json")+`"`) || !strings.Contains(res.Body, `href="/audit"`) {
		t.Fatalf("auditor on /audit: %d, %d rows", res.StatusCode, strings.Count(res.Body, `data-testid="audit-row"`))
	}
	res = auditor.get("/audit?service=billing&status=completed")
	if strings.Count(res.Body, `data-testid="audit-row"`) != 2 || !strings.Contains(res.Body, `href="/audit/export.zip?service=billing"`) {
		t.Fatalf("filtered: %d rows", strings.Count(res.Body, `data-testid="audit-row"`))
	}
	if res := a.login(a.user("Ada Admin", true, false)).get("/audit"); res.StatusCode != http.StatusOK {
		t.Fatalf("admin on /audit: %d", res.StatusCode)
	}
	if res := auditor.get("/audit?from=yesterday"); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad date: %d", res.StatusCode)
	}
}

func TestAuditBulkZip(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	done := completedDeployments(t, a, 3, "voxflow-api")
	a.deployment(a.user("Alice Again", false, false))
	pub := serverKey(t, a)
	auditor := a.login(a.user("Ari Auditor", false, true))

	today := time.Now().UTC().Format(time.DateOnly)
	res := auditor.get("/audit/export.zip?from=2020-01-01&to=" + today)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), `filename="signoff-audit-2020-01-01-to-`+today+`.zip"`) {
		t.Fatalf("bulk ZIP: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	zr, err := zip.NewReader(strings.NewReader(res.Body), int64(len(res.Body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	var m audit.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Deployments != len(done) || len(m.Files) != 3*len(done) || len(files) != 3*len(done)+1 {
		t.Fatalf("manifest lists %d deployments, %d files; the ZIP has %d files", m.Deployments, len(m.Files), len(files))
	}
	for _, f := range m.Files {
		sum := sha256.Sum256(files[f.Name])
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Fatalf("%s: SHA-256 differs from the manifest", f.Name)
		}
		if strings.HasSuffix(f.Name, ".json") {
			if _, err := audit.Verify(files[f.Name], pub); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
		}
		if strings.HasSuffix(f.Name, ".pdf") && !bytes.HasPrefix(files[f.Name], []byte("%PDF-")) {
			t.Fatalf("%s is not a PDF", f.Name)
		}
	}
	// An empty range is an empty ZIP with its manifest, not an error.
	res = auditor.get("/audit/export.zip?to=2000-01-01")
	if zr, err := zip.NewReader(strings.NewReader(res.Body), int64(len(res.Body))); err != nil || len(zr.File) != 1 {
		t.Fatalf("empty range: %d, %v", res.StatusCode, err)
	}
}
