package signoff

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// member is one name and raw value of a JSON object, in the order written.
type member struct {
	name  string
	value []byte
}

func members(t testing.TB, obj []byte) []member {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		t.Fatalf("not an object: %s", obj)
	}
	var out []member
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			t.Fatal(err)
		}
		name := tok.String() // before the next read voids the token
		v, err := dec.ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{name, bytes.Clone(v)})
	}
	return out
}

// object writes members as encoding/json does: no spaces.
func object(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// mutation is a change to one object that no writer makes.
type mutation struct {
	name string
	ms   []member
}

// mutations lists, for an object, every change strict decoding must
// refuse: for each key, a second copy of it, its name in other cases, a
// value of a wrong type, a null (except for lists, which a nil slice
// writes as null), its absence (unless optional is true of it), a
// non-integer number, invalid UTF-8 in a string; and for the object, an
// unknown key.
func mutations(ms []member, optional func(string) bool) []mutation {
	with := func(f func([]member) []member) []member { return f(slices.Clone(ms)) }
	out := []mutation{
		{"unknown key first", with(func(c []member) []member { return append([]member{{"zzz", []byte("1")}}, c...) })},
		{"unknown key last", with(func(c []member) []member { return append(c, member{"unknown", []byte(`"x"`)}) })},
	}
	for i, m := range ms {
		add := func(what string, f func([]member) []member) {
			out = append(out, mutation{m.name + ": " + what, with(f)})
		}
		add("duplicated", func(c []member) []member { return append(c, m) })
		add("duplicated, first value wins in v1", func(c []member) []member { return slices.Insert(c, i, member{m.name, []byte("0")}) })
		add("capitalised", func(c []member) []member {
			c[i].name = strings.ToUpper(m.name[:1]) + m.name[1:]
			return c
		})
		add("upper case", func(c []member) []member { c[i].name = strings.ToUpper(m.name); return c })
		add("upper and lower case twice", func(c []member) []member {
			return append(c, member{strings.ToUpper(m.name), m.value})
		})
		for _, wrong := range wrongTypes(m.value) {
			add("wrong type "+string(wrong), func(c []member) []member { c[i].value = wrong; return c })
		}
		if m.value[0] != '[' && m.value[0] != 'n' {
			add("null", func(c []member) []member { c[i].value = []byte("null"); return c })
		}
		if !optional(m.name) {
			add("missing", func(c []member) []member { return slices.Delete(c, i, i+1) })
		}
		switch m.value[0] {
		case '"':
			add("invalid UTF-8", func(c []member) []member {
				c[i].value = append([]byte(`"`+"\xff\xfe"), m.value[1:]...)
				return c
			})
			add("escaped differently", func(c []member) []member {
				c[i].value = append([]byte(`"\u0041`), m.value[1:]...)
				return c
			})
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			add("fraction", func(c []member) []member { c[i].value = append(slices.Clone(m.value), ".0"...); return c })
			add("exponent", func(c []member) []member { c[i].value = append(slices.Clone(m.value), "e0"...); return c })
		}
	}
	return out
}

// wrongTypes are values of other JSON types than v's.
func wrongTypes(v []byte) [][]byte {
	switch v[0] {
	case '"':
		return [][]byte{[]byte("1"), []byte("true"), []byte(`["x"]`), []byte(`{}`)}
	case 't', 'f':
		return [][]byte{[]byte(`"true"`), []byte("1")}
	case '[':
		if len(v) > 1 && v[1] >= '0' && v[1] <= '9' { // a list of numbers
			return [][]byte{[]byte(`"x"`), []byte(`["1"]`), []byte(`[null]`), []byte(`[1.5]`), []byte(`{}`)}
		}
		return [][]byte{[]byte(`"x"`), []byte(`[1]`), []byte(`[null]`), []byte(`{}`)}
	case '{':
		return [][]byte{[]byte(`"x"`), []byte(`[]`)}
	case 'n':
		return [][]byte{[]byte("1"), []byte(`{}`)}
	}
	return [][]byte{[]byte(`"1"`), []byte("true"), []byte("[1]")}
}

// omitempty names a struct's keys that may be absent.
func omitempty(v any) func(string) bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	opt := map[string]bool{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		opt[name] = strings.Contains(opts, "omitempty")
	}
	return func(name string) bool { return opt[name] }
}

// Every kind of payload, every key of its envelope and of its before and
// after: a duplicate, another case, a wrong type, a null, a missing key,
// an unknown key, invalid UTF-8 are each refused.
func TestStrictDecodingRefuses(t *testing.T) {
	for _, s := range samples() {
		payload := s.payload(t)
		top := members(t, payload)
		if !bytes.Equal(object(top), payload) {
			t.Fatalf("%s: rebuilding the payload changed it", s.name)
		}
		refused := func(what string, bad []byte) {
			t.Helper()
			if ev, err := DecodeEvent(bad); err == nil {
				t.Errorf("%s: %s: accepted %s as %#v", s.name, what, bad, ev.Body)
			}
		}
		for _, m := range mutations(top, omitempty(EventPayload{})) {
			refused("envelope "+m.name, object(m.ms))
		}
		actor := slices.IndexFunc(top, func(m member) bool { return m.name == "actor" })
		for _, m := range mutations(members(t, top[actor].value), omitempty(EventActor{})) {
			c := slices.Clone(top)
			c[actor].value = object(m.ms)
			refused("actor "+m.name, object(c))
		}
		before, after := s.body.sides()
		for side, dst := range map[string]any{"before": before, "after": after} {
			i := slices.IndexFunc(top, func(m member) bool { return m.name == side })
			if i < 0 {
				// A side its kind never has, or an optional one absent.
				refused("an unexpected "+side, object(append(slices.Clone(top), member{side, []byte("{}")})))
				continue
			}
			for _, m := range mutations(members(t, top[i].value), omitempty(dst)) {
				c := slices.Clone(top)
				c[i].value = object(m.ms)
				refused(side+" "+m.name, object(c))
			}
			if reflect.TypeOf(dst).Elem().Kind() != reflect.Pointer { // not an optional side
				refused(side+" missing", object(slices.Delete(slices.Clone(top), i, i+1)))
			}
			c := slices.Clone(top)
			c[i].value = []byte("null")
			refused(side+" null", object(c))
		}
		refused("a space", bytes.Replace(payload, []byte(`":`), []byte(`": `), 1))
		refused("trailing data", append(slices.Clone(payload), " {}"...))
		refused("another action", bytes.Replace(payload, []byte(`"action":"`), []byte(`"action":"x`), 1))
	}
}

// A target is read only as written: a known kind and a canonical name.
func TestParseTarget(t *testing.T) {
	good := map[string]Target{
		"deployment/42":          DeploymentTarget(42),
		"item/1.2.3":             ItemTarget("1.2.3"),
		"item/12.4.10.1.2":       ItemTarget("12.4.10.1.2"),
		"note/6":                 NoteTarget(6),
		"slot/8":                 SlotTarget(8),
		"user/5":                 UserTarget(5),
		"role/3":                 RoleTarget(3),
		"token/9":                TokenTarget(9),
		"webhook/2":              WebhookTarget(2),
		"template/voxflow-prod2": TemplateTarget("voxflow-prod2"),
	}
	for s, want := range good {
		got, err := ParseTarget(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseTarget(%q) = %#v, %v; want %#v", s, got, err, want)
		}
	}
	if ph, sec := ItemTarget("12.4.10.1").Section(); ph != 12 || sec != 4 {
		t.Errorf("section of 12.4.10.1 = %d.%d", ph, sec)
	}
	for _, s := range []string{"", "item", "item/", "item/1.2", "item/1.2.3.4.5.6", "item/1.2.x", "item/1.02.3",
		"item/1..3", "item/1.2.3.", "item/0.1.1", "item/-1.1.1", "item/+1.1.1", "slot/0", "slot/-1", "slot/03",
		"slot/+3", "slot/3/4", "slot/ 3", "slot/3 ", "note/", "note/1e1", "user/99999999999999999999",
		"template/", "template/a/b", "Slot/3", "thing/3", "slot:3", "deployment/1.5"} {
		if got, err := ParseTarget(s); err == nil {
			t.Errorf("ParseTarget(%q) = %#v, want an error", s, got)
		}
	}
}

// The payload types replace maps, which encoding/json writes in key
// order; a field added out of order would write keys in an order no old
// event has. ItemStateAfter was a struct from the start: its order is its
// own.
func TestPayloadFieldsAreInKeyOrder(t *testing.T) {
	seen := map[reflect.Type]bool{}
	for _, candidates := range bodies {
		for _, k := range candidates {
			before, after := k.new().sides()
			for _, side := range []any{before, after} {
				if side == nil {
					continue
				}
				typ := reflect.TypeOf(side)
				for typ.Kind() == reflect.Pointer {
					typ = typ.Elem()
				}
				if seen[typ] || typ == reflect.TypeFor[ItemStateAfter]() {
					continue
				}
				seen[typ] = true
				var keys []string
				for f := range typ.Fields() {
					name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
					keys = append(keys, name)
				}
				if !slices.IsSorted(keys) {
					t.Errorf("%s declares its keys in the order %q, not sorted", typ, keys)
				}
			}
		}
	}
	if len(seen) < 25 {
		t.Errorf("checked only %d payload types", len(seen))
	}
}

// FuzzDecodeEvent: whatever the decoder accepts is valid UTF-8, has no
// duplicate names, and is exactly what the store writes for the typed
// event it was read as.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range samples() {
		f.Add(s.payload(f))
	}
	f.Add([]byte(`{"v":1,"chain":"system","seq":1,"at":"x","actor":{"id":0,"name":"","via":""},"action":"role.create","target":"role/1","after":{"name":"a","Name":"b"}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := DecodeEvent(payload)
		if err != nil {
			return
		}
		if !utf8.Valid(payload) {
			t.Fatalf("accepted invalid UTF-8: %q", payload)
		}
		if err := jsontext.NewDecoder(bytes.NewReader(payload)).SkipValue(); err != nil {
			t.Fatalf("accepted what jsontext refuses (%v): %q", err, payload)
		}
		ch := NewChange(ev.Actor, ev.Target, ev.Body)
		again, err := EncodePayload(EventPayload{V: ev.V, Chain: ev.Chain, Seq: ev.Seq, At: ev.At,
			Actor: ev.Actor, Action: ch.Action, Target: ch.Target}, ch.Before, ch.After)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, payload) {
			t.Fatalf("accepted %q, which the store writes as %q", payload, again)
		}
	})
}
