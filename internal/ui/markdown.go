package ui

import "strings"

// pid turns an item path into an HTML id fragment ("1.1.2" -> "1-1-2"):
// dots would read as classes in a CSS selector.
func pid(path string) string { return strings.ReplaceAll(path, ".", "-") }
