package checklist

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from Render's output")

func TestRenderSeedByteForByte(t *testing.T) {
	got := Render(mustParse(t, Seed))
	if !bytes.Equal(got, Seed) {
		t.Fatalf("Render(Parse(seed)) differs from the seed at byte %d:\n%s", firstDiff(got, Seed), diffContext(got, Seed))
	}
}

// TestRenderRoundTrip checks, for every hand-written input, that the export
// imports to the same template, that exporting again changes nothing, and
// that the export matches its golden file (run with -update to rewrite).
func TestRenderRoundTrip(t *testing.T) {
	for _, path := range testdataFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first := mustParse(t, src)
			out := Render(first)
			second, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Render(t)): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(first, second) {
				t.Fatalf("round trip changed the template:\nfirst:  %+v\nsecond: %+v\nexport:\n%s", first, second, out)
			}
			if again := Render(second); !bytes.Equal(again, out) {
				t.Fatalf("second export differs from the first:\n%s\n---\n%s", out, again)
			}
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("export differs from %s:\n%s", golden, diffContext(out, want))
			}
		})
	}
}

func TestRenderKeepsNotesFirst(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "notes-before-signoff.md"))
	out := string(Render(tpl))
	if n, s := strings.Index(out, "## Notes"), strings.Index(out, "## Sign-off"); n < 0 || s < 0 || n > s {
		t.Fatalf("notes heading should come before the sign-off heading:\n%s", out)
	}
}

func TestRenderHandBuiltTemplate(t *testing.T) {
	// A template built in code, not by Parse, still exports to something
	// Parse reads, with default headings for the sign-off and notes blocks.
	tpl := &signoff.Template{
		Title: "Built",
		Phases: []signoff.Phase{{Title: "Only", Sections: []signoff.Section{{
			Items: []signoff.TemplateItem{{Text: "Do it", Children: []signoff.TemplateItem{{Text: "Carefully"}}}},
		}}}},
		SignoffGroups: []signoff.SignoffGroup{{Slots: []signoff.SignoffSlot{{Role: "Owner"}}}},
		NoteFields:    []signoff.NoteField{{Name: "Remarks", Long: true, Lines: 2}},
	}
	got := mustParse(t, Render(tpl))
	tpl.SignoffHeading, tpl.NotesHeading = "Sign-off", "Notes"
	if !reflect.DeepEqual(got, tpl) {
		t.Fatalf("got %+v\nwant %+v", got, tpl)
	}
}

func mustParse(t testing.TB, src []byte) *signoff.Template {
	t.Helper()
	tpl, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}

func testdataFiles(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return paths
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// diffContext shows both sides around the first differing byte.
func diffContext(got, want []byte) string {
	i := firstDiff(got, want)
	lo := max(0, i-80)
	return "got:  " + string(got[lo:min(len(got), i+80)]) + "\nwant: " + string(want[lo:min(len(want), i+80)])
}
