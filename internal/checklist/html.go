package checklist

import (
	"bufio"
	"bytes"
	stdhtml "html"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	ghtml "github.com/yuin/goldmark/renderer/html"
	gtext "github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// policy is what rendered Markdown may hold once sanitised: the elements
// GitHub renders for Markdown and the harmless raw HTML it allows
// (details, kbd, sub, sup…), links to http(s) and mail only, opening in a
// new tab without a referrer, no images (renderImagesAsLinks), no style,
// no script, no event handlers, no forms, no ids or classes but a code
// block's language.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
		"em", "strong", "b", "i", "u", "del", "s", "ins", "mark", "kbd", "sub", "sup", "samp", "var", "abbr", "small",
		"ul", "ol", "li", "dl", "dt", "dd", "details", "summary",
		"table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|center|right)$`)).OnElements("th", "td")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[A-Za-z0-9_+.#-]{1,40}$`)).OnElements("code")
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).OnElements("abbr", "a")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`^(|open)$`)).OnElements("details")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(false)
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// Sanitize keeps of html only what policy allows.
func Sanitize(html string) string { return policy().Sanitize(html) }

// HTML renders Markdown as GitHub would, sanitised: for text that is not a
// template's, such as a preview of a whole file.
func HTML(src []byte) string {
	var b bytes.Buffer
	if err := markdown.Convert(src, &b); err != nil {
		return "" // goldmark's writer is a bytes.Buffer: it does not fail
	}
	return Sanitize(b.String())
}

// renderImagesAsLinks writes an image as a link to it, named by its alt
// text: the page's Content Security Policy would block the image, and
// loading it would tell its host who is reading the checklist.
func renderImagesAsLinks() renderer.Option {
	return renderer.WithNodeRenderers(util.Prioritized(imageLinks{}, 100))
}

type imageLinks struct{}

func (imageLinks) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindImage, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		img := n.(*ast.Image)
		_, _ = w.WriteString(`<a href="`)
		_, _ = w.Write(util.EscapeHTML(util.URLEscape(img.Destination, true)))
		_, _ = w.WriteString(`">`)
		alt := plainInline(img, src)
		if alt == "" {
			alt = "image"
		}
		_, _ = w.Write(util.EscapeHTML([]byte(alt)))
		_, _ = w.WriteString(`</a>`)
		return ast.WalkSkipChildren, nil
	})
}

// frag is a piece of content to show: blocks of the document, or the own
// blocks of one item of a list (a plain bullet that holds tasks below it),
// shown as that bullet.
type frag struct {
	nodes []ast.Node
	list  *ast.List // the list of the item the nodes belong to, or nil
	item  ast.Node  // that item
}

// content is what stands in one place between items, as fragments of the
// document until rendered.
type content struct{ frags []frag }

func (c *content) add(f frag) { c.frags = append(c.frags, f) }

// htmlWriter renders parts of one document to HTML and sanitises them
// together: one call of the sanitiser for a whole template rather than
// one for each of its items, with the parts told apart by a separator
// that the source does not hold.
type htmlWriter struct {
	src  []byte
	r    renderer.Renderer
	buf  bytes.Buffer
	w    *bufio.Writer
	dst  []*string
	raw  []string
	safe bool // the separator does not occur in the source
}

// partSep separates the parts sanitised together. Any byte the source
// lacks would do; a control character is rare in Markdown.
const partSep = "\x1e"

func newHTMLWriter(src []byte) *htmlWriter {
	h := &htmlWriter{src: src, r: markdown.Renderer(), safe: !bytes.Contains(src, []byte(partSep))}
	h.w = bufio.NewWriter(&h.buf)
	return h
}

// render renders nodes (to the shared buffer; Flush ends a part).
func (h *htmlWriter) render(n ast.Node) { _ = h.r.Render(h.w, h.src, n) }

// part ends the HTML written since the last part and sets *dst to it,
// sanitised, once flush runs.
func (h *htmlWriter) part(dst *string) {
	_ = h.w.Flush()
	if h.buf.Len() > 0 {
		h.dst = append(h.dst, dst)
		h.raw = append(h.raw, h.buf.String())
	}
	h.buf.Reset()
}

// flush sanitises every part and stores it.
func (h *htmlWriter) flush() {
	if len(h.raw) == 0 {
		return
	}
	if h.safe {
		parts := strings.Split(Sanitize(strings.Join(h.raw, partSep)), partSep)
		if len(parts) == len(h.raw) {
			for i, p := range parts {
				*h.dst[i] = p
			}
			return
		}
	}
	// A part swallowed a separator (an unclosed <script>, say): take
	// each part on its own.
	for i, raw := range h.raw {
		*h.dst[i] = Sanitize(raw)
	}
}

// content writes c as HTML (a part stored in *html) and returns its plain
// text.
func (h *htmlWriter) content(c *content, html *string) string {
	var texts []string
	for i, f := range c.frags {
		if f.list != nil && (i == 0 || c.frags[i-1].list != f.list) {
			_, _ = h.w.WriteString(listOpen(f.list, f.item))
		}
		if f.list != nil {
			_, _ = h.w.WriteString("<li>")
		}
		for _, n := range f.nodes {
			h.render(n)
			if t := plainBlock(n, h.src); t != "" {
				if f.list != nil {
					t = "- " + t
				}
				texts = append(texts, t)
			}
		}
		if f.list != nil {
			_, _ = h.w.WriteString("</li>\n")
			if i == len(c.frags)-1 || c.frags[i+1].list != f.list {
				_, _ = h.w.WriteString(listClose(f.list))
			}
		}
	}
	h.part(html)
	return strings.Join(texts, "\n\n")
}

// inline writes the inline content of a block (an item's first
// paragraph) without the block's own tags and without its task box.
func (h *htmlWriter) inline(block ast.Node, html *string) {
	for n := block.FirstChild(); n != nil; n = n.NextSibling() {
		if _, box := n.(*east.TaskCheckBox); box {
			continue
		}
		h.render(n)
	}
	h.part(html)
}

func listOpen(l *ast.List, item ast.Node) string {
	if !l.IsOrdered() {
		return "<ul>\n"
	}
	n := l.Start
	for p := item.PreviousSibling(); p != nil; p = p.PreviousSibling() {
		n++
	}
	return `<ol start="` + strconv.Itoa(n) + `">` + "\n"
}

func listClose(l *ast.List) string {
	if l.IsOrdered() {
		return "</ol>\n"
	}
	return "</ul>\n"
}

// plainInline is the text of inline content as a reader sees it: no
// emphasis marks, code without its backticks, links as their text.
func plainInline(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(unescape(c.Value(src)))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.Label(src))
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// plainBlock is a block's text for exports that cannot show Markdown (the
// PDF): paragraphs and headings as text, code as its lines, lists and
// tables a line per item or row.
func plainBlock(n ast.Node, src []byte) string {
	switch n := n.(type) {
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		return strings.TrimRight(string(linesOf(n, src)), "\n")
	case *ast.HTMLBlock, *ast.ThematicBreak, *ast.LinkReferenceDefinition:
		return ""
	case *ast.List, *ast.Blockquote, *ast.ListItem, *east.Table:
		var lines []string
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			if t := plainBlock(c, src); t != "" {
				lines = append(lines, prefixOf(n)+t)
			}
		}
		return strings.Join(lines, "\n")
	case *east.TableHeader, *east.TableRow:
		var cells []string
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			cells = append(cells, plainInline(c, src))
		}
		return strings.Join(cells, " | ")
	}
	return plainInline(n, src)
}

func prefixOf(n ast.Node) string {
	switch n.(type) {
	case *ast.List:
		return "- "
	case *ast.Blockquote:
		return "> "
	}
	return ""
}

// linesOf joins the source lines of a block (a code block's content).
func linesOf(n ast.Node, src []byte) []byte {
	var b bytes.Buffer
	ls := n.Lines()
	for i := range ls.Len() {
		s := ls.At(i)
		b.WriteString(strings.Repeat(" ", s.Padding))
		b.Write(s.Value(src))
	}
	return b.Bytes()
}

// escapeHTML escapes text for HTML.
func escapeHTML(s string) string { return string(util.EscapeHTML([]byte(s))) }

// unescape reads text as a renderer writes it: backslash escapes and
// character references resolved.
func unescape(b []byte) []byte {
	if !bytes.ContainsAny(b, `\&`) {
		return b
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	ghtml.DefaultWriter.Write(w, b)
	_ = w.Flush()
	return []byte(stdhtml.UnescapeString(out.String()))
}

// InlineHTML renders one paragraph of Markdown without its <p>: an item's
// text where no template rendering of it is at hand.
func InlineHTML(text string) string {
	src := []byte(text)
	doc := markdown.Parser().Parse(gtext.NewReader(src))
	h := newHTMLWriter(src)
	var out string
	if p := doc.FirstChild(); p != nil && p.NextSibling() == nil && p.Kind() == ast.KindParagraph {
		h.inline(p, &out)
	} else {
		h.render(doc)
		h.part(&out)
	}
	h.flush()
	return out
}
