package audit_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/signoff"
)

// smallTemplate keeps fuzzed files small, so the fuzzer runs fast.
const smallTemplate = `# Tiny Release

One service, one check.

## Do it

### Steps
- [ ] **Build** the image
  - [ ] Tag it (if applicable)
- [ ] **Ship** it → prod

## Sign-off

### Technical Sign-off
- **Deployment Engineer**: _________________ Date: _________

### Final Approval
- **CTO/Technical Director**: _________________ Date: _________

## Notes

**Issues Encountered**: 
_________________________________________________
`

var update = flag.Bool("update", false, "rewrite testdata/tiny-export-v2.json")

// tinyExport is a signed export (version 2) of a small deployment, made by
// TestTinyExport -update. The fuzzer starts from it and from tinyExportV1
// (the same made by the code before version 2), and they prove that
// exports made earlier still verify.
const (
	tinyExport   = "testdata/tiny-export-v2.json"
	tinyExportV1 = "testdata/tiny-export.json"
)

func TestTinyExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := signedDeployment(t, audittest.Options{Fast: true})
	if _, _, err := db.ImportTemplate(ctx, []byte(smallTemplate), "tiny", signoff.EventActor{Name: "fuzz", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	team := audittest.Team{}
	users, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		for _, r := range u.Roles {
			team[r.Name] = u
		}
	}
	d, err := audittest.Completed(ctx, db, team, audittest.Options{Template: "tiny", Service: "tiny", Environment: "prod", Version: "v1",
		Notes: map[int]string{1: "nothing → fine 😀"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.SignedRecord(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	file := exportJSON(t, rec)
	mustVerify(t, file, testSigner.Public())
	if *update {
		if err := os.WriteFile(tinyExport, file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(tinyExport)
	if err != nil {
		t.Fatalf("%v (make it with go test -run TestTinyExport -update)", err)
	}
	mustVerify(t, old, testSigner.Public())
}

// FuzzVerify: whatever bytes it gets, Verify never panics, and the only
// file it accepts is the one Signoff wrote.
func FuzzVerify(f *testing.F) {
	original, err := os.ReadFile(tinyExport)
	if err != nil {
		f.Fatal(err)
	}
	mustVerify(f, original, testSigner.Public())
	v1, err := os.ReadFile(tinyExportV1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v1)
	f.Add(original)
	f.Add(flip(original, len(original)/2))
	f.Add(original[:len(original)-1])
	f.Add(append(bytes.Clone(original), ' '))
	f.Add(bytes.ReplaceAll(original, []byte("\n  "), []byte("\n   ")))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"signoff-audit-record","version":1,"events":[{"seq":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, key := range [][]byte{testSigner.Public(), nil} {
			res, err := audit.Verify(data, key)
			if err == nil && !bytes.Equal(data, original) && !bytes.Equal(data, v1) {
				t.Fatalf("accepted bytes that are not the original export: %s", res.Summary())
			}
			if err != nil && (bytes.Equal(data, original) || bytes.Equal(data, v1)) {
				t.Fatalf("rejected the original export: %v", err)
			}
		}
	})
}
