package audit_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
)

// The independent verifier (verifier/python, written from docs/audit.md)
// and Verify agree on every export and every tamper here: exports of both
// versions, single-byte flips, record fields edited and signed again with
// the real key, payloads two JSON readers could read differently, and the
// log's proof tampered with.
func TestPythonVerifierAgrees(t *testing.T) {
	t.Parallel()
	run := lifecycle(t)
	final, stale := exportJSON(t, run.final), exportJSON(t, run.stale)
	gated := exportJSON(t, gatedRecord(t, run.db))
	files := map[string][]byte{"final.json": final, "stale.json": stale, "gated.json": gated}
	for _, name := range []string{"tiny-export.json", "tiny-export-v2.json", "lifecycle-export.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files["testdata-"+name] = b
		// Single-byte flips, spread over the whole file.
		for k := range 60 {
			i := k * (len(b) - 1) / 59
			files[fmt.Sprintf("flip-%s-%d", name, i)] = flip(b, i)
		}
	}
	// Record fields edited, signed again with the real key: the events
	// back some (both refuse them), not others (both accept them: only
	// the signature protects them, and whoever holds the key signed).
	edits := map[string]func(d *audit.Document){
		"status":     func(d *audit.Document) { d.Deployment.Status = "live" },
		"created-by": func(d *audit.Document) { d.Deployment.CreatedBy.Name = "Mallory" },
		"item-state": func(d *audit.Document) { d.Items[5].State = "na" },
		"item-history": func(d *audit.Document) {
			for i := range d.Items {
				if len(d.Items[i].History) > 0 {
					d.Items[i].History = d.Items[i].History[1:]
					return
				}
			}
		},
		"item-evidence":   func(d *audit.Document) { d.Items[5].Evidence = "forged" },
		"note":            func(d *audit.Document) { d.Notes[0].Value = "forged" },
		"slot":            func(d *audit.Document) { d.Slots[0].State = "unsigned" },
		"signoff-status":  func(d *audit.Document) { d.Signoffs[0].Status = "standing" },
		"signoff-meaning": func(d *audit.Document) { d.Signoffs[1].Meaning = "I did not read it." },
		"comment":         func(d *audit.Document) { d.Comments[0].Body = "forged" },
		"rejection":       func(d *audit.Document) { d.Rejections[0].Comment = "forged" },
		"no-rejections":   func(d *audit.Document) { d.Rejections = nil },
		"template-title":  func(d *audit.Document) { d.Template.Title = "Another" },
		"unbacked-text":   func(d *audit.Document) { d.Items[0].Text = "unbacked" },
		"unbacked-group":  func(d *audit.Document) { d.Slots[0].Group = "unbacked" },
		"log-leaf":        func(d *audit.Document) { d.Log.LeafIndex++ },
		"log-chain":       func(d *audit.Document) { d.Log.ChainIndex++ },
		"log-proof":       func(d *audit.Document) { d.Log.InclusionProof = d.Log.InclusionProof[1:] },
		"log-note":        func(d *audit.Document) { d.Log.Checkpoint = strings.Replace(d.Log.Checkpoint, "\n", "\n1", 1) },
		"truncated": func(d *audit.Document) {
			d.Events = d.Events[:len(d.Events)-1]
		},
	}
	for name, edit := range edits {
		doc := parse(t, final)
		edit(doc)
		files["edit-"+name+".json"] = reseal(t, doc, testSigner)
	}
	// A gate's slot, edited: it went stale by an item above it.
	for name, edit := range map[string]func(d *audit.Document){
		"gate-state": func(d *audit.Document) { d.Slots[2].State = "signed" },
		"gate-rev":   func(d *audit.Document) { d.Slots[0].State = "stale" },
	} {
		doc := parse(t, gated)
		edit(doc)
		files["edit-"+name+".json"] = reseal(t, doc, testSigner)
	}
	// Payloads read differently by lenient readers, chain recomputed and
	// signed again.
	var note int
	for i, e := range parse(t, final).Events {
		if e.Action == "note.edit" {
			note = i
		}
	}
	for name, c := range map[string][2]string{
		"duplicate": {`,"value":"`, `,"value":"forged","value":"`},
		"case":      {`,"value":"`, `,"Value":"`},
		"unknown":   {`,"value":"`, `,"valued":"yes","value":"`},
		"type":      {`"value":""}`, `"value":0}`},
		"null":      {`"value":""}`, `"value":null}`},
		"missing":   {`,"value":""}`, `}`},
		"space":     {`"value":""}`, `"value": ""}`},
		"reorder":   {`"before":{"name":`, `"before":{"value":"","name":`},
		"escape":    {`"action":"note.edit"`, `"action":"note\u002eedit"`},
	} {
		doc := parse(t, final)
		e := &doc.Events[note]
		if !strings.Contains(e.Payload, c[0]) {
			t.Fatalf("payload %s: no %s in %s", name, c[0], e.Payload)
		}
		e.Payload = strings.Replace(e.Payload, c[0], c[1], 1)
		rechain(doc)
		files["payload-"+name+".json"] = reseal(t, doc, testSigner)
	}

	// Evidence-file and assignment payloads that no store writes: both
	// verifiers refuse them.
	for name, c := range map[string][3]string{
		"file-sha256":    {"item.file", `"sha256":"`, `"sha256":"XY`},
		"file-size":      {"item.file", `"size":`, `"size":-`},
		"comment-file":   {"item.comment", `"comment":`, `"file":0,"comment":`},
		"assign-both":    {"item.assign", `"items":`, `"role":3,"user":4,"items":`},
		"assign-noitems": {"item.assign", `"items":[`, `"itemz":[`},
	} {
		doc := parse(t, final)
		found := false
		for i := range doc.Events {
			e := &doc.Events[i]
			if e.Action == c[0] && strings.Contains(e.Payload, c[1]) {
				e.Payload, found = strings.Replace(e.Payload, c[1], c[2], 1), true
				break
			}
		}
		if !found {
			t.Fatalf("payload %s: no %s event with %s", name, c[0], c[1])
		}
		rechain(doc)
		files["payload-"+name+".json"] = reseal(t, doc, testSigner)
	}

	paths := audittest.WriteFiles(t, t.TempDir(), files)
	key := base64.StdEncoding.EncodeToString(testSigner.Public())
	python := audittest.PythonVerdicts(t, paths, "--key", key)
	accepted := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, goErr := audit.Verify(data, testSigner.Public())
		pyOK := strings.HasPrefix(python[p], "OK")
		if (goErr == nil) != pyOK {
			t.Errorf("%s: signoff verify says %v; the Python verifier says %s", filepath.Base(p), goErr, python[p])
		}
		if pyOK {
			accepted++
		}
	}
	// The exports and the edits only the signature protects verify; the
	// rest does not.
	if want := 6 + 2; accepted != want {
		t.Errorf("%d files verified; want %d (6 exports, 2 edits of what the events cannot back)", accepted, want)
	}
}
