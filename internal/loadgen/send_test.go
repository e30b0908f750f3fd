package loadgen

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSendInflatesAndChecks: a gzipped answer is asked for, read whole and
// checked; one cut short is an error, not a success.
func TestSendInflatesAndChecks(t *testing.T) {
	t.Parallel()
	var page bytes.Buffer
	zw := gzip.NewWriter(&page)
	zw.Write([]byte(strings.Repeat("<li class=item>an item</li>", 5000)))
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		switch r.URL.Path {
		case "/whole":
			w.Write(page.Bytes())
		case "/cut":
			w.Write(page.Bytes()[:page.Len()-10]) // no CRC, no length
		case "/corrupt":
			b := bytes.Clone(page.Bytes())
			b[len(b)/2] ^= 0xff
			w.Write(b)
		}
	}))
	defer srv.Close()
	s := newSession(srv.URL, "x@example.invalid", &http.Transport{DisableCompression: true})
	for path, ok := range map[string]bool{"/whole": true, "/cut": false, "/corrupt": false} {
		for range 2 { // the second time with a pooled reader
			code, err := s.get(t.Context(), path)
			if ok && (err != nil || code != http.StatusOK) {
				t.Errorf("%s: %d, %v", path, code, err)
			}
			if !ok && err == nil {
				t.Errorf("%s: no error", path)
			}
		}
	}
}
