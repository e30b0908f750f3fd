package checklist

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"github.com/signoff/signoff/internal/signoff"
)

// ParseError is malformed input, located by its 1-based line number.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap presents the error as a *signoff.Error with code EINVALID, so the
// web layer shows "line N: msg" to the person who uploaded the template
// while callers that want the line can still use errors.As on *ParseError.
func (e *ParseError) Unwrap() error {
	return &signoff.Error{Code: signoff.EINVALID, Message: e.Error()}
}

func parseErr(line int, format string, args ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Warning is something an import should show before it is confirmed: the
// file imports, but perhaps not as its author meant.
type Warning struct {
	Line int // 0: the file as a whole
	Msg  string
}

func (w Warning) String() string {
	if w.Line == 0 {
		return w.Msg
	}
	return fmt.Sprintf("line %d: %s", w.Line, w.Msg)
}

// Title sources, for Result.TitleFrom.
const (
	TitleFromHeading     = "heading"
	TitleFromFrontMatter = "front matter"
	TitleFromFileName    = "file name"
)

// Result is a parsed file with what an import preview shows besides the
// template: where its title came from and what to warn about.
type Result struct {
	Template  *signoff.Template
	TitleFrom string // one of the TitleFrom constants, or "" when the file names no title
	Warnings  []Warning
}

// Parse reads a Markdown checklist. The ID, slug, version and creation
// fields of the result are left for the caller; so is the title when the
// document has neither a # heading nor a front matter title. Errors are
// *ParseError.
func Parse(src []byte) (*signoff.Template, error) {
	r, err := Read(src, "")
	if err != nil {
		return nil, err
	}
	return r.Template, nil
}

// Read parses src as Parse does and, when the file has no title of its
// own, takes one from fileName ("release-checklist.md" gives "Release
// checklist").
func Read(src []byte, fileName string) (*Result, error) {
	s, err := newSource(src)
	if err != nil {
		return nil, err
	}
	d, err := read(s)
	if err != nil {
		return nil, err
	}
	r := &Result{Template: d.template(), Warnings: d.warnings}
	switch {
	case r.Template.Title != "":
		r.TitleFrom = TitleFromHeading
	case s.front.title != "":
		r.Template.Title, r.TitleFrom = s.front.title, TitleFromFrontMatter
	case TitleFromName(fileName) != "":
		r.Template.Title, r.TitleFrom = TitleFromName(fileName), TitleFromFileName
	}
	return r, nil
}

// TitleFromName makes a title of a file name: no folder, no extension,
// dashes and underscores as spaces, the first letter capitalised.
func TitleFromName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.TrimSuffix(name, filepath.Ext(name))
	name = strings.Join(strings.Fields(strings.NewReplacer("-", " ", "_", " ").Replace(name)), " ")
	if name == "" || name == "." {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// markdown is GitHub Flavored Markdown as goldmark reads and writes it:
// tables, strikethrough, autolinks and task lists. Raw HTML is written
// out, as GitHub does, and the sanitiser (policy) takes what is unsafe.
// The value is configured once and only read, so it is safe to share.
var markdown = goldmark.New(
	goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough, extension.Linkify, extension.TaskList,
	),
	goldmark.WithRendererOptions(html.WithUnsafe(), renderImagesAsLinks()),
)

// parseMarkdown parses what follows the byte order mark and front matter.
func parseMarkdown(s *source) ast.Node {
	return markdown.Parser().Parse(text.NewReader(s.md[s.body:]), parser.WithContext(parser.NewContext()))
}
