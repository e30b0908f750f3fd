package audit

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
)

// fontDirs are where DejaVu Sans is looked for (Debian and Ubuntu, Fedora,
// Arch, Alpine's font-dejavu).
var fontDirs = []string{
	"/usr/share/fonts/truetype/dejavu",
	"/usr/share/fonts/dejavu",
	"/usr/share/fonts/TTF",
	"/usr/share/fonts/dejavu-sans-fonts",
}

type ttf struct{ regular, bold []byte }

// unicodeFont reads DejaVu Sans once; nil when the machine has none, and
// the PDF falls back to the core Helvetica font (code page 1252).
var unicodeFont = sync.OnceValue(func() *ttf {
	for _, dir := range fontDirs {
		r, err1 := os.ReadFile(filepath.Join(dir, "DejaVuSans.ttf"))
		b, err2 := os.ReadFile(filepath.Join(dir, "DejaVuSans-Bold.ttf"))
		if err1 == nil && err2 == nil {
			return &ttf{regular: r, bold: b}
		}
	}
	return nil
})

// pdfText sets up the document's font and returns the function that makes
// any string safe for it. No text can fail or crash the PDF: with DejaVu,
// characters beyond the Basic Multilingual Plane (emoji) become "?"; with
// the core font, characters outside code page 1252 become "?" after a few
// common ones are spelled out ("→" as "->").
func pdfText(f *fpdf.Fpdf, forceCore bool) (family string, text func(string) string) {
	if font := unicodeFont(); font != nil && !forceCore {
		f.AddUTF8FontFromBytes("dejavu", "", font.regular)
		f.AddUTF8FontFromBytes("dejavu", "B", font.bold)
		return "dejavu", func(s string) string { return clean(s, 0xFFFF) }
	}
	cp1252 := f.UnicodeTranslatorFromDescriptor("")
	return "Helvetica", func(s string) string {
		s = asciiArt.Replace(clean(s, 0xFFFF))
		var b strings.Builder
		for _, r := range s {
			if r >= 0x80 && cp1252(string(r)) == "." {
				r = '?'
			}
			b.WriteRune(r)
		}
		return cp1252(b.String())
	}
}

var asciiArt = strings.NewReplacer("→", "->", "←", "<-", "⇒", "=>", "≥", ">=", "≤", "<=", "≠", "!=",
	"✓", "v", "✔", "v", "✗", "x", "✘", "x", "‑", "-", "−", "-", "\u00a0", " ")

// clean drops control characters (but newlines), turns tabs into spaces and
// replaces invalid UTF-8 and runes above max with "?".
func clean(s string, max rune) string {
	ok := true
	for _, r := range s {
		if r > max || r == utf8.RuneError || r == '\t' || r != '\n' && unicode.IsControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r == '\n':
			b.WriteByte('\n')
		case unicode.IsControl(r):
		case r > max || r == utf8.RuneError:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plain turns an item's Markdown into the text a page shows: no ** or `.
func plain(md string) string { return unmark.Replace(md) }

// unmark is built once: building a Replacer costs more than using it.
var unmark = strings.NewReplacer("**", "", "`", "")
