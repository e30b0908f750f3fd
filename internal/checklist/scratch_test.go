package checklist

import (
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	tpl, err := Parse(Seed)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%+v\n", tpl.Counts())
	fmt.Printf("title %q desc %q footer %q\n", tpl.Title, tpl.Description, tpl.Footer)
	for _, ph := range tpl.Phases {
		fmt.Printf("P %q intro %q\n", ph.Title, ph.Intro)
		for _, s := range ph.Sections {
			fmt.Printf("  S %q %v %d\n", s.Title, s.DueAfter, len(s.Items))
		}
	}
	fmt.Printf("%q %q %+v\n%q %+v first=%v\n", tpl.SignoffHeading, tpl.SignoffIntro, tpl.SignoffGroups, tpl.NotesHeading, tpl.NoteFields, tpl.NotesFirst)
	it := tpl.Phases[1].Sections[1].Items[1].Children[0]
	fmt.Printf("%q %q\n", it.Text, it.HTML)
	for _, f := range Flatten(tpl) {
		if f.Conditional {
			fmt.Println(f.Path, f.Text)
		}
	}
}
