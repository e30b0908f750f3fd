package audit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/signoff"
)

// Exports made by earlier code verify as they are: tiny-export.json (the
// fuzzer's seed) and lifecycle-export.json, made by the code that wrote
// payloads from maps, with every kind of deployment event (a planned
// deployment, an N/A on a parent, ticks and unticks, a comment, evidence,
// a note, going live, a signature revoked, one gone stale and replaced,
// the final approval by a person who signed another slot while the
// template allowed it), in text that needs escaping. Their every payload
// reads as its typed event and is what the store writes for it today.
func TestOldExportsStillVerify(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("testdata exports: %v %v", files, err)
	}
	kinds := map[string]bool{}
	for _, name := range files {
		file, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, file, testSigner.Public())
		for _, e := range parse(t, file).Events {
			ev, err := signoff.DecodeEvent([]byte(e.Payload))
			if err != nil {
				t.Fatalf("%s event %d: %v", name, e.Seq, err)
			}
			ch := signoff.NewChange(ev.Actor, ev.Target, ev.Body)
			again, err := signoff.EncodePayload(signoff.EventPayload{V: ev.V, Chain: ev.Chain, Seq: ev.Seq, At: ev.At,
				Actor: ev.Actor, Action: ch.Action, Target: ch.Target}, ch.Before, ch.After)
			if err != nil || string(again) != e.Payload {
				t.Errorf("%s event %d (%v):\n old %s\n new %s", name, e.Seq, err, e.Payload, again)
			}
			kinds[e.Action] = true
		}
	}
	for _, a := range []string{signoff.ActDeploymentCreate, signoff.ActDeploymentStatus, signoff.ActItemState, signoff.ActItemComment,
		signoff.ActItemEvidence, signoff.ActNoteEdit, signoff.ActSignoffSign, signoff.ActSignoffRevoke} {
		if !kinds[a] {
			t.Errorf("no old export holds a %s event", a)
		}
	}
}

// A payload two JSON readers could read differently fails verification
// even with its chain recomputed and the record signed with the real key:
// encoding/json v1 would take the last of a duplicated key, match keys in
// any case and ignore unknown ones, so the replay could have seen another
// change than the one an auditor reads in the file.
func TestAmbiguousPayloadFails(t *testing.T) {
	t.Parallel()
	run := lifecycle(t)
	file := exportJSON(t, run.final)
	var note int
	for i, e := range parse(t, file).Events {
		if e.Action == signoff.ActNoteEdit {
			note = i
		}
	}
	cases := []struct {
		name, old, new, want string
	}{
		{"a duplicated key", `,"value":"`, `,"value":"forged","value":"`, `duplicate object member name "value"`},
		{"a key in another case", `,"value":"`, `,"Value":"`, `unknown object member name "Value"`},
		{"an unknown key", `,"value":"`, `,"valued":"yes","value":"`, `unknown object member name "valued"`},
		{"a wrong type", `"value":""}`, `"value":0}`, `JSON number into Go string`},
		{"a null", `"value":""}`, `"value":null}`, `not as Signoff writes it`},
		{"a key missing", `,"value":""}`, `}`, `not as Signoff writes it`},
	}
	for _, c := range cases {
		doc := parse(t, file)
		e := &doc.Events[note]
		if !strings.Contains(e.Payload, c.old) {
			t.Fatalf("%s: event %d has no %s: %s", c.name, e.Seq, c.old, e.Payload)
		}
		e.Payload = strings.Replace(e.Payload, c.old, c.new, 1)
		rechain(doc)
		_, err := audit.Verify(reseal(t, doc, testSigner), testSigner.Public())
		want := fmt.Sprintf("event %d: %s payload", e.Seq, e.Action)
		if c.name == "a duplicated key" {
			want = fmt.Sprintf("event %d: payload", e.Seq) // refused before the action is known
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v\nwant %q … %q", c.name, err, want, c.want)
		}
	}
}
