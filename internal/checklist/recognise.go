package checklist

import (
	"regexp"
	"strings"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// The shapes of sign-off lines and note fields, matched against one line
// of a paragraph whose ":**" has been turned into "**:" (boldColon), so
// "**Role:** ___" reads like "**Role**: ___".
var (
	// "- **Role**: ____ Date: ____", also "Role: ___ Signature: ___ Date: ___".
	slotRe = regexp.MustCompile(`^(.+?):[ \t]*_{3,}(?:[ \t]+[A-Za-z][A-Za-z /]{0,24}:[ \t]*_{3,})*[ \t]+(?i:date|signed(?: on)?|time)[ \t]*:[ \t]*_{3,}[ \t]*$`)
	// "**Field**: ____"
	shortFieldRe = regexp.MustCompile(`^(\*\*|__)(.+?)(\*\*|__):[ \t]*_{3,}[ \t]*$`)
	// "**Field**:" over lines of underscores
	longFieldRe = regexp.MustCompile(`^(\*\*|__)(.+?)(\*\*|__):[ \t]*$`)
	blanksRe    = regexp.MustCompile(`_{3,}`)
)

func boldColon(l string) string {
	return strings.NewReplacer(":**", "**:", ":__", "__:").Replace(l)
}

// roleName strips a role of the emphasis around it: "**DBA**" is "DBA".
func roleName(s string) string {
	s = strings.TrimSpace(s)
	for _, m := range []string{"**", "__", "*", "_", "`"} {
		if len(s) > 2*len(m) && strings.HasPrefix(s, m) && strings.HasSuffix(s, m) {
			s = strings.TrimSpace(s[len(m) : len(s)-len(m)])
		}
	}
	return strings.Join(strings.Fields(s), " ")
}

// slotLine reads a sign-off line: the role, and where the name and the
// date blanks are in the line (offsets into l).
func slotLine(l string) (role string, blanks [][]int, ok bool) {
	if !strings.Contains(l, "___") {
		return "", nil, false
	}
	norm := boldColon(l)
	m := slotRe.FindStringSubmatch(norm)
	if m == nil {
		return "", nil, false
	}
	role = roleName(m[1])
	if role == "" || blanksRe.MatchString(role) {
		return "", nil, false
	}
	// boldColon keeps lengths, so offsets in norm are offsets in l.
	blanks = blanksRe.FindAllStringIndex(norm[len(m[1]):], -1)
	for _, b := range blanks {
		b[0] += len(m[1])
		b[1] += len(m[1])
	}
	return role, blanks, true
}

// fieldLine reads a note field's line: its name and whether it is long
// (lines of underscores follow it rather than stand beside it).
func fieldLine(l string) (name string, long, ok bool) {
	if !strings.HasPrefix(l, "**") && !strings.HasPrefix(l, "__") {
		return "", false, false
	}
	l = boldColon(l)
	if m := shortFieldRe.FindStringSubmatch(l); m != nil && m[1] == m[3] {
		name = roleName(m[2])
		return name, false, name != ""
	}
	if m := longFieldRe.FindStringSubmatch(l); m != nil && m[1] == m[3] {
		name = roleName(m[2])
		return name, true, name != ""
	}
	return "", false, false
}

// signoffColumns finds a sign-off table: a header with a role column
// ("Role", "Sign-off role", "Approver role") and a column for the date or
// signature. It returns the role column and the columns an export fills
// with the signer's name and the date (-1 where there is none).
func signoffColumns(header []string) (role, name, date int, ok bool) {
	role, name, date = -1, -1, -1
	signed := false
	for i, h := range header {
		h = strings.ToLower(strings.Trim(strings.TrimSpace(h), ":*_ "))
		switch {
		case role < 0 && (h == "role" || strings.HasSuffix(h, " role")):
			role = i
		case strings.Contains(h, "date") || h == "when" || h == "signed on":
			date, signed = i, true
		case name < 0 && (strings.Contains(h, "name") || strings.Contains(h, "signature") || strings.Contains(h, "signed") ||
			strings.Contains(h, "approv") || strings.Contains(h, "sign-off") || strings.Contains(h, "sign off")):
			name, signed = i, true
		}
	}
	return role, name, date, role >= 0 && signed
}

// isTask reports whether n is a task list item, as goldmark's task list
// extension marks one: a list item whose first block opens with a box.
func isTask(n ast.Node) bool {
	li, ok := n.(*ast.ListItem)
	if !ok || li.FirstChild() == nil {
		return false
	}
	_, ok = li.FirstChild().FirstChild().(*east.TaskCheckBox)
	return ok
}

// inTask reports whether n stands inside a task item.
func inTask(n ast.Node) bool {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if isTask(p) {
			return true
		}
	}
	return false
}
