package ui

import (
	"sync"
	"time"
)

// decodedCookies remembers, for a short while, what securecookie decoded
// from a value: the session id a cookie carries, and whether a session's
// stored values hold flash messages. Every signed-in request decodes both,
// and gob compiles its decoder afresh for each value, which was a tenth of
// such a request's CPU; a person's next requests bring the same bytes.
//
// A value is the same bytes, signed by the same key, so what it decodes to
// cannot change; only securecookie's age check can, and an entry is kept
// for decodedFor at most: a cookie past its age is refused at most that
// much later (its session row's expiry, which the store checks on every
// request, is unaffected). Values that fail to decode are not kept.
type decodedCookies struct {
	mu sync.Mutex
	m  map[string]decodedValue
}

type decodedValue struct {
	id      string // the cookie's session id
	flashes bool   // the stored values hold flash messages
	at      time.Time
}

const (
	decodedFor = time.Minute
	// decodedMax bounds the memory (a few hundred bytes an entry): at the
	// bound the map is emptied and fills again with the people active now.
	decodedMax = 4096
)

func (d *decodedCookies) get(key string, now time.Time) (decodedValue, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[key]
	if !ok || now.Sub(v.at) > decodedFor {
		return decodedValue{}, false
	}
	return v, true
}

func (d *decodedCookies) put(key string, v decodedValue) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= decodedMax {
		d.m = make(map[string]decodedValue)
	}
	d.m[key] = v
}
