package ui

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// joinNames lists names for a sentence: “A”, “A and B”, “A, B and C”.
func joinNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "“" + n + "”"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func lineNo(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func diffOpLabel(op byte) string {
	switch op {
	case '+':
		return "added"
	case '-':
		return "removed"
	}
	return "unchanged"
}

// textareaText is text for a <textarea>: HTML drops one line feed right
// after the start tag, so one more keeps a first blank line.
func textareaText(s string) string { return "\n" + s }

// groupKind says what a sign-off group of t is: the final approval (the
// last group), a go/no-go gate or a gate, and what it attests to.
func groupKind(t *signoff.Template, gi int) string {
	defs := t.Slots()
	for _, d := range defs {
		if d.GroupIndex != gi {
			continue
		}
		switch {
		case gi == len(t.SignoffGroups)-1:
			return "Final approval: attests to every item; its last signature locks the deployment."
		case d.GoNoGo:
			return fmt.Sprintf("Go/no-go gate: attests to the %d items above it; signed before going live.", d.Above)
		case d.Above > 0:
			return fmt.Sprintf("Gate: attests to the %d items above it.", d.Above)
		}
		return "Attests to every item."
	}
	return ""
}
