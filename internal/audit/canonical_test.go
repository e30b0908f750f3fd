package audit_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
)

// nastyStrings are what the direct canonical encoder must write exactly as
// encoding/json and jsontext do: escapes with and without a short form,
// what encoding/json escapes for HTML and jsontext writes back as it is,
// invalid UTF-8, characters beyond the BMP, and JSON inside a string.
var nastyStrings = []string{
	"", "plain", `"quoted" \back\slash/`, "\b\f\n\r\t\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "\u2028\u2029", "bad \xff\xfe utf-8 \xc3", "\xed\xa0\x80 surrogate",
	"emoji 🚀 and ünïcödé → ✓", "\uFFFD literal", `{"a":[1,2],"b":"c\"d"}`, "trailing \xe2\x82",
}

// TestCanonicalEncoderAgrees holds the direct canonical encoder against
// the general one (encoding/json, then jsontext's Canonicalize): on a real
// record, sealed and not, and on that record with every string, number,
// pointer and slice set to awkward values.
func TestCanonicalEncoderAgrees(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{Fast: true, Notes: map[int]string{3: unicodeNote}})
	doc, err := audit.Build(rec, exportTime)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, v any) {
		t.Helper()
		want, err := audit.EncodeCanonicalReflect(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := audit.EncodeCanonical(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			lo := max(0, i-80)
			t.Fatalf("%s: the direct encoding differs at byte %d:\n got %q\nwant %q", name, i,
				got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
		}
	}
	same("built", doc)
	if _, err := audit.Seal(doc, testSigner, doc.ExportedAt); err != nil {
		t.Fatal(err)
	}
	same("sealed", doc)
	same("checkpoint", doc.Checkpoint)

	// Integers JCS writes as they are, and (every fourth round) some it
	// would round, which send the document to the general path.
	exact := []int64{0, 1, -1, 1<<53 - 1, -(1<<53 - 1), 42}
	big := []int64{0, 1 << 53, 1<<60 + 1, -1 << 62}
	for round := range 2 * len(nastyStrings) {
		d := deepCopy(doc)
		seq := round
		ints := exact
		if round%4 == 3 {
			ints = big
		}
		fill(reflect.ValueOf(d).Elem(), &seq, ints, round%3 == 0)
		if round%2 == 0 {
			d.Log = &audit.Log{Checkpoint: nastyStrings[round%len(nastyStrings)], LeafIndex: 7, InclusionProof: []string{"a", "b"}}
			d.Rejections = []audit.Rejection{{Slot: 1, Role: "QA", Comment: nastyStrings[(round+1)%len(nastyStrings)], AuditSeq: 4}}
		}
		same("filled", d)
		if b, _ := audit.EncodeCanonical(d); !bytes.Contains(b, []byte(`\b\f\n\r\t\u0000`)) || !bytes.Contains(b, []byte("\uFFFD")) {
			t.Fatalf("round %d wrote none of the awkward strings: %.300s", round, b)
		}
	}
}

// deepCopy copies a document through its JSON form.
func deepCopy(d *audit.Document) *audit.Document {
	var out audit.Document
	b, err := audit.EncodeCanonicalReflect(d)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

// fill sets every string, integer and bool under v to a value taken in
// turn from the awkward ones, and (with nils) every other pointer and
// slice to nil.
func fill(v reflect.Value, seq *int, ints []int64, nils bool) {
	*seq++
	switch v.Kind() {
	case reflect.String:
		v.SetString(nastyStrings[*seq%len(nastyStrings)])
	case reflect.Int, reflect.Int64:
		v.SetInt(ints[*seq%len(ints)])
	case reflect.Bool:
		v.SetBool(*seq%2 == 0)
	case reflect.Pointer:
		switch {
		case nils && *seq%2 == 0:
			v.SetZero()
		case v.IsNil():
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), seq, ints, nils)
		default:
			fill(v.Elem(), seq, ints, nils)
		}
	case reflect.Slice:
		if nils && *seq%2 == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			fill(v.Index(i), seq, ints, nils)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seq, ints, nils)
			}
		}
	}
}
