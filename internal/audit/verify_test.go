package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/signoff"
)

func TestValidExportVerifies(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	file := exportJSON(t, rec)

	res := mustVerify(t, file, testSigner.Public())
	if res.DeploymentID != rec.Deployment.ID || res.Events != int64(len(rec.Events)) || res.Signoffs != 8 || !res.KeyGiven {
		t.Fatalf("result = %+v", res)
	}
	if s := res.Summary(); !strings.HasPrefix(s, "OK deployment") || strings.Contains(s, "\n") || strings.Contains(s, "self-asserted") {
		t.Fatalf("summary with a given key: %q", s)
	}
	// Without a key, the file's own key is used, and the summary says so.
	res = mustVerify(t, file, nil)
	if s := res.Summary(); !strings.Contains(s, "self-asserted") || !strings.Contains(s, testSigner.Fingerprint()) {
		t.Fatalf("summary with the embedded key: %q", s)
	}

	// The document says what the record holds.
	var doc audit.Document
	if err := json.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Format != audit.Format || doc.Version != audit.Version || doc.Template.Version != 1 || len(doc.Items) != 222 || len(doc.Slots) != 8 {
		t.Fatalf("document header: %s v%d, template v%d, %d items, %d slots", doc.Format, doc.Version, doc.Template.Version, len(doc.Items), len(doc.Slots))
	}
	for _, so := range doc.Signoffs {
		if so.PrintedName == "" || so.Meaning != signoff.Meaning(so.Role) || len(so.ChecklistSHA256) != 64 || so.Status != "standing" {
			t.Fatalf("sign-off %+v", so)
		}
	}
	if doc.Notes[2].Value != unicodeNote || len(doc.Notes[2].History) != 1 {
		t.Fatalf("note 3 = %+v", doc.Notes[2])
	}
	var naWithHistory bool
	for _, it := range doc.Items {
		if it.State == "na" && it.NAReason == formulaNA && len(it.History) == 1 && it.History[0].State == "na" {
			naWithHistory = true
		}
	}
	if !naWithHistory {
		t.Fatal("no N/A item carries its reason and history")
	}
	if doc.Checkpoint.EventCount != int64(len(doc.Events)) || doc.Checkpoint.HeadSHA256 != doc.Events[len(doc.Events)-1].SHA256 {
		t.Fatalf("checkpoint %+v", doc.Checkpoint)
	}
	// Encode is canonical: what Seal wrote re-encodes to itself.
	again, err := audit.Encode(&doc)
	if err != nil || !bytes.Equal(again, file) {
		t.Fatalf("re-encoding the export changes it (err %v)", err)
	}
}

// flip changes one byte, the way a careless or dishonest edit would.
func flip(file []byte, i int) []byte {
	out := bytes.Clone(file)
	out[i] ^= 0x01
	return out
}

func TestEverySingleByteFlipFails(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	file := exportJSON(t, rec)

	check := func(i int) {
		t.Helper()
		if _, err := audit.Verify(flip(file, i), nil); err == nil {
			t.Fatalf("flipping byte %d (%q in %q) still verifies", i, file[i], around(file, i))
		}
	}
	// 300 offsets spread evenly over the whole file, first and last included.
	for k := range 300 {
		check(k * (len(file) - 1) / 299)
	}
	// Every byte of one event in the middle of the chain.
	mid := rec.Events[len(rec.Events)/2]
	start := bytes.Index(file, []byte(`{"action":"`+mid.Action+`","actor":{"id":`+strconv.FormatInt(mid.Actor.ID, 10)+`,"name":`))
	for start >= 0 && !bytes.Contains(file[start:start+4000], fmt.Appendf(nil, `"seq":%d,"sha256"`, mid.Seq)) {
		next := bytes.Index(file[start+1:], []byte(`{"action":"`+mid.Action+`"`))
		if next < 0 {
			start = -1
			break
		}
		start += 1 + next
	}
	if start < 0 {
		t.Fatalf("event %d not found", mid.Seq)
	}
	end := bytes.Index(file[start:], []byte(`"}`)) + start + 2
	for i := start; i < end; i++ {
		check(i)
	}
	// Every byte of the checkpoint (the file's first member) and of the
	// log's proof.
	for i := 0; i < bytes.Index(file, []byte(`,"comments":`)); i++ {
		check(i)
	}
	for i := bytes.Index(file, []byte(`"log":{`)); i < bytes.Index(file, []byte(`,"notes":`)); i++ {
		check(i)
	}
}

// A flipped byte inside an event is reported as that event.
func TestFlipNamesTheEvent(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	file := exportJSON(t, rec)
	i := bytes.Index(file, []byte(`\"target\":\"item/1.1.2.3\"`)) // inside the payload's string
	payload := bytes.LastIndex(file[:i], []byte(`"payload":"`)) + len(`"payload":"`) + 5
	_, err := audit.Verify(flip(file, payload), nil)
	var ve *audit.Error
	if !errors.As(err, &ve) || ve.Seq == 0 {
		t.Fatalf("err = %v; want one naming the event", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("event %d: ", ve.Seq)) {
		t.Fatalf("err = %v", err)
	}
}

func around(b []byte, i int) string { return string(b[max(0, i-30):min(len(b), i+30)]) }

// reseal re-encodes a tampered document with the right key, as someone who
// holds the server's key could: only the chain and the sign-off hashes can
// give it away then.
func reseal(t testing.TB, doc *audit.Document, s *audit.Signer) []byte {
	t.Helper()
	out, err := audit.Seal(doc, s, doc.Checkpoint.SignedAt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parse(t testing.TB, file []byte) *audit.Document {
	t.Helper()
	var doc audit.Document
	if err := json.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func TestRemovedReorderedOrInsertedEventsFail(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	file := exportJSON(t, rec)
	n := len(parse(t, file).Events)

	cases := []struct {
		name   string
		tamper func(d *audit.Document)
		want   string
	}{
		{"remove one in the middle", func(d *audit.Document) {
			d.Events = append(d.Events[:10:10], d.Events[11:]...)
		}, "event 11: "},
		// The chain without its last event (the final approval) is intact
		// as far as it goes: the record, which says completed, gives it away.
		{"remove the last", func(d *audit.Document) { d.Events = d.Events[:n-1] },
			`deployment.status is "completed" in the record, but replaying the events gives "in_progress"`},
		{"remove the first", func(d *audit.Document) { d.Events = d.Events[1:] }, "event 1: "},
		{"swap two", func(d *audit.Document) { d.Events[20], d.Events[21] = d.Events[21], d.Events[20] }, "event 21: "},
		{"insert a copy", func(d *audit.Document) {
			d.Events = append(d.Events[:31:31], append([]audit.Event{d.Events[30]}, d.Events[31:]...)...)
		}, "event 32: "},
		{"renumber after removing", func(d *audit.Document) {
			d.Events = append(d.Events[:10:10], d.Events[11:]...)
			for i := range d.Events {
				d.Events[i].Seq = int64(i + 1)
			}
		}, "event 11: "},
	}
	for _, c := range cases {
		for _, key := range []*audit.Signer{testSigner, otherSigner} {
			doc := parse(t, file)
			c.tamper(doc)
			// Re-signed with the real key or an impostor's: either way it fails.
			_, err := audit.Verify(reseal(t, doc, key), testSigner.Public())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s (signed by %s): err = %v; want %q", c.name, key.Fingerprint(), err, c.want)
			}
		}
	}
}

// rechain recomputes every event's hashes after payloads changed.
func rechain(doc *audit.Document) {
	prev := make([]byte, 32)
	for i := range doc.Events {
		e := &doc.Events[i]
		e.PrevSHA256 = hex.EncodeToString(prev)
		prev = signoff.ChainHash(prev, []byte(e.Payload))
		e.SHA256 = hex.EncodeToString(prev)
	}
}

func TestSignoffWhoseHashDoesNotMatchFails(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	doc := parse(t, exportJSON(t, rec))

	// A server that lies about what was signed: one sign-off claims another
	// checklist state, consistently in its event and its entry, the chain
	// recomputed and the whole signed with the real key.
	so := &doc.Signoffs[2]
	fake := strings.Repeat("ab", 32)
	ev := &doc.Events[so.AuditSeq-1]
	ev.Payload = strings.Replace(ev.Payload, so.ChecklistSHA256, fake, 1)
	so.ChecklistSHA256 = fake
	rechain(doc)
	_, err := audit.Verify(reseal(t, doc, testSigner), testSigner.Public())
	want := fmt.Sprintf("event %d: the sign-off of slot %d (%s, %s) claims checklist SHA-256 %s", so.AuditSeq, so.Slot, so.Role, so.PrintedName, fake)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %q", err, want)
	}

	// An item ticked in the record that no event ticked.
	doc = parse(t, exportJSON(t, rec))
	for i := range doc.Items {
		if doc.Items[i].State == "na" {
			doc.Items[i].State, doc.Items[i].NAReason = "done", ""
			want = fmt.Sprintf(`items[%d].state (item %s) is "done" in the record, but replaying the events gives "na"`, i, doc.Items[i].Path)
			break
		}
	}
	if _, err := audit.Verify(reseal(t, doc, testSigner), nil); err == nil || err.Error() != want {
		t.Fatalf("item state edit: err = %v\nwant %s", err, want)
	}

	// An earlier item.state event rewritten (chain recomputed, re-signed):
	// an N/A without a reason is refused where it stands (were it given
	// one, the state at the first signature would no longer match its
	// hash).
	doc = parse(t, exportJSON(t, rec))
	for i := range doc.Events {
		e := &doc.Events[i]
		if e.Action == signoff.ActItemState && strings.Contains(e.Payload, `"after":{"state":"done"`) {
			e.Payload = strings.Replace(e.Payload, `"after":{"state":"done"`, `"after":{"state":"na"`, 1)
			break
		}
	}
	rechain(doc)
	if _, err := audit.Verify(reseal(t, doc, testSigner), nil); err == nil || !strings.Contains(err.Error(), "N/A, and only N/A, needs a reason") {
		t.Fatalf("rewritten history: err = %v", err)
	}
}

func TestWrongPublicKeyFails(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	file := exportJSON(t, rec)
	_, err := audit.Verify(file, otherSigner.Public())
	if err == nil || !strings.Contains(err.Error(), "not by the given key "+otherSigner.Fingerprint()) {
		t.Fatalf("err = %v", err)
	}

	// Someone re-signs an edited record with their own key: the log's
	// checkpoint, signed by the server's key, gives it away even on the
	// file's own (self-asserted) key, and it fails on the server's. (The
	// edit is to an item's text, which the events cannot back: only the
	// signature protects it.)
	doc := parse(t, file)
	doc.Items[0].Text = "**Production server provisioned** somewhere"
	forged := reseal(t, doc, otherSigner)
	if _, err := audit.Verify(forged, nil); err == nil || !strings.Contains(err.Error(), "log: signed checkpoint") {
		t.Fatalf("forged with its own key: %v; want the log's checkpoint to fail", err)
	}
	if _, err := audit.Verify(forged, testSigner.Public()); err == nil {
		t.Fatal("a record re-signed with another key verifies against the server's key")
	}
}

func TestKeyFormats(t *testing.T) {
	t.Parallel()
	pub := testSigner.Public()
	info := audit.PublicKeyInfo(pub)
	raw, _ := json.Marshal(info)
	for name, s := range map[string]string{
		"base64": info.PublicKey, "pem": info.PEM, "well-known text": audit.PublicKeyText(pub), "json": string(raw),
		"unpadded": strings.TrimRight(info.PublicKey, "="),
	} {
		got, err := audit.ParsePublicKey(s)
		if err != nil || !got.Equal(pub) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := audit.ParsePublicKey("not a key"); err == nil {
		t.Error("garbage parsed as a public key")
	}
	seed := bytes.Repeat([]byte{7}, 32)
	s, _ := audit.SignerFromSeed(seed)
	for name, in := range map[string]string{
		"seed":    "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
		"private": base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed)),
	} {
		k, err := audit.ParsePrivateKey(in)
		if err != nil || !audit.NewSigner(k).Public().Equal(s.Public()) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := audit.ParsePrivateKey("c2hvcnQ="); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	if !strings.HasPrefix(testSigner.Fingerprint(), "SHA256:") || len(testSigner.Fingerprint()) != 7+43 {
		t.Errorf("fingerprint %q", testSigner.Fingerprint())
	}
}
