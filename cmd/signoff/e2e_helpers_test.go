package main

// The end-to-end harness: the whole App on a random port against a fresh
// test database, and a headless Chromium that drives it like a person.
// Tests assert on DOM state (data-testid attributes, visible text) and wait
// for it by polling, never by sleeping.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/signoff"
)

// e2ePassword is every test person's password.
const e2ePassword = "correct horse battery staple"

// seedSlug is the built-in template's slug.
const seedSlug = "voxflow-production-deployment-checklist"

// artifactsDir holds the screenshots the tests take (gitignored).
const artifactsDir = "testdata/artifacts"

// e2eApp is one running Signoff instance.
type e2eApp struct {
	*App
	t   testing.TB
	URL string
}

// syncBuffer collects the app's log lines; they are printed only when the
// test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startApp boots a whole App on 127.0.0.1:0 against dbURL (pgtest.URL(t);
// pass the same URL twice for two instances of one deployment) and stops
// it when the test ends.
func startApp(t *testing.T, dbURL string) *e2eApp {
	t.Helper()
	return startAppWith(t, dbURL, appSetup{})
}

// appSetup varies the App a test boots: more environment, and a change
// to the configuration once the port is known (before serving).
type appSetup struct {
	env      map[string]string
	listened func(cfg *config.Config, port int)
}

// localhostURL is the app's address by name, as passkeys need (WebAuthn
// does not take an IP address for a relying party).
func localhostURL(port int) string { return fmt.Sprintf("http://localhost:%d", port) }

func startAppWith(t *testing.T, dbURL string, setup appSetup) *e2eApp {
	t.Helper()
	// Webhook receivers in these tests listen on this machine.
	// The tests watch the transparency log grow: a checkpoint a second.
	env := map[string]string{"DATABASE_URL": dbURL, "ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "LOG_FORMAT": "text",
		"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "LOG_CHECKPOINT_INTERVAL": "1s"}
	maps.Copy(env, setup.env)
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := NewApp(cfg, logger)
	app.PasswordCost = cheapPasswords
	ctx, cancel := context.WithCancel(context.Background())

	if err := app.OpenDB(ctx, false); err != nil {
		cancel()
		t.Fatalf("open database: %v", err)
	}
	// Roles come with the template; Serve does this too, idempotently.
	if err := app.DB.EnsureTemplate(ctx, checklist.Seed); err != nil {
		cancel()
		app.Close()
		t.Fatal(err)
	}
	a := &e2eApp{App: app, t: t}
	// Someone must exist, or Serve prints the first-admin setup link.
	if n, err := app.DB.CountUsers(ctx); err != nil {
		t.Fatal(err)
	} else if n == 0 {
		a.user("Ada Admin")
	}
	if err := app.Listen(); err != nil {
		cancel()
		app.Close()
		t.Fatal(err)
	}
	a.URL = app.URL()
	if setup.listened != nil {
		setup.listened(app.Config, app.listener.Addr().(*net.TCPAddr).Port)
		a.URL = strings.Replace(a.URL, "127.0.0.1", "localhost", 1)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("app did not shut down within 15s")
		}
		app.Close()
		if t.Failed() {
			if l := logs.String(); l != "" {
				t.Logf("app log (%s):\n%s", a.URL, l)
			}
		}
	})
	// The socket is open already; the first answer means Serve is ready.
	res, err := (&http.Client{Timeout: 15 * time.Second}).Get(a.URL + "/healthz")
	if err != nil {
		t.Fatalf("app does not answer: %v", err)
	}
	res.Body.Close()
	return a
}

// user creates a person (email from the name) holding roles.
func (a *e2eApp) user(name string, roles ...string) *signoff.User {
	a.t.Helper()
	u, err := a.DB.CreateUser(context.Background(), signoff.NewUser{
		Email: emailOf(name), Name: name, Password: e2ePassword, Roles: roles,
	}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		a.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func emailOf(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"
}

// deployment creates a deployment of the seed template through the store.
func (a *e2eApp) deployment(by *signoff.User, service, version string) *signoff.Deployment {
	a.t.Helper()
	d, err := a.DB.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: seedSlug, Service: service, Environment: "production", Version: version,
	}, byUser(by))
	if err != nil {
		a.t.Fatal(err)
	}
	return d
}

func byUser(u *signoff.User) signoff.EventActor {
	return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
}

// setItem changes one item through the store (to keep tests fast where
// the browser is not the point).
func (a *e2eApp) setItem(d *signoff.Deployment, by *signoff.User, path string, state signoff.ItemState, reason string) {
	a.t.Helper()
	if _, err := a.DB.SetItemState(context.Background(), d.ID, signoff.ItemChange{Path: path, State: state, NAReason: reason}, byUser(by)); err != nil {
		a.t.Fatalf("set %s to %s: %v", path, state, err)
	}
}

// leaves are the deployment's items without sub-items, in order.
func (a *e2eApp) leaves(d *signoff.Deployment) []signoff.Item {
	a.t.Helper()
	cl, err := a.DB.Checklist(context.Background(), d)
	if err != nil {
		a.t.Fatal(err)
	}
	var out []signoff.Item
	for _, it := range cl.Items {
		if !it.HasChildren {
			out = append(out, it)
		}
	}
	return out
}

func dpath(d *signoff.Deployment, rest string) string {
	return fmt.Sprintf("/deployments/%d%s", d.ID, rest)
}

// pid is an item path as the page's element ids spell it.
func pid(path string) string { return strings.ReplaceAll(path, ".", "-") }

// ---------------------------------------------------------------- HTTP

// httpClient is a cookie-keeping client that does not follow redirects.
type httpClient struct {
	t    testing.TB
	http *http.Client
}

func newHTTPClient(t testing.TB) *httpClient {
	jar, _ := cookiejar.New(nil)
	return &httpClient{t: t, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// post sends a same-origin form post as a browser would (htmx adds
// HX-Request).
func (c *httpClient) post(base, path string, form url.Values, htmx bool) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// get fetches base+path; with gzip it asks for a compressed answer and
// returns the body as sent (not unpacked).
func (c *httpClient) get(base, path string, gzip bool) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, b
}

// login signs u in on the instance at base.
func (c *httpClient) login(base string, u *signoff.User) {
	c.t.Helper()
	res, _ := c.post(base, "/login", url.Values{"email": {u.Email}, "password": {e2ePassword}}, false)
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d", u.Email, res.StatusCode)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	ID, Name, Data string
}

// sseStream reads a text/event-stream in the background.
type sseStream struct {
	events   chan sseEvent
	comments chan string
	cancel   context.CancelFunc
	done     chan struct{}
}

// openSSE opens base+path as an event stream, with Last-Event-ID when
// lastID is not empty; Close ends it.
func (c *httpClient) openSSE(base, path, lastID string) *sseStream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip") // the stream must come back uncompressed anyway
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := c.http.Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		cancel()
		c.t.Fatalf("GET %s: status %d, content type %q", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	if enc := res.Header.Get("Content-Encoding"); enc != "" {
		res.Body.Close()
		cancel()
		c.t.Fatalf("GET %s: event stream is compressed (%s): browsers would see events late", path, enc)
	}
	s := &sseStream{events: make(chan sseEvent, 64), comments: make(chan string, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" || len(data) > 0 {
					ev.Data = strings.Join(data, "\n")
					s.events <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- strings.TrimSpace(line[1:]):
				default:
				}
			default:
				field, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch field {
				case "id":
					ev.ID = value
				case "event":
					ev.Name = value
				case "data":
					data = append(data, value)
				}
			}
		}
	}()
	return s
}

// Close disconnects and waits for the reader to stop.
func (s *sseStream) Close() {
	s.cancel()
	<-s.done
}

// next returns the next event named name, skipping others, or fails
// after within.
func (s *sseStream) next(t testing.TB, name string, within time.Duration) sseEvent {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev := <-s.events:
			if ev.Name == name {
				return ev
			}
		case <-s.done:
			t.Fatalf("event stream ended before a %q event", name)
		case <-timeout:
			t.Fatalf("no %q event within %s", name, within)
		}
	}
}

// waitComment waits for a comment line such as ": connected".
func (s *sseStream) waitComment(t testing.TB, text string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case c := <-s.comments:
			if c == text {
				return
			}
		case <-timeout:
			t.Fatalf("no %q comment within %s", text, within)
		}
	}
}

// ---------------------------------------------------------------- browser

// chromiumPath finds Chromium; the browser tests fail (never skip) without it.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: install chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM to its path; the browser tests need it")
	return ""
}

// newBrowser starts a headless Chromium (with a fresh profile) for one
// test and closes it when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // we run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		// Headless has no mouse: (hover: hover) and (pointer: fine) would
		// not match, and desktop screenshots would show the touch layout.
		chromedp.Flag("blink-settings", "primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Do binds the browser's life to its context: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (install chromium if it is missing): %v", err)
	}
	return ctx
}

// tab is one browser tab in a browser context of its own (its own
// cookies), talking to one app instance.
type tab struct {
	t      *testing.T
	ctx    context.Context
	name   string
	base   string
	mobile bool // emulating a phone
}

// newTab opens a tab with its own cookie jar (an incognito-like browser
// context) on the app at base.
func newTab(t *testing.T, browser context.Context, base, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(func() { cancel() })
	// The first Do opens the tab and binds it to its context: no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx, name: name, base: base}
}

// trace logs each browser step and its duration when E2E_TRACE is set.
var traceSteps = os.Getenv("E2E_TRACE") != ""

func (b *tab) trace(what string, start time.Time) {
	if traceSteps {
		b.t.Logf("%s: %s (%s)", b.name, what, time.Since(start).Round(time.Millisecond))
	}
}

// tabTimeout bounds each browser step.
const tabTimeout = 15 * time.Second

func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	b.shot("FAIL-" + b.t.Name() + "-" + b.name)
	b.t.Fatalf(b.name+": "+format, args...)
}

// do runs browser steps, failing the test (with a screenshot) on error.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	defer b.trace(fmt.Sprintf("%d steps", len(steps)), time.Now())
	ctx, cancel := context.WithTimeout(b.ctx, tabTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%v", err)
	}
}

// navigate opens path and waits for the page to load; it returns the
// HTTP status of the document.
func (b *tab) navigate(path string) int64 {
	b.t.Helper()
	defer b.trace("open "+path, time.Now())
	ctx, cancel := context.WithTimeout(b.ctx, tabTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.fail("open %s: %v", path, err)
	}
	return res.Status
}

// submit clicks sel (a submit button or a link) and waits for the page it
// leads to; it returns that page's HTTP status (after redirects). It tells
// the new document by its time origin, which works with scripting off too.
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	defer b.trace("click "+sel, time.Now())
	before := eval[float64](b, "performance.timeOrigin")
	b.click(sel)
	left := fmt.Sprintf(`performance.timeOrigin !== %v`, before)
	if !b.within(5*time.Second, left) {
		// A live update swapped the element out between finding it and the
		// click landing (the mouse click goes to where it was): click the
		// one on the page now, in one step. Form keys make a click that did
		// land and is only slow do its work once.
		eval[bool](b, `(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); if (e) e.click(); return !!e })()`)
	}
	b.waitFor("the page after clicking "+sel, left+` && document.readyState === "complete"`)
	b.settleScroll()
	return eval[int64](b, `performance.getEntriesByType("navigation")[0].responseStatus`)
}

// click settles any smooth scroll, then clicks the first match of sel.
func (b *tab) click(sel string) {
	b.t.Helper()
	b.settleScroll()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// settleScroll waits for a (smooth) scroll to a #fragment to end, so that
// the next click lands where the element is.
func (b *tab) settleScroll() {
	b.t.Helper()
	last := -1.0
	for range 40 {
		y := eval[float64](b, "scrollY")
		if y == last {
			return
		}
		last = y
		time.Sleep(50 * time.Millisecond)
	}
}

// eval evaluates a JavaScript expression. DevTools evaluation is not
// subject to the page's CSP, so this is fine on strict pages.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, tabTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.fail("evaluate %s: %v", js, err)
	}
	return v
}

// evalAsync evaluates an expression that returns a promise.
func evalAsync[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, tabTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluate %s: %v", js, err)
	}
	return v
}

// within reports whether a JavaScript condition holds within d.
func (b *tab) within(d time.Duration, js string) bool {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		cancel()
		if err == nil && ok {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// waitFor polls a JavaScript condition until it holds. It survives page
// loads in between (a reload answers the poll with an error, which is
// retried), so it can wait for a page the server makes the browser load.
func (b *tab) waitFor(what, js string) {
	b.t.Helper()
	defer b.trace("wait for "+what, time.Now())
	deadline := time.Now().Add(tabTimeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			b.fail("timed out waiting for %s (%s); last error: %v", what, js, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// text is the trimmed, whitespace-collapsed textContent of the first match.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent.replace(/\s+/g, " ").trim() : "" })()`, sel))
}

func (b *tab) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// login signs in through the login form.
func (b *tab) login(u *signoff.User) {
	b.t.Helper()
	b.navigate("/login")
	b.do(
		chromedp.SendKeys(chromedp.ID("login-email"), u.Email),
		chromedp.SendKeys(chromedp.ID("login-password"), e2ePassword),
	)
	if st := b.submit(`form[action="/login"] button[type=submit]`); st != http.StatusOK {
		b.fail("login %s: landed on status %d", u.Email, st)
	}
	if got := b.text("[data-testid=current-user]"); got != u.Name {
		b.fail("after login the page shows user %q, want %q", got, u.Name)
	}
}

// noJavaScript turns scripting off in this tab (for the next page loads).
func (b *tab) noJavaScript() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
}

// colorScheme emulates prefers-color-scheme ("dark", "light", "" = off).
func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var features []*emulation.MediaFeature
		if scheme != "" {
			features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
		return err
	}))
}

// phone emulates a phone-width viewport (CSS pixels, scale 1 to keep the
// screenshots small).
func (b *tab) phone(width, height int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(width, height, chromedp.EmulateMobile, chromedp.EmulateTouch))
	b.mobile = true
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// shot saves a full-page PNG under testdata/artifacts and returns its path.
func (b *tab) shot(name string) string {
	b.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, fullPageScreenshot(b.mobile))
	if err != nil {
		b.t.Logf("%s: screenshot %s: %v", b.name, name, err)
		return ""
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(artifactsDir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: cmd/signoff/%s (%s)", path, time.Since(start).Round(time.Millisecond))
	return path
}

// fullPageScreenshot captures the whole scrollable page as PNG. Like
// Puppeteer's fullPage it makes the viewport as tall as the page while it
// captures, so sticky panels and 100vh layouts show all they hold.
func fullPageScreenshot(mobile bool) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		if m.CSSContentSize == nil || m.CSSLayoutViewport == nil {
			return nil, errors.New("no layout metrics")
		}
		vw, vh := m.CSSLayoutViewport.ClientWidth, m.CSSLayoutViewport.ClientHeight
		h := max(int64(math.Ceil(m.CSSContentSize.Height)), vh)
		resize := func(height int64) error {
			_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: vw, Height: height, DeviceScaleFactor: 1, Mobile: mobile,
			})
			return err
		}
		if err := resize(h); err != nil {
			return nil, err
		}
		defer resize(vh)
		// The page may grow once it is laid out at the new height.
		if m2, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{}); err == nil && m2.CSSContentSize != nil {
			if h2 := int64(math.Ceil(m2.CSSContentSize.Height)); h2 > h {
				h = h2
				if err := resize(h); err != nil {
					return nil, err
				}
			}
		}
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:      page.CaptureScreenshotFormatPng,
			FromSurface: new(true),
			Clip:        &page.Viewport{X: 0, Y: 0, Width: float64(vw), Height: float64(h), Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	}
}
