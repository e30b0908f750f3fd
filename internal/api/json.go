package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/signoff/signoff/internal/signoff"
)

// MaxBodyBytes bounds request bodies: enough for 20,000 characters of
// evidence, small enough that nobody can tie up the server.
const MaxBodyBytes = 64 << 10

func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			a.fail(w, r, errorf(signoff.ETOOLARGE, "The body is over %d KB; nothing was changed.", MaxBodyBytes>>10))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// noStore keeps every answer out of caches: they carry live state, and
// some carry what a token may read.
func (a *API) noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// respond writes v as JSON with a status.
func (a *API) respond(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.logger.LogAttrs(r.Context(), slog.LevelError, "api encode failed",
			slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("err", err))
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	a.write(w, r, append(b, '\n'))
}

// write sends the body of an answer whose status is set. It fails only
// when the client has gone, and then there is nobody to tell: the log
// notes it at debug level.
func (a *API) write(w http.ResponseWriter, r *http.Request, b []byte) {
	if _, err := w.Write(b); err != nil {
		a.logger.LogAttrs(r.Context(), slog.LevelDebug, "api response write failed",
			slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("err", err))
	}
}

// decode reads a request body that must hold exactly one JSON object into
// v (a pointer to a struct with json tags), strictly: application/json (or
// no content type), UTF-8, within the size limit, only the struct's field
// names spelled exactly, none twice, values of the right types, and nothing
// after the object. Every refusal says what to fix.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errorf(codeUnsupportedMedia, "Send the body as Content-Type: application/json.")
		}
	}
	body, err := io.ReadAll(r.Body)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errorf(signoff.ETOOLARGE, "The body is over %d KB; nothing was changed.", MaxBodyBytes>>10)
	}
	if err != nil {
		return errorf(signoff.EINVALID, "The body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(signoff.EINVALID, "The body is empty; send a JSON object.")
	}
	if !utf8.Valid(body) {
		return errorf(signoff.EINVALID, "The body is not valid UTF-8.")
	}
	fields := jsonFields(v)
	if err := checkObject(body, fields); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

// checkObject walks the top level of body: one object whose keys are
// among fields, each once, and nothing after it. encoding/json alone would
// take the last of duplicate keys and match keys case-insensitively.
func checkObject(body []byte, fields []string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errorf(signoff.EINVALID, "The body must be a JSON object ({…}).")
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		key, _ := tok.(string)
		if !slices.Contains(fields, key) {
			return errorf(signoff.EINVALID, "Unknown field %q; this request takes %s.", key, quoteList(fields))
		}
		if seen[key] {
			return errorf(signoff.EINVALID, "Field %q appears more than once.", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(signoff.EINVALID, "The body must hold one JSON object and nothing after it.")
	}
	return nil
}

// jsonError turns a decoding error into a message about the body.
func jsonError(err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return errorf(signoff.EINVALID, "The body is not valid JSON: %s (at byte %d).", se.Error(), se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return errorf(signoff.EINVALID, "The body must be a JSON object ({…}).")
		}
		return errorf(signoff.EINVALID, "Field %q must be %s, not %s.", te.Field, kindName(te.Type), jsonKind(te.Value))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errorf(signoff.EINVALID, "The body is not valid JSON: it ends too soon.")
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errorf(signoff.EINVALID, "Unknown field %s.", msg)
	}
	return errorf(signoff.EINVALID, "The body is not valid JSON.")
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// jsonKind names what a JSON value was, as encoding/json reports it.
func jsonKind(v string) string {
	switch v {
	case "number", "string":
		return "a " + v
	case "array", "object":
		return "an " + v
	case "bool":
		return "true or false"
	}
	return v
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
