package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// HeaderIdempotencyKey names the request header that makes a write happen
// at most once; HeaderReplayed marks an answer to a retry.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
)

// maxKeyLen bounds an Idempotency-Key: room for any UUID, ULID or
// "$CI_PIPELINE_ID-$CI_JOB_ID-create".
const maxKeyLen = 255

// idempotent makes a write that carries an Idempotency-Key happen at most
// once per token and key. The key is claimed in the transaction of the
// change itself (the store does that, see postgres.IdempotencyKey), so a
// retry finds it exactly when the change was made: after a lost answer, a
// crash, a restart of PostgreSQL. A retry with the same method, address
// and body gets the first answer as it was sent (status, Location, body)
// and the header Idempotent-Replayed: true; when that answer could not be
// kept (the database went away just after the commit), it is answered
// afresh, as the first request would be now, and nothing is done again.
// The same key with a different request is 422 idempotency_key_reused.
// A request that changes nothing (a refused one, or asking for a state an
// item has) leaves no key: doing it again is harmless.
func (a *API) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := r.Header[HeaderIdempotencyKey]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		key, err := parseKey(raw)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		body, err := io.ReadAll(r.Body)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			a.fail(w, r, errorf(signoff.ETOOLARGE, "The body is over %d KB; nothing was changed.", MaxBodyBytes>>10))
			return
		} else if err != nil {
			a.fail(w, r, errorf(signoff.EINVALID, "The body could not be read."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		_, tok := caller(r.Context())
		k := postgres.NewIdempotencyKey("token:"+strconv.FormatInt(tok.ID, 10), key, r.Method, r.URL.Path, body)
		first, err := a.db.IdempotentAnswer(r.Context(), k)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if first != nil {
			a.replay(w, r, first)
			return
		}
		rec := &answerRecorder{ResponseWriter: w, key: k}
		next.ServeHTTP(rec, r.WithContext(postgres.WithIdempotencyKey(r.Context(), k)))
		// The first full answer is kept: this request's, or, when an
		// earlier request's could not be, the one made afresh for it.
		if (k.Claimed() || k.Replayed()) && rec.status/100 == 2 && !rec.partial {
			a.keepAnswer(w, r, k, postgres.IdempotentAnswer{Status: rec.status, Location: rec.Header().Get("Location"), Body: rec.body.Bytes()})
		}
	})
}

// parseKey reads the header's one value: 1 to 255 visible ASCII
// characters, bare or as a quoted string (the IETF draft's form).
func parseKey(values []string) (string, error) {
	v := ""
	if len(values) == 1 {
		v = strings.TrimSpace(values[0])
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
	}
	ok := len(values) == 1 && v != "" && len(v) <= maxKeyLen
	for i := 0; ok && i < len(v); i++ {
		ok = v[i] > ' ' && v[i] < 0x7f && v[i] != '"'
	}
	if !ok {
		return "", errorf(signoff.EINVALID, "Send one Idempotency-Key header of 1 to %d visible ASCII characters, such as a UUID; nothing was changed.", maxKeyLen)
	}
	return v, nil
}

// replay sends the first answer again.
func (a *API) replay(w http.ResponseWriter, r *http.Request, first *postgres.IdempotentAnswer) {
	h := w.Header()
	if first.Location != "" {
		h.Set("Location", first.Location)
	}
	h.Set(HeaderReplayed, "true")
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(first.Status)
	a.write(w, r, first.Body)
}

// keepAnswer stores the first answer for the key's retries. The change
// stands either way: if this fails, a retry is answered afresh.
func (a *API) keepAnswer(w http.ResponseWriter, r *http.Request, k *postgres.IdempotencyKey, ans postgres.IdempotentAnswer) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := a.db.SaveIdempotentAnswer(ctx, k, ans); err != nil {
		a.logger.LogAttrs(r.Context(), slog.LevelWarn, "idempotent answer not kept; a retry will be answered afresh",
			slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("err", err))
	}
}

// answerRecorder passes an answer through and keeps a copy, and marks the
// answer to a retry whose change an earlier request made.
type answerRecorder struct {
	http.ResponseWriter
	key     *postgres.IdempotencyKey
	status  int
	body    bytes.Buffer
	partial bool // the change committed, but what the answer shows could not be read: not kept
}

func (rec *answerRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
		if rec.key.Replayed() {
			rec.Header().Set(HeaderReplayed, "true")
		}
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *answerRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}
