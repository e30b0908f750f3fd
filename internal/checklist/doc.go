// Package checklist reads and writes the Markdown template format (see
// PRODUCT.md, "The Markdown template format"): Parse turns Markdown into a
// *signoff.Template, Render writes one back in the canonical layout of the
// built-in seed, and Flatten lists the items with stable paths.
//
// The parser is a line-oriented state machine, not a Markdown parser. It
// knows the handful of line shapes the format is built from and treats every
// other line as paragraph text, which it keeps: import never loses text.
//
// Decisions on input the format leaves open:
//
//   - Headings, rules (---, ***, ___), note fields and code fences count only
//     at column 0. Items and sign-off lines may be indented. Headings of level
//     4 to 6 are paragraph text. An empty #, ## or ### heading is an error.
//   - The # title must come before any other heading, item, sign-off line or
//     note field, and there is at most one. Paragraphs before it join the
//     description.
//   - Items before any ## form an untitled first phase. A ### before any ##
//     is accepted only while the document has no ## checklist phase (a
//     document of ### sections only); once one exists, the stray ### is an
//     error, since it most likely is a mistyped ##.
//   - A ## heading's kind comes from the first item, sign-off line or note
//     field under it. Mixing kinds under one ## is an error, as is a second
//     sign-off or notes heading, a ### under the notes heading, and a
//     sign-off line or note field before any ##.
//   - Nesting is by indentation: the first indented item fixes the unit for
//     the whole document (2 or 4 spaces, or one tab). An item may go at most
//     one level deeper than the item above it, and at most 3 levels deep.
//   - A non-blank line right after an item (no blank line between) that is
//     not itself an item continues the item's text, joined with "\n" and
//     stripped of its indentation, as Markdown's lazy continuation does.
//   - Paragraphs go to the nearest intro that the export writes: the section
//     intro under a ###, else the phase intro under a ## (the sign-off and
//     notes intros for those headings), else the description. A paragraph
//     between items therefore moves above the section's items on export: its
//     text is kept, its position is not.
//   - The footer is every paragraph after the last item, sign-off line, note
//     field or rule of the file, if no heading follows them. Paragraphs after
//     a heading with nothing else under it are that heading's intro.
//   - Blank lines and rules are layout. Trailing spaces and tabs are dropped
//     (a Markdown hard break written as two spaces becomes a soft break).
//     CRLF line endings and a leading byte order mark are accepted; other
//     control characters are errors. Code fences (``` or ~~~ at column 0)
//     are kept verbatim, blank lines included, and hide the lines inside them
//     from the parser; an unclosed fence is an error.
//   - The checked state of "- [x]" is not part of a template and is dropped.
//     Items may use -, * or + as the marker. Numbered task lists ("1. [ ]")
//     and sign-off lines without "Date: ___" are paragraph text.
//   - Limits: lines of at most MaxLineBytes, at most MaxItems items, and no
//     single item line, role or field name over 3,900 bytes, so an export
//     never has a line Parse would refuse. The size of the whole upload is
//     left to the caller (the HTTP layer caps request bodies).
package checklist
