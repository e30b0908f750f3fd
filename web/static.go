// Package web holds the browser-facing assets of Signoff: the stylesheet,
// the optional enhancement script and the vendored htmx files, embedded in
// the binary so that nothing at build or run time needs Node.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

//go:embed static
var staticFiles embed.FS

// Static is the static/ folder rooted at its top, so that "app.css" and
// "vendor/htmx-2.0.11.min.js" are the names to open or serve, e.g.
//
//	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.Static)))
var Static fs.FS = mustSub(staticFiles, "static")

// Names of the files under Static that pages link to. Templates should use
// these rather than spelling the versioned vendor names themselves.
const (
	CSSFile  = "app.css"
	JSFile   = "app.js"
	HTMXFile = "vendor/htmx-2.0.11.min.js"
	SSEFile  = "vendor/htmx-ext-sse-2.2.4.min.js"
	// PasskeysFile drives the passkey ceremonies (login, account, signing).
	PasskeysFile = "passkeys.js"
)

// HTMXConfig is the htmx configuration for the page's
// <meta name="htmx-config" content="..."> tag. htmx reads it when the
// document is ready; app.js sets the same values, so either alone is enough.
// It keeps htmx within a strict Content-Security-Policy (no injected <style>,
// no eval, no script tags from responses) and keeps checklist pages out of
// localStorage (history snapshots). A boosted item form or link (the
// deployment page's) swaps in place without scrolling the page to it.
const HTMXConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"scrollIntoViewOnBoost":false}`

// Files lists every file a page links to, in the order the <head> should
// load them: stylesheet, then htmx, the SSE extension and app.js (all
// <script defer>, so they run in this order after parsing).
var Files = []string{CSSFile, HTMXFile, SSEFile, JSFile, PasskeysFile}

var (
	hashMu sync.Mutex
	hashes = map[string]string{}
)

// Fingerprint returns a short content hash of the named file under Static
// (the first 12 hex digits of its sha256), for cache-busting URLs such as
// "/static/app.css?v=3f9a2c1e4b7d". It returns "" if the file does not exist.
// Results are computed once per file.
func Fingerprint(name string) string {
	hashMu.Lock()
	defer hashMu.Unlock()
	if h, ok := hashes[name]; ok {
		return h
	}
	b, err := fs.ReadFile(Static, name)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])[:12]
	hashes[name] = h
	return h
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		// Unreachable: dir is embedded above, so fs.Sub cannot fail.
		panic("web: " + err.Error())
	}
	return sub
}
