package ui

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
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
