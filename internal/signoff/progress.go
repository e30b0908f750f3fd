package signoff

import "time"

// SectionKey names a section by its phase and section numbers.
type SectionKey struct{ Phase, Section int }

// SectionProgress is a checklist's progress by section: what the progress
// bars of a page show, at every level, summed from it.
type SectionProgress map[SectionKey]Progress

// Sum adds up the sections in scope: all when phase is 0, else one phase;
// one section when section is non-zero too.
func (sp SectionProgress) Sum(phase, section int) Progress {
	if phase != 0 && section != 0 {
		return sp[SectionKey{phase, section}]
	}
	var p Progress
	for k, c := range sp {
		if (phase == 0 || k.Phase == phase) && (section == 0 || k.Section == section) {
			p.Total += c.Total
			p.Done += c.Done
			p.NA += c.NA
			p.Overdue += c.Overdue
		}
	}
	return p
}

// SectionProgress counts the checklist's tasks (leaves) by section, and
// among them those overdue at now when the deployment went live at
// wentLive (nil: not live, none overdue). Every section of the template
// has an entry, empty ones too.
func (c *Checklist) SectionProgress(wentLive *time.Time, now time.Time) SectionProgress {
	out := SectionProgress{}
	if c.Template != nil {
		for pi, ph := range c.Template.Phases {
			for si := range ph.Sections {
				out[SectionKey{pi + 1, si + 1}] = Progress{}
			}
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		if it.HasChildren {
			continue
		}
		k := SectionKey{it.Phase, it.Section}
		p := out[k]
		p.Total++
		switch it.State {
		case ItemDone:
			p.Done++
		case ItemNA:
			p.NA++
		case ItemOpen:
			if wentLive != nil && it.DueAfter > 0 && now.After(wentLive.Add(it.DueAfter)) {
				p.Overdue++
			}
		}
		out[k] = p
	}
	return out
}
