// Package loadgen drives a running Signoff server the way browsers do
// (logged-in sessions, HTMX form posts with the same headers), measures
// each operation against two floors taken in the same run, and checks
// afterwards that the database holds exactly what was sent.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Phases the generator can run, in the order given.
const (
	PhaseReadFloor  = "read-floor"  // GET /_load/read-floor: one SELECT 1
	PhaseWriteFloor = "write-floor" // POST /_load/write-floor: one single-row INSERT
	PhaseTickSpread = "tick-spread" // ticks on many deployments, a few people each
	PhaseTickHot    = "tick-hot"    // ticks on one deployment, everyone on it
	PhasePage       = "page"        // GET the full seed deployment page
)

// DefaultPhases measures everything.
var DefaultPhases = []string{PhaseReadFloor, PhaseWriteFloor, PhaseTickSpread, PhaseTickHot, PhasePage}

// Config says what to run.
type Config struct {
	BaseURL     string        // the running server
	Clients     int           // concurrent simulated people
	Deployments int           // deployments for the spread phase
	Duration    time.Duration // per phase
	Phases      []string
	Log         io.Writer // progress lines; nil for none
}

// Stats are one phase's figures.
type Stats struct {
	Phase     string
	Requests  int
	Errors    int
	Elapsed   time.Duration
	latencies []time.Duration
	ErrorText []string // the first few distinct errors
}

// RPS is successful requests per second.
func (s *Stats) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests-s.Errors) / s.Elapsed.Seconds()
}

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (s *Stats) Percentile(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	i := int(float64(len(l))*p/100+0.5) - 1
	return l[min(max(i, 0), len(l)-1)]
}

// session is one simulated person with their own cookie jar.
type session struct {
	base   string
	client *http.Client
	email  string
}

func newSession(base, email string, transport http.RoundTripper) *session {
	jar, _ := cookiejar.New(nil)
	return &session{base: base, email: email, client: &http.Client{
		Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// login posts the login form, as the browser does.
func (s *session) login(ctx context.Context, password string) error {
	res, err := s.post(ctx, "/login", url.Values{"email": {s.email}, "password": {password}}, false)
	if err != nil {
		return err
	}
	if res != http.StatusSeeOther {
		return fmt.Errorf("login %s: status %d", s.email, res)
	}
	return nil
}

// post sends a same-origin form post; htmx adds HX-Request and friends.
func (s *session) post(ctx context.Context, path string, form url.Values, htmx bool) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	if htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Current-URL", s.base+path)
	}
	return s.send(req)
}

func (s *session) get(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return s.send(req)
}

// send sends req and reads the whole answer, inflating it if it came
// gzipped, as a browser does; an answer cut short or corrupt is an error.
// The transport's own gzip handling (Go's compress/gzip, a new reader for
// every answer) is off: it took about twice a browser's zlib's time to
// inflate a page, CPU the generator took from the server it shares the
// machine with.
func (s *session) send(req *http.Request) (int, error) {
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") == "gzip" {
		err = inflate(res.Body)
	} else {
		_, err = io.Copy(io.Discard, res.Body)
	}
	if err != nil {
		return 0, fmt.Errorf("%s %s: read the answer: %w", req.Method, req.URL.Path, err)
	}
	return res.StatusCode, nil
}

var gzipReaders sync.Pool // of *gzip.Reader

// inflate reads a gzipped body to its end, checking its CRC and length.
func inflate(body io.Reader) error {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(body)
	} else {
		err = zr.Reset(body)
	}
	if err != nil {
		return err
	}
	defer gzipReaders.Put(zr)
	_, err = io.Copy(io.Discard, zr)
	return err
}

// run drives op from every client for d, collecting latencies.
func run(ctx context.Context, phase string, clients int, d time.Duration, op func(ctx context.Context, client, n int) error) *Stats {
	st := &Stats{Phase: phase}
	var mu sync.Mutex
	var wg sync.WaitGroup
	// The phase stops starting requests at its end; those in flight finish,
	// so none is left half-known and the invariant check can count every
	// change (a request cut off would leave its item uncertain).
	start := time.Now()
	end := start.Add(d)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs []string
			requests, failed := 0, 0
			for n := 0; ctx.Err() == nil && time.Now().Before(end); n++ {
				t0 := time.Now()
				err := op(ctx, c, n)
				if ctx.Err() != nil && err != nil {
					break // the run was cancelled: not a server error
				}
				lat = append(lat, time.Since(t0))
				requests++
				if err != nil {
					failed++
					if len(errs) < 3 {
						errs = append(errs, err.Error())
					}
				}
			}
			mu.Lock()
			st.latencies = append(st.latencies, lat...)
			st.Requests += requests
			st.Errors += failed
			for _, e := range errs {
				if len(st.ErrorText) < 5 && !slices.Contains(st.ErrorText, e) {
					st.ErrorText = append(st.ErrorText, e)
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	return st
}

func expect(status int, err error, want int) error {
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("status %d, want %d", status, want)
	}
	return nil
}
