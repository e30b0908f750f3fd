// Signoff's patches to fpdf (see SIGNOFF.md): a UTF-8 font is parsed once
// per process, and its subset for a given set of runes is cut, measured
// and compressed once, not again for every document.

package fpdf

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"
	"unsafe"
)

// fontKey names font bytes by identity: the same slice, as a caller that
// reads a font file once passes it every time. (fpdf already keeps a
// reference to the bytes; they must not change.)
type fontKey struct {
	data *byte
	n    int
}

func keyOfFont(b []byte) fontKey { return fontKey{unsafe.SliceData(b), len(b)} }

// maxCachedFonts and maxCachedCuts bound the caches: a few fonts, and the
// subsets of the few sets of runes that documents of one kind use. When a
// cache is full it starts again (the next documents refill it).
const (
	maxCachedFonts = 8
	maxCachedCuts  = 64
)

var fontCache struct {
	sync.Mutex
	parsed map[fontKey]*utf8FontFile
	ids    map[fontIDKey]string
	cuts   map[string]*cutFont
}

type fontIDKey struct {
	fontKey
	name string
}

// utf8FontID is generateFontID(def) for a UTF-8 font made from b: a hash
// of the definition's JSON, which holds 65,536 widths, so computed once
// per font and name.
func utf8FontID(b []byte, def fontDefType) string {
	k := fontIDKey{keyOfFont(b), def.Name}
	fontCache.Lock()
	id, ok := fontCache.ids[k]
	fontCache.Unlock()
	if ok {
		return id
	}
	id, _ = generateFontID(def)
	fontCache.Lock()
	if fontCache.ids == nil || len(fontCache.ids) >= maxCachedFonts {
		fontCache.ids = map[fontIDKey]string{}
	}
	fontCache.ids[k] = id
	fontCache.Unlock()
	return id
}

// parsedUTF8Font returns the font parsed from b, parsing it once. Each
// caller gets its own copy of the parser's state; the parsed tables that
// documents only read (the widths) are shared.
func parsedUTF8Font(b []byte) (*utf8FontFile, error) {
	k := keyOfFont(b)
	fontCache.Lock()
	proto := fontCache.parsed[k]
	fontCache.Unlock()
	if proto == nil {
		p := newUTF8Font(&fileReader{array: b})
		if err := p.parseFile(); err != nil {
			return nil, err
		}
		fontCache.Lock()
		if fontCache.parsed == nil || len(fontCache.parsed) >= maxCachedFonts {
			fontCache.parsed = map[fontKey]*utf8FontFile{}
		}
		fontCache.parsed[k] = p
		fontCache.Unlock()
		proto = p
	}
	c := *proto
	c.fileReader = &fileReader{array: b}
	return &c, nil
}

// cutFont is a font's subset for one set of runes, ready to embed.
type cutFont struct {
	widths      string // the /W entry
	cidToGidMap []byte // compressed
	fontStream  []byte // compressed
	fontSize    int    // uncompressed
}

// cutKey names a font and a set of runes.
func cutKey(font *fontDefType, usedRunes map[int]int) string {
	runes := make([]int, 0, len(usedRunes))
	for r := range usedRunes {
		runes = append(runes, r)
	}
	slices.Sort(runes)
	k := keyOfFont(font.utf8File.fileReader.array)
	b := make([]byte, 0, 16+3*len(runes))
	b = binary.AppendUvarint(b, uint64(uintptr(unsafe.Pointer(k.data))))
	b = binary.AppendUvarint(b, uint64(k.n))
	for _, r := range runes {
		b = binary.AppendUvarint(b, uint64(r))
	}
	return string(b)
}

// cutUTF8Font returns font's subset for usedRunes, made once.
func (f *Fpdf) cutUTF8Font(font *fontDefType, usedRunes map[int]int) *cutFont {
	k := cutKey(font, usedRunes)
	fontCache.Lock()
	c := fontCache.cuts[k]
	fontCache.Unlock()
	if c != nil {
		return c
	}

	// As fpdf's putfonts does it, on this document's own copy of the
	// parser's state.
	utf8FontStream := font.utf8File.GenerateCutFont(usedRunes)
	CodeSignDictionary := font.utf8File.CodeSymbolDictionary
	delete(CodeSignDictionary, 0)
	cidToGidMap := make([]byte, 256*256*2)
	for cc, glyph := range CodeSignDictionary {
		cidToGidMap[cc*2] = byte(glyph >> 8)
		cidToGidMap[cc*2+1] = byte(glyph & 0xFF)
	}
	mem := xmem.compress(cidToGidMap)
	c = &cutFont{widths: cidFontWidths(font, font.utf8File.LastRune), cidToGidMap: mem.copy(), fontSize: len(utf8FontStream)}
	mem.release()
	mem = xmem.compress(utf8FontStream)
	c.fontStream = mem.copy()
	mem.release()

	fontCache.Lock()
	if fontCache.cuts == nil || len(fontCache.cuts) >= maxCachedCuts {
		fontCache.cuts = map[string]*cutFont{}
	}
	fontCache.cuts[k] = c
	fontCache.Unlock()
	return c
}

// cachedStream is a cached stream as putstream may take it: putstream
// encrypts in place, so an encrypted document gets a copy.
func (f *Fpdf) cachedStream(b []byte) []byte {
	if f.protect.encrypted {
		return bytes.Clone(b)
	}
	return b
}
