// Package checklist reads the Markdown template format (see PRODUCT.md,
// "The Markdown template format"): Read and Parse turn any checklist
// GitHub renders as a task list into a *signoff.Template, Flatten lists
// its items with stable paths, Fill writes a deployment's state into the
// template's own bytes for the Markdown export, and HTML, InlineHTML and
// Sanitize render Markdown as GitHub does, through an allow-list.
//
// The file is parsed by goldmark (CommonMark with GitHub's tables,
// strikethrough, autolinks and task lists), with source positions, and
// kept: a template's Source is the file byte for byte, so exporting a
// template is returning its bytes, and nothing is ever rendered back into
// a "canonical" layout. Reading it goes in two passes. The first (walk.go)
// lists in document order what matters to a checklist: headings, task
// items, sign-off lines and tables, note fields, rules, and the content
// between them. The second (outline.go) arranges those pieces.
//
// Decisions on input the format leaves open:
//
//   - An item is whatever goldmark's task list extension marks as one: a
//     list item (any bullet or number, any indentation, inside quotes or
//     under plain bullets) whose first paragraph opens with "[ ]", "[x]"
//     or "[X]". Its parent is the nearest item that contains it; plain
//     bullets and labels between them do not count as levels. Items nest
//     at most MaxDepth deep. A box ticked in the file is a warning: a
//     deployment starts with every item open.
//   - An item's Text is its first paragraph after the box, as written
//     (lines joined by "\n", trailing blanks dropped). Blocks under that
//     paragraph, before the first sub-item, are its body (BodyHTML); what
//     follows an item and its sub-items, before the next item at that
//     level, is its After; what precedes a section's first item is the
//     section's intro, and so on up to the description. So content stays
//     where the file has it.
//   - Headings count only at the top level of the document (a heading in a
//     list item is content). The document's only # heading is its title,
//     unless an item comes before it. The shallowest level of the other
//     headings makes phases and the next level used below it sections;
//     deeper headings are content. Items before any heading form an
//     untitled phase; items under a phase before any section an untitled
//     section. A phase or section heading whose part of the document holds
//     sign-off slots and no items is the sign-off block (its sub-headings
//     name the groups); one holding note fields, no items and no slots is
//     the notes block. Slots and fields elsewhere still count, in a group
//     named after their section.
//   - The footer is the content after the document's last top-level rule
//     (---), when nothing else follows it. Other rules are layout.
//   - Front matter (YAML between "---" lines at the very top) is metadata:
//     its title (an issue template's name) names the template when the
//     file has no # title, its description (or about) describes it when
//     nothing under the title does. Invalid YAML is a warning.
//   - A lone carriage return is a line ending, as CommonMark (and GitHub)
//     read it; the bytes stay as they are. A byte order mark is skipped.
//   - Errors name the line: a NUL byte or invalid UTF-8 (PostgreSQL stores
//     templates as text), a line over MaxLineBytes, a file over MaxBytes or
//     MaxLines (what bounds goldmark's quadratic reading of a paragraph of
//     link reference definitions to a fraction of a second),
//     more than MaxItems items, an item nested deeper than MaxDepth, an
//     item with no text, a file with no item at all.
package checklist
