package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// TestFaultSIGTERMDuringBulkExport sends SIGTERM while an auditor's bulk
// ZIP streams. The process exits 0 either way; the export either
// completes (its drain time was long enough) or ends in an error the
// client sees (it was cut at EXPORT_DRAIN_TIMEOUT): never a truncated file
// delivered as if whole.
func TestFaultSIGTERMDuringBulkExport(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	db, _, _, _ := faultFixture(t, dbURL, 1)
	ctx := context.Background()
	people, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner := signoff.EventActor{ID: people[0].ID, Name: people[0].Name, Via: "cli"}
	var auditor *signoff.User
	auditor, err = db.CreateUser(ctx, signoff.NewUser{Email: "auditor@example.com", Name: "Audrey Auditor",
		Password: testPassword, IsAuditor: true}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30 // more than the parallel export writes before a 1 ms drain cuts it
	for i := range n {
		d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: seedSlug, Service: "export",
			Environment: "production", Version: fmt.Sprintf("v%d", i)}, owner)
		if err != nil {
			t.Fatal(err)
		}
		// Completed without the ceremony: what the export reads is there.
		if _, err := db.Pool().Exec(ctx, `UPDATE deployments SET status = 'completed', completed_at = now(), locked_at = now() WHERE id = $1`, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, drain string
		whole       bool
	}{
		{"cut at its drain time", "1ms", false},
		{"finished within it", "2m", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProcess(t, dbURL, freePort(t), "EXPORT_DRAIN_TIMEOUT="+tc.drain)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			if code, _, err := formPost(ctx, c, p.base, "/login", url.Values{"email": {auditor.Email}, "password": {testPassword}}); err != nil || code != http.StatusSeeOther {
				t.Fatalf("login: %d %v", code, err)
			}
			res, err := c.Get(p.base + "/audit/export.zip")
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("export: %v %v", res, err)
			}
			defer res.Body.Close()
			var got bytes.Buffer
			if _, err := io.CopyN(&got, res.Body, 1); err != nil {
				t.Fatalf("the export sent nothing: %v", err)
			}
			start := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			_, readErr := io.Copy(&got, res.Body)
			select {
			case err := <-p.done:
				if err != nil {
					t.Errorf("signoff exited with %v after SIGTERM; want 0", err)
				}
			case <-time.After(2*time.Minute + 30*time.Second):
				t.Fatal("signoff did not exit after SIGTERM")
			}
			zr, zipErr := zip.NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()))
			t.Logf("%d bytes in %v after SIGTERM; read error %v; zip error %v", got.Len(), time.Since(start).Round(time.Millisecond), readErr, zipErr)
			if !tc.whole {
				if readErr == nil || zipErr == nil {
					t.Fatalf("the cut export looked whole: read error %v, zip error %v", readErr, zipErr)
				}
				return
			}
			if readErr != nil || zipErr != nil {
				t.Fatalf("the export did not finish: read error %v, zip error %v", readErr, zipErr)
			}
			var m struct{ Deployments int }
			f, err := zr.Open("manifest.json")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := json.NewDecoder(f).Decode(&m); err != nil || m.Deployments != n || len(zr.File) != 3*n+1 {
				t.Fatalf("manifest says %d deployments (%v), %d files; want %d", m.Deployments, err, len(zr.File), n)
			}
		})
	}
}

// TestFaultReadyzWhileTheDiskIsFull puts the cluster's data on a small
// tmpfs, fills it, and watches /readyz: it fails within seconds, saying
// the disk is full, a change is refused as such ("nothing was changed"),
// and /readyz passes again by itself once space is freed. (Mounting needs
// root, as the test suite runs; the test fails, never skips, without it.)
func TestFaultReadyzWhileTheDiskIsFull(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "signoff-diskfull-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	mnt := filepath.Join(dir, "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160m,mode=0755", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs for the database (the test runs as root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	ctx := context.Background()
	cluster, err := embeddedpg.Start(ctx, embeddedpg.Config{DataDir: filepath.Join(mnt, "pg"), Settings: map[string]string{"fsync": "off"}}, nil)
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	t.Cleanup(func() { cluster.Stop() })
	if err := postgres.Migrate(ctx, cluster.URL()); err != nil {
		t.Fatal(err)
	}
	db, _, _, _ := faultFixture(t, cluster.URL(), 1)
	people, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := startApp(t, cluster.URL())
	waitReady := func(status int, says string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			res, err := http.Get(a.URL + "/readyz")
			var body []byte
			if err == nil {
				body, _ = io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == status && strings.Contains(string(body), says) {
					return time.Since(start)
				}
			}
			if time.Since(start) > within {
				t.Fatalf("/readyz after %v: %v %q; want %d saying %q", within, err, body, status, says)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitReady(http.StatusOK, "ready", 5*time.Second)

	fill := filepath.Join(mnt, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v", err)
	}
	failed := waitReady(http.StatusServiceUnavailable, "disk is full", 5*time.Second)
	_, err = db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: seedSlug, Service: "full",
		Environment: "production", Version: "v1"}, signoff.EventActor{ID: people[0].ID, Name: people[0].Name, Via: "cli"})
	if postgres.Fault(err) != postgres.FaultDiskFull {
		t.Errorf("a change on a full disk failed with %v (fault %q); want %q", err, postgres.Fault(err), postgres.FaultDiskFull)
	}
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	recovered := waitReady(http.StatusOK, "ready", 5*time.Second)
	t.Logf("/readyz failed %v after the disk filled and passed again %v after it was freed", failed.Round(time.Millisecond), recovered.Round(time.Millisecond))
	res, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(m), `signoff_not_ready_total{cause="disk_full"}`) {
		t.Errorf("the metrics do not count the disk-full spell")
	}
}
