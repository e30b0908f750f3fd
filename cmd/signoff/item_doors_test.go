package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// The same changes to a checklist, made through each door a person or a
// pipeline has (an HTMX page, a plain form without JavaScript, the API),
// leave the same audit events and the same items: one writer serves
// them all. Only who and through which door differ, as the events say.
func TestItemChangesLeaveTheSameEventsThroughEveryDoor(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	ctx := context.Background()
	eng := a.user("Erin Engineer", "Deployment Engineer")
	_, secret, err := a.DB.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: eng.ID}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	web := newHTTPClient(t)
	web.login(a.URL, eng)

	// A leaf ticked, unticked, marked N/A and done; a parent marked N/A
	// (closing its open sub-items); a repeat, which records nothing; two
	// refusals, which record nothing either.
	changes := []struct {
		path, state, reason string
		status              int // the API's answer; pages answer 303 (form) or 200 (HTMX) when it is 200
	}{
		{"1.1.1.1", "done", "", 200},
		{"1.1.1.1", "open", "", 200},
		{"1.1.1.2", "na", "not in this release", 200},
		{"1.1.1.2", "done", "", 200},
		{"2.3.1", "na", "no data migration", 200},
		{"1.1.1.2", "done", "", 200},
		{"1.1.1", "done", "", 400},
		{"9.9.9", "done", "", 404},
	}
	doors := map[string]func(d *signoff.Deployment, path, state, reason string) int{
		"htmx": func(d *signoff.Deployment, path, state, reason string) int {
			res, _ := web.post(a.URL, dpath(d, "/items/"+path+"/state"), url.Values{"state": {state}, "reason": {reason}}, true)
			return res.StatusCode
		},
		"form": func(d *signoff.Deployment, path, state, reason string) int {
			res, _ := web.post(a.URL, dpath(d, "/items/"+path+"/state"), url.Values{"state": {state}, "reason": {reason}}, false)
			if res.StatusCode == http.StatusSeeOther {
				return http.StatusOK
			}
			return res.StatusCode
		},
		"api": func(d *signoff.Deployment, path, state, reason string) int {
			body, _ := json.Marshal(map[string]string{"state": state, "na_reason": reason})
			req, _ := http.NewRequest(http.MethodPut, a.URL+"/api/v1"+dpath(d, "/items/"+path), bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		},
	}

	type record struct {
		events []string // action, target, before and after of each event after the first
		items  []string // path, state and reason of every item
	}
	got := map[string]record{}
	for name, door := range doors {
		d := a.deployment(eng, "voxflow-"+name, "v1")
		for _, c := range changes {
			if st := door(d, c.path, c.state, c.reason); st != c.status {
				t.Fatalf("%s: %s %s: status %d, want %d", name, c.path, c.state, st, c.status)
			}
		}
		evs, err := a.DB.Events(ctx, d.ID, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		var r record
		for _, e := range evs {
			var p signoff.EventPayload
			if err := json.Unmarshal([]byte(e.Payload), &p); err != nil {
				t.Fatal(err)
			}
			want := "web"
			if name == "api" {
				want = "api"
			}
			if p.Actor.ID != eng.ID || p.Actor.Via != want {
				t.Errorf("%s: event %d by %+v; want %s through %s", name, e.Seq, p.Actor, eng.Name, want)
			}
			r.events = append(r.events, fmt.Sprintf("%s %s %s %s", p.Action, p.Target, p.Before, p.After))
		}
		cl, err := a.DB.Checklist(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range cl.Items {
			r.items = append(r.items, fmt.Sprintf("%s %s %q by %v", it.Path, it.State, it.NAReason, it.StateBy))
		}
		got[name] = r
	}
	want := got["api"]
	if len(want.events) != 5 {
		t.Fatalf("the API's changes left %d events; want 5 (one per change made):\n%q", len(want.events), want.events)
	}
	for _, name := range []string{"htmx", "form"} {
		if fmt.Sprint(got[name].events) != fmt.Sprint(want.events) {
			t.Errorf("%s left other events than the API:\n%s: %q\napi: %q", name, name, got[name].events, want.events)
		}
		if fmt.Sprint(got[name].items) != fmt.Sprint(want.items) {
			t.Errorf("%s left other items than the API", name)
		}
	}
}
