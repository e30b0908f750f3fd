package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/a-h/templ"
	"github.com/klauspost/compress/flate"
)

// compressedTypes are the answers worth gzipping: pages, HTMX fragments,
// the stylesheet and scripts. (The deployment page is ~10x smaller gzipped.)
var compressedTypes = []string{"text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"}

// compress gzips HTML, CSS and JavaScript for clients that accept it. It
// never touches event streams: a compressor holds bytes back, and a live
// update must reach the browser the moment it is written.
//
// What an answer writes is compressed without a compressor of its own:
// each piece goes through klauspost's stateless deflate, which keeps no
// state between calls (its tables live on the stack), so a crowd of
// requests holds no pooled gzip writers (which were 90% of the memory
// after load). A piece compressed in advance (a gzSegment: the deployment
// page's phases, compressed once per change) is spliced into the stream
// as it is: deflate blocks that end byte-aligned and refer to nothing
// before them can follow any other such blocks.
func compress() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isEventStream(r) {
				next.ServeHTTP(w, r)
				return
			}
			if r.Header.Get("Range") != "" {
				// A byte range of a file is a range of its bytes, not of
				// some compressed form of them.
				next.ServeHTTP(w, r)
				return
			}
			gw := &gzipWriter{ResponseWriter: w, accepts: acceptsGzip(r)}
			returned := false
			defer func() {
				if returned {
					gw.finish()
				} else {
					gw.abandon() // a panic: recoverPanics answers, if it still can
				}
			}()
			next.ServeHTTP(gw, r)
			returned = true
		})
	}
}

// isEventStream recognises a server-sent events request: EventSource
// always asks for text/event-stream; the path is the fallback.
func isEventStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream") || strings.HasSuffix(r.URL.Path, "/events")
}

// acceptsGzip reads Accept-Encoding: gzip (or x-gzip, or *) with a
// nonzero quality.
func acceptsGzip(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(h, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && strings.Trim(q, "0.") == "" {
				continue // q=0: explicitly refused
			}
			return true
		}
	}
	return false
}

// compressible reports whether a Content-Type is worth gzipping.
func compressible(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	for _, t := range compressedTypes {
		if mt == t {
			return true
		}
	}
	return false
}

// gzHeader is a gzip member's header: deflate, no name, no time, unknown
// system.
var gzHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// gzipFlushAt is how much uncompressed answer is gathered before it is
// compressed and sent: whole answers of ordinary size go out in one piece
// with a Content-Length; a large download streams.
const gzipFlushAt = 64 << 10

// gzipWriter compresses one answer. The status line waits for the body
// (or the handler's end), so an answer written whole gets its compressed
// Content-Length.
type gzipWriter struct {
	http.ResponseWriter
	accepts bool

	decided     bool // WriteHeader seen (or implied by a Write)
	on          bool // compressing this answer
	status      int
	headersSent bool
	done        bool

	raw  *bytes.Buffer // uncompressed, not yet compressed
	out  *bytes.Buffer // compressed, not yet sent
	crc  uint32
	size uint32 // of the uncompressed answer, mod 2³² as gzip counts it
}

var gzipBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getGzipBuffer() *bytes.Buffer {
	b := gzipBuffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putGzipBuffer keeps buffers for reuse, but not the rare huge one.
func putGzipBuffer(b *bytes.Buffer) {
	if b != nil && b.Cap() <= 256<<10 {
		gzipBuffers.Put(b)
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *gzipWriter) WriteHeader(code int) {
	if w.decided {
		return // superfluous, as net/http would say
	}
	if code < 200 {
		w.ResponseWriter.WriteHeader(code) // informational: not the answer
		return
	}
	w.decided = true
	w.status = code
	h := w.Header()
	if !compressible(h.Get("Content-Type")) {
		w.sendHeaders()
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if !w.accepts || h.Get("Content-Encoding") != "" || code == http.StatusNoContent || code == http.StatusNotModified {
		w.sendHeaders()
		return
	}
	w.on = true
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	// A validator of the uncompressed answer would not name these bytes.
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("ETag", "W/"+et)
	}
	h.Del("Accept-Ranges")
	w.raw, w.out = getGzipBuffer(), getGzipBuffer()
	w.out.Write(gzHeader)
}

func (w *gzipWriter) sendHeaders() {
	if !w.headersSent {
		w.headersSent = true
		w.ResponseWriter.WriteHeader(w.status)
	}
}

func (w *gzipWriter) Write(p []byte) (int, error) {
	if !w.decided {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(p))
		}
		w.WriteHeader(http.StatusOK)
	}
	if !w.on {
		return w.ResponseWriter.Write(p)
	}
	if w.done {
		return 0, errors.New("gzip: write after the answer was finished")
	}
	w.crc = crc32.Update(w.crc, crc32.IEEETable, p)
	w.size += uint32(len(p))
	w.raw.Write(p)
	if w.raw.Len() >= gzipFlushAt {
		if err := w.send(false); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// compressRaw moves what is gathered into out as deflate blocks ending on
// a byte boundary (final: the stream's last).
func (w *gzipWriter) compressRaw(final bool) error {
	if w.raw.Len() == 0 && !final {
		return nil
	}
	var err error
	if w.raw.Len() < storeBelow {
		writeStored(w.out, w.raw.Bytes(), final)
	} else {
		err = flate.StatelessDeflate(w.out, w.raw.Bytes(), final, nil)
	}
	w.raw.Reset()
	return err
}

// storeBelow is the size under which a piece of an answer is sent stored
// (as it is, in a deflate block that needs no decoding): a page's short
// pieces between its segments (the <head>, the end of <body>) cost the
// server a Huffman table each when compressed (most of the CPU deflate
// spends on them) to save a few hundred bytes, and the reader nothing to
// inflate when stored.
const storeBelow = 1 << 10

// writeStored writes p as one stored deflate block (p shorter than 64
// KB), starting and ending on a byte boundary as every block here does.
func writeStored(out *bytes.Buffer, p []byte, final bool) {
	var h [5]byte
	if final {
		h[0] = 1 // BFINAL; BTYPE 00 (stored); the rest of the byte is padding
	}
	binary.LittleEndian.PutUint16(h[1:3], uint16(len(p)))
	binary.LittleEndian.PutUint16(h[3:5], ^uint16(len(p)))
	out.Write(h[:])
	out.Write(p)
	if !final {
		// An empty stored block after it, as a sync flush writes (and
		// StatelessDeflate ends with): some inflaters (Go's) hand out a
		// stored block's bytes only at the next block's end, and a flushed
		// answer must reach its reader now.
		out.Write(syncMarker)
	}
}

// syncMarker is an empty, non-final stored block.
var syncMarker = []byte{0, 0, 0, 0xff, 0xff}

// send compresses what is gathered and sends what is compressed.
func (w *gzipWriter) send(final bool) error {
	if err := w.compressRaw(final); err != nil {
		return err
	}
	if final && !w.headersSent {
		w.Header().Set("Content-Length", fmt.Sprint(w.out.Len()+8))
	}
	w.sendHeaders()
	if final {
		var trailer [8]byte
		binary.LittleEndian.PutUint32(trailer[:4], w.crc)
		binary.LittleEndian.PutUint32(trailer[4:], w.size)
		w.out.Write(trailer[:])
	}
	_, err := w.ResponseWriter.Write(w.out.Bytes())
	w.out.Reset()
	return err
}

// writeSegment splices a piece compressed in advance into the answer.
func (w *gzipWriter) writeSegment(s *gzSegment) error {
	if w.done {
		return errors.New("gzip: write after the answer was finished")
	}
	if err := w.compressRaw(false); err != nil {
		return err
	}
	w.crc = crc32Combine(w.crc, s.crc, s.shift)
	w.size += uint32(s.size)
	if w.out.Len()+len(s.deflate) <= 2*gzipFlushAt {
		w.out.Write(s.deflate) // one write, and a Content-Length
		return nil
	}
	w.sendHeaders()
	if _, err := w.ResponseWriter.Write(w.out.Bytes()); err != nil {
		return err
	}
	w.out.Reset()
	_, err := w.ResponseWriter.Write(s.deflate)
	return err
}

// FlushError sends all that was written so far (server-sent events never
// come here, but a handler may still flush).
func (w *gzipWriter) FlushError() error {
	if !w.decided {
		w.WriteHeader(http.StatusOK)
	}
	if w.on && !w.done {
		if err := w.send(false); err != nil {
			return err
		}
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *gzipWriter) Flush() { _ = w.FlushError() }

// finish ends the answer once the handler has returned.
func (w *gzipWriter) finish() {
	if !w.decided || w.done {
		return
	}
	if w.on {
		if w.size == 0 && !w.headersSent {
			// No body at all: nothing to compress, and an empty body
			// must not claim an encoding.
			w.Header().Del("Content-Encoding")
			w.sendHeaders()
		} else {
			_ = w.send(true) // a failure here is a client gone
		}
		putGzipBuffer(w.raw)
		putGzipBuffer(w.out)
		w.raw, w.out = nil, nil
	}
	w.done = true
}

// abandon drops an answer whose handler panicked: what was gathered is
// not sent (a cut page must not end as if whole), and if nothing was
// sent, the headers no longer claim an encoding, so that the error page
// written in its place is read as it is.
func (w *gzipWriter) abandon() {
	if w.on && !w.headersSent {
		w.Header().Del("Content-Encoding")
		w.Header().Del("Content-Length")
	}
	if w.on {
		putGzipBuffer(w.raw)
		putGzipBuffer(w.out)
		w.raw, w.out = nil, nil
	}
	w.done = true
}

// findGzip returns the compressor w writes through, if it is compressing.
func findGzip(w http.ResponseWriter) *gzipWriter {
	for w != nil {
		if gw, ok := w.(*gzipWriter); ok {
			if !gw.decided {
				gw.WriteHeader(http.StatusOK)
			}
			if gw.on {
				return gw
			}
			return nil
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// gzSegment is a piece of an answer compressed once and spliced into
// every answer that shows it: raw deflate blocks that need no window from
// before them and end byte-aligned without a final block.
type gzSegment struct {
	level   int          // the compression level it was made with
	hits    atomic.Int32 // views since it was made (see recompressAfter)
	deflate []byte
	size    int    // uncompressed bytes
	crc     uint32 // CRC-32 of the uncompressed bytes
	shift   uint32 // x^(8·size) mod the CRC's polynomial, to combine CRCs
}

// segmentLevel is the level a segment is first compressed at, in the
// request that rendered it: fast (0.6 ms for the seed page's phases
// against 11 ms at level 9). maxSegmentLevel is the level for segments
// viewed often: 17 KB instead of 27, and inflated in half the time.
const (
	segmentLevel    = 1
	maxSegmentLevel = 9
)

// segmentCompressors keeps a compressor for each of the two levels (they
// are large, and sync.Pool lets the idle ones go at the next collections).
var segmentCompressors [2]sync.Pool

// newGzSegment compresses html once.
func newGzSegment(html []byte, level int) (*gzSegment, error) {
	var b bytes.Buffer
	b.Grow(len(html)/6 + 64)
	pool := &segmentCompressors[0]
	if level == maxSegmentLevel {
		pool = &segmentCompressors[1]
	}
	fw, _ := pool.Get().(*flate.Writer)
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(nil, level); err != nil {
			return nil, fmt.Errorf("compress segment: %w", err)
		}
	}
	defer pool.Put(fw)
	fw.Reset(&b)
	if _, err := fw.Write(html); err != nil {
		return nil, fmt.Errorf("compress segment: %w", err)
	}
	// A sync flush: the blocks end on a byte boundary, and the stream is
	// left open for whatever follows.
	if err := fw.Flush(); err != nil {
		return nil, fmt.Errorf("compress segment: %w", err)
	}
	fw.Reset(io.Discard) // drop the reference to b
	return &gzSegment{
		level:   level,
		deflate: bytes.Clone(b.Bytes()),
		size:    len(html),
		crc:     crc32.ChecksumIEEE(html),
		shift:   x2nmodp(uint64(len(html)), 3),
	}, nil
}

// finalBlock ends a deflate stream: an empty final block with fixed codes.
var finalBlock = []byte{0x03, 0x00}

// writeTo writes the segment uncompressed, for a client that did not ask
// for gzip: rare, so it is inflated each time rather than kept twice.
func (s *gzSegment) writeTo(w io.Writer) error {
	fr := flate.NewReader(io.MultiReader(bytes.NewReader(s.deflate), bytes.NewReader(finalBlock)))
	defer fr.Close()
	n, err := io.Copy(w, fr)
	if err != nil {
		return fmt.Errorf("inflate segment: %w", err)
	}
	if n != int64(s.size) {
		return fmt.Errorf("inflate segment: %d bytes, not %d", n, s.size)
	}
	return nil
}

// html returns the segment uncompressed.
func (s *gzSegment) html() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(s.size)
	err := s.writeTo(&b)
	return b.Bytes(), err
}

// writeSegment writes s to w: spliced as it is when w is gzipping, else
// inflated.
func writeSegment(w http.ResponseWriter, s *gzSegment) error {
	if gw := findGzip(w); gw != nil {
		return gw.writeSegment(s)
	}
	return s.writeTo(w)
}

// segmentList collects, in order, the segments one rendering shows: the
// renderer that put it in the context (renderSegmented) cuts the rendering
// at their markers and splices them in.
type segmentList struct{ segs []*gzSegment }

type segmentListKey struct{}

// segmentMarker stands in for a segment in a rendering that renderSegmented
// will cut apart: a comment with a per-process random name, which neither
// templ's escaping nor sanitised Markdown can produce.
var segmentMarker = "<!--segment-" + rand.Text() + "-->"

// segmentComponent renders a segment: as its marker when the renderer
// splices (renderSegmented), else as the HTML itself.
func segmentComponent(s *gzSegment) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if l, ok := ctx.Value(segmentListKey{}).(*segmentList); ok {
			l.segs = append(l.segs, s)
			_, err := io.WriteString(w, segmentMarker)
			return err
		}
		return s.writeTo(w)
	})
}

// staticSegment is a component whose HTML never changes while the process
// runs (the icon sprite, the shortcuts dialog): rendered and compressed
// at the best level once, at its first use, and spliced into every page
// that shows it.
func staticSegment(c templ.Component) templ.Component {
	seg := sync.OnceValues(func() (*gzSegment, error) {
		var b bytes.Buffer
		if err := c.Render(context.Background(), &b); err != nil {
			return nil, err
		}
		return newGzSegment(b.Bytes(), maxSegmentLevel)
	})
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		s, err := seg()
		if err != nil {
			return err
		}
		return segmentComponent(s).Render(ctx, w)
	})
}

// CRC-32 combination (zlib's crc32_combine): the CRC of A‖B from A's,
// B's and x^(8·len(B)) mod P.

const crcPoly = 0xedb88320 // IEEE, reversed

// multmodp multiplies a and b modulo the CRC polynomial.
func multmodp(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTable holds x^(2^n) mod P.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for n := 1; n < 32; n++ {
		p = multmodp(p, p)
		t[n] = p
	}
	return t
}()

// x2nmodp is x^(n·2^k) mod P.
func x2nmodp(n uint64, k uint) uint32 {
	p := uint32(1) << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multmodp(x2nTable[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}

// crc32Combine is the CRC of A‖B given crc(A), crc(B) and shift =
// x2nmodp(len(B), 3).
func crc32Combine(crcA, crcB, shift uint32) uint32 {
	return multmodp(shift, crcA) ^ crcB
}
