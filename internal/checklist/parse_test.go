package checklist

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

func TestParseSeedShape(t *testing.T) {
	tpl := mustParse(t, Seed)
	got := tpl.Counts()
	want := signoff.Counts{
		Phases: 6, Sections: 19, Items: 222,
		ItemsByLevel: [3]int{42, 178, 2},
		Slots:        8, Groups: 3, Notes: 6,
		Conditional: 8,
		Timed:       30, // every item of the three timed sections
	}
	if got != want {
		t.Fatalf("counts:\ngot  %+v\nwant %+v", got, want)
	}
	if tpl.Title != "VoxFlow Production Deployment Checklist" {
		t.Errorf("title %q", tpl.Title)
	}
	if want := "This comprehensive checklist ensures a successful and secure deployment of VoxFlow to production environments."; tpl.Description != want {
		t.Errorf("description %q", tpl.Description)
	}
	if want := "This checklist should be completed for every production deployment. Keep a copy of the completed checklist for audit and improvement purposes."; tpl.Footer != want {
		t.Errorf("footer %q", tpl.Footer)
	}
	if tpl.ID != 0 || tpl.Slug != "" || tpl.Version != 0 || !tpl.CreatedAt.IsZero() {
		t.Errorf("Parse should leave identity fields zero: %+v", tpl)
	}
}

func TestParseSeedPhases(t *testing.T) {
	tpl := mustParse(t, Seed)
	var phases []string
	for _, ph := range tpl.Phases {
		phases = append(phases, ph.Title)
		if ph.Intro != "" {
			t.Errorf("phase %q has intro %q", ph.Title, ph.Intro)
		}
	}
	want := []string{
		"Pre-Deployment Checklist",
		"Deployment Execution Checklist",
		"Post-Deployment Checklist",
		"Emergency Procedures",
		"Validation and Sign-off",
		"Post-Deployment Monitoring (First 24 Hours)",
	}
	if !reflect.DeepEqual(phases, want) {
		t.Fatalf("phases %q", phases)
	}
	first := tpl.Phases[0].Sections[0].Items[0]
	if first.Text != "**Production server provisioned** with adequate resources" || len(first.Children) != 4 {
		t.Errorf("first item %+v", first)
	}
	var code bool
	for _, f := range Flatten(tpl) {
		code = code || f.Text == "Run migration script: `./migrate-database.sh migrate`"
	}
	if !code {
		t.Error("inline code should stay as written")
	}
}

func TestParseSeedDueTimes(t *testing.T) {
	tpl := mustParse(t, Seed)
	timed := map[string]time.Duration{
		"Immediate Monitoring (First 2 Hours)": 2 * time.Hour,
		"Extended Monitoring (First 24 Hours)": 24 * time.Hour,
		"Weekly Follow-up":                     7 * 24 * time.Hour,
	}
	for _, ph := range tpl.Phases {
		for _, s := range ph.Sections {
			if s.DueAfter != timed[s.Title] {
				t.Errorf("section %q (phase %q): due after %v, want %v", s.Title, ph.Title, s.DueAfter, timed[s.Title])
			}
			delete(timed, s.Title)
		}
	}
	if len(timed) > 0 {
		t.Errorf("sections not found: %v", timed)
	}
	monitoring := tpl.Phases[5]
	if len(monitoring.Sections) != 3 {
		t.Errorf("monitoring phase holds %d sections, want all 3 timed ones", len(monitoring.Sections))
	}
}

func TestParseSeedConditional(t *testing.T) {
	var got []string
	for _, f := range Flatten(mustParse(t, Seed)) {
		if f.Conditional {
			got = append(got, f.Text)
		}
	}
	want := []string{
		"High availability configured (if required)",
		"CDN configured (if applicable)",
		"Docker images built and tested (if using containers)",
		"Backup providers identified (if needed)",
		"**Backup current system** (if updating existing deployment)",
		"**Maintenance mode enabled** (if updating existing system)",
		"Kubernetes probes configured (if applicable)",
		"Revenue impact (if applicable) positive",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("conditional items:\ngot  %q\nwant %q", got, want)
	}
}

func TestParseSeedSignoff(t *testing.T) {
	tpl := mustParse(t, Seed)
	want := []signoff.SignoffGroup{
		{Name: "Technical Sign-off", Slots: slots("Deployment Engineer", "Database Administrator", "Security Engineer", "DevOps Lead")},
		{Name: "Business Sign-off", Slots: slots("Product Manager", "Engineering Manager", "Operations Manager")},
		{Name: "Final Approval", Slots: slots("CTO/Technical Director")},
	}
	if !reflect.DeepEqual(tpl.SignoffGroups, want) {
		t.Errorf("sign-off groups:\ngot  %+v\nwant %+v", tpl.SignoffGroups, want)
	}
	if tpl.SignoffHeading != "Deployment Sign-off" || tpl.SignoffIntro != "" {
		t.Errorf("sign-off heading %q, intro %q", tpl.SignoffHeading, tpl.SignoffIntro)
	}
	fields := []signoff.NoteField{
		{Name: "Deployment Date"},
		{Name: "Deployment Version"},
		{Name: "Special Considerations", Long: true, Lines: 3},
		{Name: "Issues Encountered", Long: true, Lines: 3},
		{Name: "Lessons Learned", Long: true, Lines: 3},
		{Name: "Next Steps", Long: true, Lines: 3},
	}
	if !reflect.DeepEqual(tpl.NoteFields, fields) {
		t.Errorf("note fields:\ngot  %+v\nwant %+v", tpl.NoteFields, fields)
	}
	if tpl.NotesHeading != "Notes and Comments" || tpl.NotesIntro != "" || tpl.NotesFirst {
		t.Errorf("notes heading %q, intro %q, first %v", tpl.NotesHeading, tpl.NotesIntro, tpl.NotesFirst)
	}
}

func slots(roles ...string) []signoff.SignoffSlot {
	var out []signoff.SignoffSlot
	for _, r := range roles {
		out = append(out, signoff.SignoffSlot{Role: r})
	}
	return out
}

func TestFlattenSeed(t *testing.T) {
	items := Flatten(mustParse(t, Seed))
	if len(items) != 222 {
		t.Fatalf("%d items", len(items))
	}
	byPath := map[string]FlatItem{}
	for _, f := range items {
		if _, dup := byPath[f.Path]; dup {
			t.Fatalf("duplicate path %s", f.Path)
		}
		byPath[f.Path] = f
	}
	want := []FlatItem{
		{Path: "1.1.1", Phase: 1, Section: 1, Level: 1, Text: "**Production server provisioned** with adequate resources", HasChildren: true},
		{Path: "1.1.1.2", ParentPath: "1.1.1", Phase: 1, Section: 1, Level: 2, Text: "RAM: Minimum 8GB, recommended 16+ GB"},
		{Path: "1.1.3.1", ParentPath: "1.1.3", Phase: 1, Section: 1, Level: 2, Text: "Domain names registered and configured", HasChildren: true},
		{Path: "1.1.3.1.1", ParentPath: "1.1.3.1", Phase: 1, Section: 1, Level: 3, Text: "api.voxflow.com (API server)"},
		{Path: "1.1.2.5", ParentPath: "1.1.2", Phase: 1, Section: 1, Level: 2, Text: "High availability configured (if required)", Conditional: true},
		{Path: "6.1.1.1", ParentPath: "6.1.1", Phase: 6, Section: 1, Level: 2, Text: "No critical errors in logs", DueAfter: 2 * time.Hour},
		{Path: "6.3.2", Phase: 6, Section: 3, Level: 1, Text: "**Process improvement**", DueAfter: 7 * 24 * time.Hour, HasChildren: true},
	}
	for _, w := range want {
		if got := byPath[w.Path]; got != w {
			t.Errorf("%s:\ngot  %+v\nwant %+v", w.Path, got, w)
		}
	}
	if items[0].Path != "1.1.1" || items[1].Path != "1.1.1.1" || items[len(items)-1].Path != "6.3.2.4" {
		t.Errorf("not in document order: first %s, %s, last %s", items[0].Path, items[1].Path, items[len(items)-1].Path)
	}
}

func TestParseNoHeadings(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "plain-task-list.md"))
	if tpl.Title != "" || tpl.Description != "" || tpl.Footer != "" {
		t.Errorf("title %q, description %q, footer %q", tpl.Title, tpl.Description, tpl.Footer)
	}
	if len(tpl.Phases) != 1 || tpl.Phases[0].Title != "" || len(tpl.Phases[0].Sections) != 1 || tpl.Phases[0].Sections[0].Title != "" {
		t.Fatalf("want one untitled phase and section: %+v", tpl.Phases)
	}
	if c := tpl.Counts(); c.Items != 5 || c.ItemsByLevel != [3]int{3, 2, 0} || c.Conditional != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestParseItemsUnderPhase(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "items-under-phase.md"))
	prepare := tpl.Phases[0]
	if len(prepare.Sections) != 2 || prepare.Sections[0].Title != "" || prepare.Sections[1].Title != "Later" {
		t.Fatalf("sections of %q: %+v", prepare.Title, prepare.Sections)
	}
	if n := len(prepare.Sections[0].Items); n != 2 {
		t.Errorf("untitled section holds %d items, want 2", n)
	}
	if ship := tpl.Phases[1]; ship.Title != "Ship" || len(ship.Sections) != 1 || ship.Sections[0].Title != "" {
		t.Errorf("phase Ship: %+v", ship)
	}
}

func TestParseIntros(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "intro-paragraphs.md"))
	checks := []struct{ name, got, want string }{
		{"title", tpl.Title, "Database upgrade"},
		{"description", tpl.Description, "Written by the platform team.\n\nRun this for every major PostgreSQL upgrade.\nIt takes about an hour.\n\nAsk in #db if anything is unclear."},
		{"phase intro", tpl.Phases[0].Intro, "Everything here happens the day before."},
		{"section intro", tpl.Phases[0].Sections[0].Intro, "Take them from the replica, not the primary.\n\nA paragraph between items: kept, in the section's intro."},
		{"text-only phase", tpl.Phases[1].Intro, "Nothing to tick here, just remember to celebrate."},
		{"footer", tpl.Footer, "Questions go to the platform team.\n\nThanks for reading."},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if n := len(tpl.Phases[0].Sections[0].Items); n != 3 {
		t.Errorf("%d items, want 3", n)
	}
}

func TestParseMarkersAndIndentation(t *testing.T) {
	star := mustParse(t, readTestdata(t, "star-checked.md"))
	if c := star.Counts(); c.ItemsByLevel != [3]int{3, 2, 0} {
		t.Errorf("star-checked.md: %+v", c)
	}
	for _, name := range []string{"four-space-indent.md", "tab-indent.md"} {
		tpl := mustParse(t, readTestdata(t, name))
		if c := tpl.Counts(); c.ItemsByLevel[2] != 1 || c.ItemsByLevel[1] == 0 {
			t.Errorf("%s: %+v", name, c)
		}
	}
	four := mustParse(t, readTestdata(t, "four-space-indent.md"))
	if s := four.Phases[0].Sections; s[0].DueAfter != 7*24*time.Hour || s[1].DueAfter != 24*time.Hour {
		t.Errorf("due times: section %v, phase fallback %v", s[0].DueAfter, s[1].DueAfter)
	}
}

func TestParseNotesBeforeSignoff(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "notes-before-signoff.md"))
	if !tpl.NotesFirst || tpl.NotesIntro != "Fill these in as you go." {
		t.Errorf("notes first %v, intro %q", tpl.NotesFirst, tpl.NotesIntro)
	}
	fields := []signoff.NoteField{{Name: "Release"}, {Name: "Remarks", Long: true, Lines: 2}}
	if !reflect.DeepEqual(tpl.NoteFields, fields) {
		t.Errorf("fields %+v", tpl.NoteFields)
	}
	groups := []signoff.SignoffGroup{
		{Name: "", Slots: slots("Release Manager")},
		{Name: "Approval", Slots: slots("Head of Engineering")},
	}
	if !reflect.DeepEqual(tpl.SignoffGroups, groups) {
		t.Errorf("groups %+v", tpl.SignoffGroups)
	}
}

func TestParseContinuationAndFences(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "continuation.md"))
	items := tpl.Phases[0].Sections[0].Items
	if want := "**Rotate keys** for every service,\nincluding the ones nobody remembers"; items[0].Text != want {
		t.Errorf("wrapped item %q", items[0].Text)
	}
	if want := "Old keys revoked\n(check the audit log)\n- note: the CLI needs `--force` here"; items[0].Children[0].Text != want {
		t.Errorf("wrapped child %q", items[0].Children[0].Text)
	}
	if items[1].Text != "Lazy continuation\nright at column zero" {
		t.Errorf("lazy continuation %q", items[1].Text)
	}

	fenced := mustParse(t, readTestdata(t, "fenced-code.md"))
	if c := fenced.Counts(); c.Items != 2 || c.Notes != 0 {
		t.Errorf("lines inside fences must not count: %+v", c)
	}
	intro := fenced.Phases[0].Intro
	if !strings.Contains(intro, "./migrate.sh up\n\n## not a heading\n- [ ] not an item\n```") || !strings.Contains(intro, "~~~\n**Field**: ___\n~~~") {
		t.Errorf("fenced code not kept verbatim: %q", intro)
	}
}

func TestParseSectionsWithoutPhases(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "sections-only.md"))
	if len(tpl.Phases) != 1 || tpl.Phases[0].Title != "" || len(tpl.Phases[0].Sections) != 2 || tpl.Phases[0].Sections[1].Title != "Second" {
		t.Errorf("phases %+v", tpl.Phases)
	}
}

func TestParseLineEndings(t *testing.T) {
	unix := "# T\n\n## P\n- [ ] One  \n  - [ ] Two\t\n"
	dos := "\ufeff" + strings.ReplaceAll(unix, "\n", "\r\n")
	a, b := mustParse(t, []byte(unix)), mustParse(t, []byte(dos))
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("CRLF and BOM should not matter:\n%+v\n%+v", a, b)
	}
	if a.Phases[0].Sections[0].Items[0].Text != "One" {
		t.Errorf("trailing blanks kept: %q", a.Phases[0].Sections[0].Items[0].Text)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes)
	many := strings.Repeat("- [ ] x\n", MaxItems) + "- [ ] one too many\n"
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"empty", "", 1, "no checklist items found"},
		{"text only", "# Title\n\nJust words.\n", 1, "no checklist items found"},
		{"two levels deeper", "- [ ] a\n  - [ ] b\n- [ ] c\n    - [ ] d\n", 4, "more than one level below"},
		{"indented first item", "## P\n  - [ ] a\n", 2, "no parent item"},
		{"four levels", "- [ ] a\n  - [ ] b\n    - [ ] c\n      - [ ] d\n", 4, "deeper than 3 levels"},
		{"odd indentation", "- [ ] a\n   - [ ] b\n", 2, "by 2 or 4 spaces or a tab (this item has 3 spaces)"},
		{"inconsistent indentation", "- [ ] a\n  - [ ] b\n- [ ] c\n   - [ ] d\n", 4, "2-space indentation used from line 2"},
		{"tabs then spaces", "- [ ] a\n\t- [ ] b\n- [ ] c\n  - [ ] d\n", 4, "indents with tabs"},
		{"mixed tabs and spaces", "- [ ] a\n \t- [ ] b\n", 2, "mixes tabs and spaces"},
		{"empty item", "- [ ] a\n- [ ]\n", 2, "item has no text"},
		{"empty role", "- [ ] a\n## Sign-off\n- ****: ___ Date: ___\n", 3, "no role name"},
		{"blank role", "- [ ] a\n## Sign-off\n- ** **: ___ Date: ___\n", 3, "no role name"},
		{"empty field", "- [ ] a\n## Notes\n****: ___\n", 3, "field has no name"},
		{"empty long field", "- [ ] a\n## Notes\n****:\n___\n", 3, "field has no name"},
		{"section before phase", "### Orphan\n- [ ] a\n## Phase\n- [ ] b\n", 1, "### heading before any ## heading"},
		{"empty heading", "##\n- [ ] a\n", 1, "heading has no text"},
		{"second title", "# A\n# B\n- [ ] a\n", 2, "second # title; the first is on line 1"},
		{"late title", "- [ ] a\n# Title\n", 2, "must come before"},
		{"slot among items", "## P\n- [ ] a\n- **Role**: ___ Date: ___\n", 3, "sign-off line among checklist items"},
		{"item under sign-off", "- [ ] a\n## S\n- **Role**: ___ Date: ___\n- [ ] b\n", 4, "checklist item under the sign-off heading on line 2"},
		{"field under sign-off", "- [ ] a\n## S\n- **Role**: ___ Date: ___\n**F**: ___\n", 4, "note field under the sign-off heading"},
		{"slot before phases", "- **Role**: ___ Date: ___\n- [ ] a\n", 1, "before any ## heading"},
		{"field before phases", "**Date**: ___\n- [ ] a\n", 1, "before any ## heading"},
		{"second sign-off", "- [ ] a\n## S\n- **A**: ___ Date: ___\n## T\n- **B**: ___ Date: ___\n", 4, "second sign-off heading; the first is on line 2"},
		{"second notes", "- [ ] a\n## N\n**A**: ___\n## M\n**B**: ___\n", 4, "second notes heading"},
		{"grouped notes", "- [ ] a\n## N\n### G\n**A**: ___\n", 3, "note fields cannot be grouped"},
		{"section under notes", "- [ ] a\n## N\n**A**: ___\n### G\n", 4, "note fields cannot be grouped"},
		{"unclosed fence", "- [ ] a\n\n```\n- [ ] b\n", 3, "never closed"},
		{"invalid UTF-8", "- [ ] a\n- [ ] \xff\n", 2, "not valid UTF-8"},
		{"control character", "- [ ] a\x00b\n", 1, "control character U+0000"},
		{"byte order mark inside", "\ufeff- [ ] a\n- [ ] \ufeffb\n", 2, "byte order mark"},
		{"bare carriage return", "- [ ] a\rb\n", 1, "control character U+000D"},
		{"long line", "- [ ] a\n" + long + "x\n", 2, "longer than 4000 bytes"},
		{"long item text", "- [ ] " + long[:maxTextBytes+1] + "\n", 1, "item text is longer"},
		{"too many items", many, MaxItems + 1, "more than 5000 checklist items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Fatalf("got %q, want line %d with %q", err, tt.line, tt.msg)
			}
		})
	}
}

func TestParseErrorIsInvalid(t *testing.T) {
	_, err := Parse([]byte("- [ ] a\n      - [ ] b\n"))
	if code := signoff.ErrorCode(err); code != signoff.EINVALID {
		t.Fatalf("code %q, want %q", code, signoff.EINVALID)
	}
	if msg := signoff.ErrorMessage(err); !strings.HasPrefix(msg, "line 2: ") || msg != err.Error() {
		t.Fatalf("message %q, error %q", msg, err)
	}
}

func TestParseAcceptsLimits(t *testing.T) {
	src := strings.Repeat("- [ ] x\n", MaxItems) + "- [ ] " + strings.Repeat("y", maxTextBytes) + "\n"
	src = strings.Replace(src, "- [ ] x\n", "", 1)
	tpl := mustParse(t, []byte(src))
	if n := tpl.Counts().Items; n != MaxItems {
		t.Fatalf("%d items", n)
	}
	if _, err := Parse(Render(tpl)); err != nil {
		t.Fatalf("export of a template at the limits: %v", err)
	}
}

func BenchmarkParseSeed(b *testing.B) {
	b.SetBytes(int64(len(Seed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(Seed); err != nil {
			b.Fatal(err)
		}
	}
}
