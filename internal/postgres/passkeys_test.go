package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// A person keeps several passkeys, each added and removed by one system
// event; a passkey made for another registration, one registered twice,
// and someone else's removal change nothing.
func TestPasskeysSeveralAddedAndRemoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	bob := addUser(t, db, "Bob Stone")
	handle := []byte("alice-handle-0123456789abcdef012")
	key := func(cred, name string) signoff.Passkey {
		return signoff.Passkey{UserID: alice.ID, CredentialID: []byte(cred), PublicKey: []byte("pk-" + cred),
			AttestationType: "none", AAGUID: make([]byte, 16), Name: name}
	}
	seq := systemSeq(t, db)
	laptop, err := db.AddPasskey(ctx, handle, key("cred-laptop", "Laptop"), as(alice))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddPasskey(ctx, handle, key("cred-phone", "  Phone  "), as(alice)); err != nil {
		t.Fatal(err)
	}
	_, err = db.AddPasskey(ctx, []byte("another-registration-handle-0000"), key("cred-other", "Other"), as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	_, err = db.AddPasskey(ctx, handle, key("cred-phone", "Phone again"), as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	err = db.RemovePasskey(ctx, bob.ID, laptop.ID, as(bob))
	wantCode(t, err, signoff.ENOTFOUND)

	keys, err := db.Passkeys(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "Laptop" || keys[1].Name != "Phone" {
		t.Fatalf("passkeys after two additions and three refusals: %+v", keys)
	}
	if got, err := db.WebAuthnHandle(ctx, alice.ID); err != nil || !bytes.Equal(got, handle) {
		t.Fatalf("user handle %q, %v", got, err)
	}
	if err := db.RemovePasskey(ctx, alice.ID, laptop.ID, as(alice)); err != nil {
		t.Fatal(err)
	}
	if keys, _ = db.Passkeys(ctx, alice.ID); len(keys) != 1 || keys[0].Name != "Phone" {
		t.Fatalf("after removing the laptop's passkey: %+v", keys)
	}
	err = db.RemovePasskey(ctx, alice.ID, laptop.ID, as(alice))
	wantCode(t, err, signoff.ENOTFOUND)

	evs, err := db.Events(ctx, 0, seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		p := payload(t, ev)
		actions = append(actions, p.Action+" "+p.Target.String())
		switch b := p.Body.(type) {
		case *signoff.PasskeyRegisterEvent:
			if b.After.Name == "" || b.After.Credential == "" {
				t.Errorf("register event without name or credential: %s", ev.Payload)
			}
		case *signoff.PasskeyRemoveEvent:
			if b.Before.Name != "Laptop" || b.Before.Credential != laptop.CredentialName() {
				t.Errorf("remove event names %+v; want the laptop's passkey", b.Before)
			}
		}
	}
	target := signoff.UserTarget(alice.ID).String()
	want := []string{"passkey.register " + target, "passkey.register " + target, "passkey.remove " + target}
	if len(actions) != len(want) || actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] {
		t.Fatalf("system events %v; want %v", actions, want)
	}
	checkChain(t, db, 0)
}
