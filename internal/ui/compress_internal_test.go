package ui

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestCRC32Combine(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {100, 333333}, {70000, 3}, {4096, 65536}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := crc32.ChecksumIEEE(append(bytes.Clone(a), b...))
		got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), x2nmodp(uint64(len(b)), 3))
		if got != want {
			t.Errorf("lengths %v: combined %08x, want %08x", n, got, want)
		}
	}
}

// pageLike is HTML that compresses like a page: repetitive, not trivial.
func pageLike(n int, salt string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `<li class="item" id="item-%d-%s"><input type="checkbox" name="state" value="done"> Task %d of %s</li>`+"\n", i, salt, i*7919%1000, salt)
	}
	return b.Bytes()[:n]
}

// serveWith runs h behind the compressor and returns the answer, the body
// as sent.
func serveWith(t *testing.T, h http.HandlerFunc, header http.Header) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(compress()(h))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/page", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	// The transport must not unpack: the test reads the bytes as sent.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false) // one member, as a browser expects
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		t.Fatal("bytes after the gzip member")
	}
	return out
}

// TestCompressSplicesSegments: a segment compressed once, between pieces
// compressed per answer (one of them larger than the compressor gathers),
// is one valid gzip member with the right CRC and length, and the same
// bytes uncompressed to a client that does not take gzip.
func TestCompressSplicesSegments(t *testing.T) {
	t.Parallel()
	before, middle, after := pageLike(5000, "a"), pageLike(331<<10, "b"), pageLike(3*gzipFlushAt+17, "c")
	seg, err := newGzSegment(middle, segmentLevel)
	if err != nil {
		t.Fatal(err)
	}
	if len(seg.deflate) > len(middle)/4 {
		t.Errorf("segment %d bytes compressed from %d", len(seg.deflate), len(middle))
	}
	want := append(append(bytes.Clone(before), middle...), after...)
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(want))) // wrong once compressed
		w.WriteHeader(http.StatusOK)
		w.Write(before)
		if err := writeSegment(w, seg); err != nil {
			t.Error(err)
		}
		for p := after; len(p) > 0; p = p[min(len(p), 1000):] {
			w.Write(p[:min(len(p), 1000)])
		}
	}
	res, body := serveWith(t, h, http.Header{"Accept-Encoding": {"br;q=1.0, gzip;q=0.8"}})
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers %v", res.Header)
	}
	if cl := res.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) {
		t.Fatalf("Content-Length %s for %d bytes", cl, len(body))
	}
	if got := gunzip(t, body); !bytes.Equal(got, want) {
		t.Fatalf("gunzipped %d bytes, want %d (equal prefix %d)", len(got), len(want), commonPrefix(got, want))
	}

	for _, ae := range []string{"", "identity", "gzip;q=0", "gzip; q=0.000, deflate"} {
		res, body = serveWith(t, h, http.Header{"Accept-Encoding": {ae}})
		if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Vary") != "Accept-Encoding" || !bytes.Equal(body, want) {
			t.Fatalf("Accept-Encoding %q: encoding %q, vary %q, %d bytes (want %d)", ae,
				res.Header.Get("Content-Encoding"), res.Header.Get("Vary"), len(body), len(want))
		}
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// TestCompressWholeAnswer: an answer written at once goes out with its
// compressed length; what is not worth compressing, or has no body, is
// left alone.
func TestCompressWholeAnswer(t *testing.T) {
	t.Parallel()
	gz := http.Header{"Accept-Encoding": {"gzip"}}
	html := pageLike(4000, "x")

	res, body := serveWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"v1"`)
		w.Write(html)
	}, gz)
	if res.Header.Get("Content-Length") != strconv.Itoa(len(body)) || !bytes.Equal(gunzip(t, body), html) {
		t.Fatalf("Content-Length %q, %d bytes", res.Header.Get("Content-Length"), len(body))
	}
	if res.Header.Get("ETag") != `W/"v1"` {
		t.Errorf("ETag %q: the compressed bytes are not the uncompressed answer's", res.Header.Get("ETag"))
	}

	res, body = serveWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"a":1}`))
	}, gz)
	if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Vary") != "" || string(body) != `{"a":1}` {
		t.Fatalf("JSON: %v %q", res.Header, body)
	}

	for _, status := range []int{http.StatusOK, http.StatusNoContent, http.StatusNotModified} {
		res, body = serveWith(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
		}, gz)
		if res.StatusCode != status || res.Header.Get("Content-Encoding") != "" || len(body) != 0 {
			t.Fatalf("empty %d: status %d, encoding %q, %d bytes", status, res.StatusCode, res.Header.Get("Content-Encoding"), len(body))
		}
	}

	res, body = serveWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Write(html)
	}, http.Header{"Accept-Encoding": {"gzip"}, "Range": {"bytes=0-9"}})
	if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, html) {
		t.Fatalf("a range request was compressed (%q)", res.Header.Get("Content-Encoding"))
	}
}

// TestCompressFlushes: what a handler flushes reaches the client before
// the handler returns.
func TestCompressFlushes(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>first</p>"))
		http.NewResponseController(w).Flush()
		<-release
		w.Write([]byte("<p>second</p>"))
	})))
	t.Cleanup(srv.Close)
	defer close(release)
	res, err := http.Get(srv.URL) // the transport asks for gzip and unpacks
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if !res.Uncompressed {
		t.Fatal("not compressed")
	}
	buf := make([]byte, len("<p>first</p>"))
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "<p>first</p>" {
		t.Fatalf("%q %v", buf, err)
	}
	release <- struct{}{}
	rest, err := io.ReadAll(res.Body)
	if err != nil || string(rest) != "<p>second</p>" {
		t.Fatalf("%q %v", rest, err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for ae, want := range map[string]bool{
		"gzip": true, "GZIP": true, "deflate, gzip;q=1.0, *;q=0.5": true, "x-gzip": true, "*": true,
		"": false, "identity": false, "br": false, "gzip;q=0": false, "gzip;q=0.0, br": false, "gzip;q=0.001": true,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", ae)
		if got := acceptsGzip(r); got != want {
			t.Errorf("%q: %v, want %v", ae, got, want)
		}
	}
}

// TestSegmentComponentOutsideTheSplicer: rendered anywhere but through
// renderSegmented, the segment is its HTML.
func TestSegmentComponentOutsideTheSplicer(t *testing.T) {
	t.Parallel()
	html := pageLike(10000, "s")
	seg, err := newGzSegment(html, maxSegmentLevel)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := segmentComponent(seg).Render(t.Context(), &b); err != nil || b.String() != string(html) {
		t.Fatalf("%v, %d bytes", err, b.Len())
	}
}

// TestCompressPanicSendsNoGzip: a handler that panics after writing part
// of a compressed answer leaves nothing sent and no encoding claimed, so
// the error page written in its place is plain.
func TestCompressPanicSendsNoGzip(t *testing.T) {
	t.Parallel()
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if recover() != nil {
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusInternalServerError)
					w.Write([]byte("sorry"))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(recoverer(compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		w.Write(pageLike(3000, "p"))
		panic("render failed")
	}))))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusInternalServerError || res.Header.Get("Content-Encoding") != "" || string(body) != "sorry" {
		t.Fatalf("status %d, encoding %q, body %q", res.StatusCode, res.Header.Get("Content-Encoding"), body)
	}
}

// TestCompressStoresShortPieces: pieces shorter than storeBelow, between
// segments, at the end or making the whole answer, go out stored and the
// member still inflates to the same bytes, with its CRC and length.
func TestCompressStoresShortPieces(t *testing.T) {
	t.Parallel()
	segA, err := newGzSegment(pageLike(20000, "a"), maxSegmentLevel)
	if err != nil {
		t.Fatal(err)
	}
	segB, err := newGzSegment(pageLike(3000, "b"), segmentLevel)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := segA.html()
	b, _ := segB.html()
	for _, sizes := range [][3]int{{1, 700, 1023}, {storeBelow, storeBelow - 1, 5}, {0, 5000, 0}, {200, 0, storeBelow + 1}} {
		p0, p1, p2 := pageLike(sizes[0], "x"), pageLike(sizes[1], "y"), pageLike(sizes[2], "z")
		want := bytes.Join([][]byte{p0, a, p1, b, p2}, nil)
		res, body := serveWith(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write(p0)
			writeSegment(w, segA)
			w.Write(p1)
			writeSegment(w, segB)
			w.Write(p2)
		}, http.Header{"Accept-Encoding": {"gzip"}})
		if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("%v: headers %v, %d bytes", sizes, res.Header, len(body))
		}
		if got := gunzip(t, body); !bytes.Equal(got, want) {
			t.Fatalf("%v: gunzipped %d bytes, want %d (equal prefix %d)", sizes, len(got), len(want), commonPrefix(got, want))
		}
	}
	small := pageLike(300, "s")
	_, body := serveWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(small)
	}, http.Header{"Accept-Encoding": {"gzip"}})
	if got := gunzip(t, body); !bytes.Equal(got, small) || len(body) != len(small)+len(gzHeader)+5+8 {
		t.Fatalf("a short answer: %d bytes sent, %q", len(body), got)
	}
}
