package ui

import (
	"reflect"
	"testing"
)

func TestInlineSpans(t *testing.T) {
	got := inlineSpans("Run migration script: `./migrate-database.sh migrate` now")
	want := []span{{Text: "Run migration script: "}, {Text: "./migrate-database.sh migrate", Code: true}, {Text: " now"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	got = inlineSpans("a * b **bold** `unclosed")
	want = []span{{Text: "a *"}, {Text: " b "}, {Text: "bold", Bold: true}, {Text: " "}, {Text: "`unclosed"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
}

func FuzzInlineSpans(f *testing.F) {
	f.Add("**Backup current system** (if updating) `x`")
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		for _, sp := range inlineSpans(s) {
			n += len(sp.Text)
		}
		if n > len(s) {
			t.Fatalf("spans longer than input")
		}
	})
}
