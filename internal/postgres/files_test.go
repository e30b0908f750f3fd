package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)

func TestFilesAddListReadAndRefuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	ev, err := db.AddFile(ctx, d.ID, "1.1.2", postgres.Upload{Name: `C:\shots\login "ok".png`, Data: pngBytes}, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pngBytes)
	p := payload(t, ev)
	f, ok := p.Body.(*signoff.ItemFileEvent)
	if !ok || ev.Action != signoff.ActItemFile || ev.Target != "item/1.1.2" {
		t.Fatalf("file event = %+v %T", ev, p.Body)
	}
	if f.After.SHA256 != hex.EncodeToString(sum[:]) || f.After.Size != int64(len(pngBytes)) ||
		f.After.ContentType != "image/png" || f.After.Name != "login ok.png" || f.After.File == 0 {
		t.Fatalf("file event after = %+v", f.After)
	}
	// A comment with a file: one event naming both.
	log := []byte("migrate: 14 applied\nok\n")
	ev, err = db.AddCommentWithFile(ctx, d.ID, "1.1.2", "Migration log attached.", postgres.Upload{Name: "migrate.log", Data: log}, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	var after signoff.ItemCommentAfter
	if err := json.Unmarshal(payload(t, ev).After, &after); err != nil {
		t.Fatal(err)
	}
	logSum := sha256.Sum256(log)
	if after.Body != "Migration log attached." || after.File == 0 || after.SHA256 != hex.EncodeToString(logSum[:]) ||
		after.ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("comment with file after = %+v", after)
	}

	files, err := db.Files(ctx, d.ID, "")
	if err != nil || len(files) != 2 {
		t.Fatalf("files = %+v, %v", files, err)
	}
	if files[0].CommentID != 0 || files[1].CommentID != after.Comment || files[1].Preview != string(log) || files[0].Preview != "" {
		t.Fatalf("files = %+v", files)
	}
	full, err := db.File(ctx, d.ID, files[0].ID)
	if err != nil || !bytes.Equal(full.Data, pngBytes) || full.SHA256 != f.After.SHA256 {
		t.Fatalf("file = %+v, %v", full, err)
	}
	if it := item(t, db, d, "1.1.2"); it.FileCount != 2 || it.CommentCount != 1 {
		t.Fatalf("item counts: %d files, %d comments", it.FileCount, it.CommentCount)
	}
	// Another deployment's id does not reach the file.
	other := newSmallDeployment(t, db, alice, "voxflow-web")
	_, err = db.File(ctx, other.ID, files[0].ID)
	wantCode(t, err, signoff.ENOTFOUND)

	// What an attacker would send is refused, and nothing is written.
	seq := reload(t, db, d).AuditSeq
	for name, c := range map[string]struct {
		file postgres.Upload
		code string
	}{
		"svg":           {postgres.Upload{Name: "x.svg", Data: []byte(`<svg onload="alert(1)"/>`)}, signoff.EUNSUPPORTED},
		"html":          {postgres.Upload{Name: "x.html", Data: []byte(`<script>alert(1)</script>`)}, signoff.EUNSUPPORTED},
		"html as png":   {postgres.Upload{Name: "x.png", Data: []byte(`<html><script>alert(1)</script>`)}, signoff.EUNSUPPORTED},
		"binary as txt": {postgres.Upload{Name: "x.txt", Data: []byte("MZ\x00\x00\x90")}, signoff.EUNSUPPORTED},
		"no extension":  {postgres.Upload{Name: "report", Data: []byte("text")}, signoff.EUNSUPPORTED},
		"empty":         {postgres.Upload{Name: "x.txt"}, signoff.EINVALID},
		"too large":     {postgres.Upload{Name: "big.log", Data: bytes.Repeat([]byte("a"), signoff.MaxFileBytes+1)}, signoff.ETOOLARGE},
		"path only":     {postgres.Upload{Name: "../", Data: []byte("x")}, signoff.EINVALID},
		"item it lacks": {postgres.Upload{Name: "x.txt", Data: []byte("x")}, signoff.ENOTFOUND},
	} {
		path := "1.1.2"
		if name == "item it lacks" {
			path = "9.9.9"
		}
		_, err := db.AddFile(ctx, d.ID, path, c.file, as(alice))
		if signoff.ErrorCode(err) != c.code {
			t.Errorf("%s: %v; want %s", name, err, c.code)
		}
	}
	if got := reload(t, db, d).AuditSeq; got != seq {
		t.Fatalf("refused files wrote: seq %d, was %d", got, seq)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM evidence_files`); n != 2 {
		t.Fatalf("%d files stored; want 2", n)
	}
	checkChain(t, db, d.ID)

	// A deployment that may no longer change takes no file and no assignment.
	if _, err := db.SetStatus(ctx, other.ID, signoff.StatusAborted, "Superseded.", as(alice)); err != nil {
		t.Fatal(err)
	}
	_, err = db.AddFile(ctx, other.ID, "1.1.2", postgres.Upload{Name: "late.log", Data: []byte("x")}, as(alice))
	if code := signoff.ErrorCode(err); code != signoff.ECONFLICT && code != signoff.ELOCKED {
		t.Fatalf("file on an aborted deployment: %v", err)
	}
	_, err = db.Assign(ctx, other.ID, "1.1.2", postgres.AssignTo{User: alice.ID}, as(alice))
	if code := signoff.ErrorCode(err); code != signoff.ECONFLICT && code != signoff.ELOCKED {
		t.Fatalf("assignment on an aborted deployment: %v", err)
	}
}

func TestFilesAreAppendOnlyForTheApp(t *testing.T) {
	t.Parallel()
	sql := postgres.RuntimeGrantsSQL
	if !strings.Contains(sql[strings.Index(sql, "REVOKE"):strings.Index(sql, "FROM signoff_app")], "evidence_files") {
		t.Fatal("evidence_files is not in RuntimeGrantsSQL's REVOKE")
	}
}

func TestAssignItemsSectionsAndMyWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	dana := addUser(t, db, "Dana Whitfield", "Database Administrator")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	roles, err := db.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dba int64
	for _, r := range roles {
		if r.Name == "Database Administrator" {
			dba = r.ID
		}
	}

	// An item to a person.
	ev, err := db.Assign(ctx, d.ID, "1.1.2", postgres.AssignTo{User: alice.ID}, as(dana))
	if err != nil {
		t.Fatal(err)
	}
	a := payload(t, ev).Body.(*signoff.ItemAssignEvent).After
	if ev.Target != "item/1.1.2" || a.User != alice.ID || a.Name != "Alice Chen" || a.Items != nil {
		t.Fatalf("assign event %s %+v", ev.Target, a)
	}
	// The same again records nothing.
	if ev, err := db.Assign(ctx, d.ID, "1.1.2", postgres.AssignTo{User: alice.ID}, as(dana)); err != nil || ev.Seq != 0 {
		t.Fatalf("repeat assign: %+v, %v", ev, err)
	}
	// A section to a role: one event listing its items.
	ev, err = db.Assign(ctx, d.ID, "1.2", postgres.AssignTo{Role: dba}, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	a = payload(t, ev).Body.(*signoff.ItemAssignEvent).After
	if ev.Target != "section/1.2" || a.Role != dba || strings.Join(a.Items, " ") != "1.2.1 1.2.2" {
		t.Fatalf("section assign event %s %+v", ev.Target, a)
	}
	if it := item(t, db, d, "1.2.2"); it.Assignee == nil || it.Assignee.Role != dba || it.Assignee.Name != "Database Administrator" {
		t.Fatalf("assignee of 1.2.2 = %+v", it.Assignee)
	}

	work, err := db.MyWork(ctx, dana.ID, 100)
	if err != nil || len(work) != 2 || work[0].Item.Path != "1.2.1" || work[0].Deployment.ID != d.ID {
		t.Fatalf("Dana's work = %+v, %v", work, err)
	}
	work, _ = db.MyWork(ctx, alice.ID, 100)
	if len(work) != 1 || work[0].Item.Path != "1.1.2" {
		t.Fatalf("Alice's work = %+v", work)
	}
	// Done work leaves the list.
	tick(t, db, d, "1.2.1", signoff.ItemDone, dana)
	if work, _ = db.MyWork(ctx, dana.ID, 100); len(work) != 1 || work[0].Item.Path != "1.2.2" {
		t.Fatalf("Dana's work after a tick = %+v", work)
	}

	// Refused, changing nothing: both at once, nobody there, no such item.
	seq := reload(t, db, d).AuditSeq
	_, err = db.Assign(ctx, d.ID, "1.1.2", postgres.AssignTo{User: alice.ID, Role: dba}, as(alice))
	wantCode(t, err, signoff.EINVALID)
	_, err = db.Assign(ctx, d.ID, "1.1.2", postgres.AssignTo{User: 99999}, as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.Assign(ctx, d.ID, "1.9", postgres.AssignTo{User: alice.ID}, as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.Assign(ctx, d.ID, "x", postgres.AssignTo{User: alice.ID}, as(alice))
	wantCode(t, err, signoff.EINVALID)
	if got := reload(t, db, d).AuditSeq; got != seq {
		t.Fatalf("refused assignments wrote: seq %d, was %d", got, seq)
	}
	// Cleared.
	if ev, err = db.Assign(ctx, d.ID, "1.1.2", postgres.AssignTo{}, as(alice)); err != nil || ev.Seq == 0 {
		t.Fatalf("clear: %+v, %v", ev, err)
	}
	if it := item(t, db, d, "1.1.2"); it.Assignee != nil {
		t.Fatalf("cleared assignee = %+v", it.Assignee)
	}
	checkChain(t, db, d.ID)
}
