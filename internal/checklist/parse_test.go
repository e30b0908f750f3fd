package checklist

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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

// TestParseGates reads the gated template the docs show: sign-off groups
// between phases and inside one, each attesting to the items above it.
func TestParseGates(t *testing.T) {
	src, err := os.ReadFile("../../docs/examples/gated-release.md")
	if err != nil {
		t.Fatal(err)
	}
	tpl := mustParse(t, src)
	want := []signoff.SignoffGroup{
		{Name: "Go/No-Go", Slots: slots("Deployment Engineer", "Product Manager"), Above: 3, GoNoGo: true},
		{Name: "Verification Sign-off", Slots: slots("Security Engineer"), Above: 5},
		{Name: "Final Approval", Slots: slots("Engineering Manager", "CTO/Technical Director"), Above: 7},
	}
	if !reflect.DeepEqual(tpl.SignoffGroups, want) {
		t.Errorf("sign-off groups:\ngot  %+v\nwant %+v", tpl.SignoffGroups, want)
	}
	var phases []string
	for _, p := range tpl.Phases {
		phases = append(phases, p.Title)
	}
	if want := []string{"Preparation", "Execution"}; !reflect.DeepEqual(phases, want) {
		t.Errorf("phases %q, want %q", phases, want)
	}
	if got := len(tpl.Phases[1].Sections); got != 2 {
		t.Errorf("the execution phase has %d sections, want 2 (Deploy, Monitoring)", got)
	}
	defs := tpl.Slots()
	final := signoff.FinalSlots(tpl)
	for i, d := range defs {
		if wantFinal := d.Group == "Final Approval"; final[i] != wantFinal {
			t.Errorf("slot %d (%s) final = %v", d.Position, d.Role, final[i])
		}
		if d.GoNoGo != (d.Group == "Go/No-Go") {
			t.Errorf("slot %d (%s) go/no-go = %v", d.Position, d.Role, d.GoNoGo)
		}
	}
	if got, err := Read(src, "gated-release.md"); err != nil || got.Template.Source != string(src) {
		t.Errorf("the gated template does not export byte for byte (err %v)", err)
	}
}

// A go/no-go group that is the last one is the final approval: the
// import says so.
func TestParseWarnsOfAGoNoGoThatIsLast(t *testing.T) {
	r, err := Read([]byte("# T\n\n## Do\n- [ ] it\n\n## Go/No-Go\n- **CTO**: ____ Date: ____\n"), "t.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || r.Warnings[0].Line != 7 || !strings.Contains(r.Warnings[0].Msg, "final approval") {
		t.Fatalf("warnings %+v", r.Warnings)
	}
}

func TestParseSeedSignoff(t *testing.T) {
	tpl := mustParse(t, Seed)
	want := []signoff.SignoffGroup{
		{Name: "Technical Sign-off", Slots: slots("Deployment Engineer", "Database Administrator", "Security Engineer", "DevOps Lead"), Above: 222},
		{Name: "Business Sign-off", Slots: slots("Product Manager", "Engineering Manager", "Operations Manager"), Above: 222},
		{Name: "Final Approval", Slots: slots("CTO/Technical Director"), Above: 222},
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

// TestSeedRoundTrip: the seed as shipped, with the final newline most
// editors add, and with CRLF line endings, imports with the same shape
// and exports byte for byte.
func TestSeedRoundTrip(t *testing.T) {
	want := mustParse(t, Seed).Counts()
	for name, src := range map[string][]byte{
		"as shipped":    Seed,
		"final newline": append(bytes.Clone(Seed), '\n'),
		"CRLF":          bytes.ReplaceAll(Seed, []byte("\n"), []byte("\r\n")),
		"CRLF, BOM":     append([]byte("\ufeff"), bytes.ReplaceAll(append(bytes.Clone(Seed), '\n'), []byte("\n"), []byte("\r\n"))...),
	} {
		t.Run(name, func(t *testing.T) {
			tpl := mustParse(t, src)
			if got := tpl.Counts(); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
			if tpl.Source != string(src) {
				t.Error("source not kept byte for byte")
			}
			if filled, err := Fill(src, Marks{}); err != nil || !bytes.Equal(filled, src) {
				t.Errorf("Fill with no marks changed the file: %v", err)
			}
			if tpl.Title != "VoxFlow Production Deployment Checklist" || tpl.Phases[5].Sections[0].Items[0].Text != "**System stability**" {
				t.Errorf("title %q, first timed item %q", tpl.Title, tpl.Phases[5].Sections[0].Items[0].Text)
			}
		})
	}
}

func TestParseNoHeadings(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "plain-task-list.md"))
	if tpl.Title != "" || tpl.Footer != "" {
		t.Errorf("title %q, footer %q", tpl.Title, tpl.Footer)
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
	if ship := tpl.Phases[1]; ship.Title != "Ship" || len(ship.Sections) != 1 || ship.Sections[0].Title != "" {
		t.Errorf("phase Ship: %+v", ship)
	}
}

// TestParseSectionsWithoutPhases: ### headings under no ## are sections of
// an untitled phase when the document's top level is ## (its sign-off).
func TestParseSectionsWithoutPhases(t *testing.T) {
	tpl := mustParse(t, readTestdata(t, "sections-only.md"))
	if len(tpl.Phases) != 1 || tpl.Phases[0].Title != "" || len(tpl.Phases[0].Sections) != 2 || tpl.Phases[0].Sections[1].Title != "Second" {
		t.Errorf("phases %+v", tpl.Phases)
	}
	if c := tpl.Counts(); c.Slots != 1 {
		t.Errorf("counts %+v", c)
	}
}

// TestParseRelativeDepth: whatever levels a file uses, its shallowest
// headings are phases and the next level its sections.
func TestParseRelativeDepth(t *testing.T) {
	tests := []struct {
		name, src string
		phases    []string
		sections  int
	}{
		{"# phases, ## sections", "# A\n## a1\n- [ ] x\n# B\n- [ ] y\n", []string{"A", "B"}, 2},
		{"### and ####", "### A\n#### a1\n- [ ] x\n#### a2\n- [ ] y\n", []string{"A"}, 2},
		{"title then ###", "# T\n### A\n- [ ] x\n### B\n- [ ] y\n", []string{"A", "B"}, 2},
		{"deeper is content", "## A\n### a\n- [ ] x\n##### note\n- [ ] y\n", []string{"A"}, 1},
		{"closing hashes", "## Prepare ##\n- [ ] x\n", []string{"Prepare"}, 1},
		{"setext", "Prepare\n-------\n\n- [ ] x\n", []string{"Prepare"}, 1},
		{"items before headings", "- [ ] x\n## A\n- [ ] y\n", []string{"", "A"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := mustParse(t, []byte(tt.src))
			var phases []string
			sections := 0
			for _, ph := range tpl.Phases {
				phases = append(phases, ph.Title)
				sections += len(ph.Sections)
			}
			if !reflect.DeepEqual(phases, tt.phases) || sections != tt.sections {
				t.Errorf("phases %q with %d sections, want %q with %d", phases, sections, tt.phases, tt.sections)
			}
		})
	}
}

// TestParseContentStaysInPlace: labels, paragraphs, code, tables and
// sub-headings between items are shown where they stand.
func TestParseContentStaysInPlace(t *testing.T) {
	src := "# T\n\nIntro.\n\n## P\n\nPhase intro.\n\n### S\n\n**Label one**\n\n- [ ] a\n  ```sh\n  run-a\n  ```\n  - [ ] a1\n\n  After a1.\n\n" +
		"| k | v |\n|---|---|\n| 1 | 2 |\n\n#### Sub-heading\n\n- Plain label:\n  - [ ] b\n"
	tpl := mustParse(t, []byte(src))
	ph := tpl.Phases[0]
	sec := ph.Sections[0]
	a, b := sec.Items[0], sec.Items[1]
	checks := []struct{ what, got, want string }{
		{"description", tpl.DescriptionHTML, "<p>Intro.</p>"},
		{"phase intro", ph.IntroHTML, "<p>Phase intro.</p>"},
		{"section intro (label)", sec.IntroHTML, "<p><strong>Label one</strong></p>"},
		{"item body (code)", a.BodyHTML, `<pre><code class="language-sh">run-a`},
		{"after the sub-item", a.Children[0].AfterHTML, "<p>After a1.</p>"},
		{"after the item: table", a.AfterHTML, "<td>1</td>"},
		{"after the item: sub-heading", a.AfterHTML, "<h4>Sub-heading</h4>"},
		{"after the item: plain bullet", a.AfterHTML, "<li>Plain label:"},
		{"item text", b.Text, "b"},
	}
	for _, c := range checks {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: %q does not hold %q", c.what, c.got, c.want)
		}
	}
	if c := tpl.Counts(); c.Items != 3 || c.ItemsByLevel != [3]int{2, 1, 0} {
		t.Errorf("counts %+v", c)
	}
}

// TestParseRecognition: conditional markers, timed headings, sign-off
// tables and lines, note fields.
func TestParseRecognition(t *testing.T) {
	src := "## Go live (First 15 minutes)\n- [ ] Optional: tweet\n- [ ] Backfill (optional)\n- [ ] Page (when on call)\n- [ ] Plain\n" +
		"## Monitor\n### Within 2 hours\n- [ ] Check\n### Daily\n- [ ] Review\n" +
		"## Approvals\n| Sign-off role | Signature | Date |\n|---|---|---|\n| **Release Manager** | | |\n| QA Lead | | |\n\n" +
		"- **Owner:** ____ Date: ____\n\n## Notes\n**Ticket**: ______\n"
	tpl := mustParse(t, []byte(src))
	var cond []string
	for _, f := range Flatten(tpl) {
		if f.Conditional {
			cond = append(cond, f.Text)
		}
	}
	if want := []string{"Optional: tweet", "Backfill (optional)", "Page (when on call)"}; !reflect.DeepEqual(cond, want) {
		t.Errorf("conditional %q", cond)
	}
	dues := []time.Duration{tpl.Phases[0].Sections[0].DueAfter, tpl.Phases[1].Sections[0].DueAfter, tpl.Phases[1].Sections[1].DueAfter}
	if want := []time.Duration{15 * time.Minute, 2 * time.Hour, 24 * time.Hour}; !reflect.DeepEqual(dues, want) {
		t.Errorf("due after %v", dues)
	}
	var roles []string
	for _, s := range tpl.Slots() {
		roles = append(roles, s.Role)
	}
	if want := []string{"Release Manager", "QA Lead", "Owner"}; !reflect.DeepEqual(roles, want) || tpl.SignoffHeading != "Approvals" {
		t.Errorf("slots %q under %q", roles, tpl.SignoffHeading)
	}
	if len(tpl.NoteFields) != 1 || tpl.NoteFields[0].Name != "Ticket" || tpl.NotesHeading != "Notes" {
		t.Errorf("notes %+v under %q", tpl.NoteFields, tpl.NotesHeading)
	}
	if len(tpl.Phases) != 2 {
		t.Errorf("%d phases: the sign-off and notes headings are not phases", len(tpl.Phases))
	}
}

func TestDueAfterFromHeading(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"Immediate Monitoring (First 2 Hours)": 2 * time.Hour, "Extended Monitoring (First 24 Hours)": 24 * time.Hour,
		"Weekly Follow-up": 7 * 24 * time.Hour, "(First 5 Minutes)": 5 * time.Minute, "Within 24 Hours": 24 * time.Hour,
		"First hour": time.Hour, "Next 3 days": 72 * time.Hour, "within two weeks": 14 * 24 * time.Hour, "Hourly checks": time.Hour,
		"Monthly": 30 * 24 * time.Hour, "First steps": 0, "Rollback": 0, "Post-Deployment Checklist": 0,
	} {
		if got := signoff.DueAfterFromHeading(h); got != want {
			t.Errorf("%q: %v, want %v", h, got, want)
		}
	}
}

func TestReadTitle(t *testing.T) {
	tests := []struct{ name, src, file, title, from string }{
		{"heading", "# Ship it #\n- [ ] a\n", "x.md", "Ship it", TitleFromHeading},
		{"front matter title", "---\ntitle: \"Go: live\"\n---\n- [ ] a\n", "x.md", "Go: live", TitleFromFrontMatter},
		{"front matter name", "---\nname: Deploy\n---\n- [ ] a\n", "x.md", "Deploy", TitleFromFrontMatter},
		{"file name", "- [ ] a\n", "docs/release_checklist.md", "Release checklist", TitleFromFileName},
		{"none", "- [ ] a\n", "", "", ""},
		{"two # headings are phases", "# A\n- [ ] a\n# B\n- [ ] b\n", "two.md", "Two", TitleFromFileName},
		{"# after an item is a phase", "- [ ] a\n# A\n- [ ] b\n", "late.md", "Late", TitleFromFileName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Read([]byte(tt.src), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if r.Template.Title != tt.title || r.TitleFrom != tt.from {
				t.Errorf("title %q from %q, want %q from %q", r.Template.Title, r.TitleFrom, tt.title, tt.from)
			}
		})
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
		{"items only in code", "```\n- [ ] a\n```\n", 1, "no checklist items found"},
		{"four levels", "- [ ] a\n  - [ ] b\n    - [ ] c\n      - [ ] d\n", 4, "deeper than 3 levels"},
		{"four levels under labels", "- [ ] a\n  - x\n    - [ ] b\n      - [ ] c\n        - y\n          - [ ] d\n", 6, "deeper than 3 levels"},
		{"empty item", "- [ ] a\n- [ ]\n", 2, "item has no text"},
		{"invalid UTF-8", "- [ ] a\n- [ ] \xff\n", 2, "not valid UTF-8"},
		{"NUL", "- [ ] a\n- [ ] a\x00b\n", 2, "NUL byte"},
		{"long line", "- [ ] a\n" + long + "x\n", 2, "longer than 4000 bytes"},
		{"too many items", many, MaxItems + 1, "more than 5000 checklist items"},
		{"too large", strings.Repeat("- [ ] "+strings.Repeat("y", 1000)+"\n", 1100), 1042, "larger than 1 MB"},
		{"too many lines", strings.Repeat("[a]: /u\n", MaxLines) + "- [ ] x\n", MaxLines + 1, "more than 20000 lines"},
		{"too many lines of CRs", strings.Repeat("\r", MaxLines) + "- [ ] x\n", MaxLines + 1, "more than 20000 lines"},
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
	_, err := Parse([]byte("- [ ] a\n  - [ ] b\n    - [ ] c\n      - [ ] d\n"))
	if code := signoff.ErrorCode(err); code != signoff.EINVALID {
		t.Fatalf("code %q, want %q", code, signoff.EINVALID)
	}
	if msg := signoff.ErrorMessage(err); !strings.HasPrefix(msg, "line 4: ") || msg != err.Error() {
		t.Fatalf("message %q, error %q", msg, err)
	}
}

// TestParseAcceptsWhatGitHubRenders: what the old line rules refused.
func TestParseAcceptsWhatGitHubRenders(t *testing.T) {
	for name, src := range map[string]string{
		"one space":         " - [ ] a\n",
		"three spaces":      "- [ ] a\n   - [ ] b\n",
		"five spaces":       "1. [ ] a\n     - [ ] b\n",
		"mixed 2 and 4":     "- [ ] a\n  - [ ] b\n- [ ] c\n    - [ ] d\n",
		"tabs then spaces":  "- [ ] a\n\t- [ ] b\n- [ ] c\n  - [ ] d\n",
		"under plain":       "- Prepare\n  - [ ] a\n",
		"under label":       "**Prepare**\n- [ ] a\n",
		"stray CR":          "- [ ] a\r\n- [ ] b\r- [ ] c\r\n",
		"numbered":          "1. [ ] a\n2) [ ] b\n",
		"checked":           "* [X] a\n+ [x] b\n",
		"in a quote":        "> - [ ] a\n",
		"BOM inside":        "- [ ] a\ufeffb\n",
		"slot among items":  "## P\n- [ ] a\n- **Role**: ___ Date: ___\n",
		"second title":      "# A\n# B\n- [ ] a\n",
		"section before ##": "### Orphan\n- [ ] a\n## Phase\n- [ ] b\n",
		"unclosed fence":    "- [ ] a\n\n```\n- [ ] b\n",
	} {
		t.Run(name, func(t *testing.T) {
			tpl := mustParse(t, []byte(src))
			if n := goldmarkTasks([]byte(src)); tpl.Counts().Items != n {
				t.Errorf("%d items, goldmark finds %d", tpl.Counts().Items, n)
			}
		})
	}
}

func TestParseAcceptsLimits(t *testing.T) {
	src := strings.Repeat("- [ ] x\n", MaxItems-1) + "- [ ] " + strings.Repeat("y", MaxLineBytes-6) + "\n"
	tpl := mustParse(t, []byte(src))
	if n := tpl.Counts().Items; n != MaxItems {
		t.Fatalf("%d items", n)
	}
}

// BenchmarkParseSeed is the cost of reading the built-in template: the
// structure, and every item's HTML rendered and sanitised.
func BenchmarkParseSeed(b *testing.B) {
	b.SetBytes(int64(len(Seed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(Seed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFillSeed is the cost of a deployment's Markdown export.
func BenchmarkFillSeed(b *testing.B) {
	marks := Marks{Items: map[string]ItemMark{}}
	for _, f := range Flatten(mustParse(b, Seed)) {
		marks.Items[f.Path] = ItemMark{Ticked: true, Note: "done by Rachel Green, 2026-12-07 10:00 UTC"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fill(Seed, marks); err != nil {
			b.Fatal(err)
		}
	}
}

func mustParse(t testing.TB, src []byte) *signoff.Template {
	t.Helper()
	tpl, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
