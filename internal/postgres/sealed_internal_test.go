package postgres

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// readEnvelope reads only the envelope of a payload: what it reads is
// what reading the whole payload reads, whatever a person typed into the
// strings (a name or a reason holding what looks like the keys it cuts at).
func TestReadEnvelopeIsTheWholePayloads(t *testing.T) {
	at := time.Date(2026, 12, 8, 2, 44, 0, 123456000, time.UTC)
	tricky := `Eve ,"before":{"x":1},"after": "` + "\n\u2028<&>"
	for i, c := range []struct {
		actor  signoff.EventActor
		target signoff.Target
		body   signoff.EventBody
	}{
		{signoff.EventActor{ID: 4, Name: "DevOps Lead", Via: "web"}, signoff.ItemTarget("1.1.1.1"),
			&signoff.ItemStateEvent{Before: signoff.ItemStateBefore{State: "open"}, After: signoff.ItemStateAfter{State: "na", NAReason: tricky}}},
		{signoff.EventActor{ID: 7, Name: tricky, Via: "api"}, signoff.ItemTarget("2.1"),
			&signoff.ItemStateEvent{Before: signoff.ItemStateBefore{State: "done"}, After: signoff.ItemStateAfter{State: "open"}}},
		{signoff.EventActor{Name: "system", Via: "cli"}, signoff.ItemTarget("3.1"),
			&signoff.ItemCommentEvent{After: signoff.ItemCommentAfter{Body: tricky}}},
	} {
		ch := signoff.NewChange(c.actor, c.target, c.body)
		payload, err := signoff.EncodePayload(signoff.EventPayload{V: 1, Chain: "deployment/9", Seq: int64(i + 1), At: at.Format("2006-01-02T15:04:05.000000Z"),
			Actor: c.actor, Action: ch.Action, Target: ch.Target}, ch.Before, ch.After)
		if err != nil {
			t.Fatal(err)
		}
		got := signoff.Event{Seq: int64(i + 1), Payload: string(payload)}
		if err := readEnvelope(&got); err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		var whole struct {
			At     time.Time `json:"at"`
			Action string    `json:"action"`
			Target string    `json:"target"`
			Actor  struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"actor"`
		}
		if err := json.Unmarshal(payload, &whole); err != nil {
			t.Fatal(err)
		}
		want := signoff.Event{Seq: int64(i + 1), Payload: string(payload), At: whole.At.Local(), Action: whole.Action,
			Target: whole.Target, Actor: signoff.UserRef{ID: whole.Actor.ID, Name: whole.Actor.Name}}
		if !reflect.DeepEqual(got, want) || got.Action == "" {
			t.Fatalf("%s:\nenvelope read %+v\nwhole read    %+v", payload, got, want)
		}
	}
}
