package ui

import (
	"strconv"
	"testing"
	"time"
)

// A decoded value is kept for decodedFor, and the map never grows past
// decodedMax.
func TestDecodedCookiesExpireAndStayBounded(t *testing.T) {
	var d decodedCookies
	now := time.Now()
	d.put("a", decodedValue{id: "session-a", at: now})
	if v, ok := d.get("a", now.Add(decodedFor)); !ok || v.id != "session-a" {
		t.Fatalf("a value decoded %v ago was forgotten: %+v %v", decodedFor, v, ok)
	}
	if _, ok := d.get("a", now.Add(decodedFor+time.Second)); ok {
		t.Fatalf("a value decoded more than %v ago was kept", decodedFor)
	}
	for i := range 3 * decodedMax {
		d.put(strconv.Itoa(i), decodedValue{at: now})
		if len(d.m) > decodedMax {
			t.Fatalf("%d values kept, more than %d", len(d.m), decodedMax)
		}
	}
}
