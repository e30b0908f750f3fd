package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// A reset link: one transaction and one event to issue (naming no
// secret), usable once, for an active person only; using it sets the
// password, ends every session of theirs and forgets their failures.
func TestResetLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	omar := addUser(t, db, "Omar Haddad")
	if err := db.SaveSession(ctx, "omar-laptop", postgres.StoredSession{UserID: omar.ID, Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		db.Authenticate(ctx, omar.Email, "a wrong guess!", "198.51.100.4")
	}
	seq := systemSeq(t, db)
	token, err := db.IssueReset(ctx, omar.ID, true, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if got := systemSeq(t, db); got != seq+1 {
		t.Fatalf("issuing recorded %d events", got-seq)
	}
	evs, err := db.Events(ctx, 0, seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := signoff.DecodeEvent([]byte(evs[0].Payload))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := ev.Body.(*signoff.UserResetEvent); !ok || !r.After.Mailed || strings.Contains(evs[0].Payload, token) {
		t.Fatalf("reset event %s", evs[0].Payload)
	}
	// A weak password changes nothing; a good one signs out everywhere.
	_, err = db.UseReset(ctx, token, "omarhaddad99")
	wantCode(t, err, signoff.EINVALID)
	if _, err := db.UseReset(ctx, token, "plinth orchard ferry 42"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadSession(ctx, "omar-laptop"); err != postgres.ErrSessionNotFound {
		t.Fatalf("an old session outlived the reset: %v", err)
	}
	if _, err := db.Authenticate(ctx, omar.Email, "plinth orchard ferry 42", "198.51.100.4"); err != nil {
		t.Fatalf("the new password from the address that had failures: %v", err)
	}
	_, err = db.UseReset(ctx, token, "another fine passphrase")
	wantCode(t, err, signoff.ENOTFOUND)
	checkChain(t, db, 0)
}

// Single sign-on: a person is found by the provider's subject, linked by
// a verified email the first time, created only if allowed, and their
// roles follow the claims; a sign-in that changes nothing records nothing.
func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	invited := addUser(t, db, "Ivy Invited", "Security Engineer")
	policy := postgres.SSOPolicy{RequireVerifiedEmail: true}
	id := postgres.SSOIdentity{Issuer: "https://idp.example.com", Subject: "ivy-1", Email: strings.ToUpper(invited.Email), EmailVerified: false, Name: "Ivy"}
	_, err := db.SSOSignIn(ctx, id, policy)
	wantCode(t, err, signoff.EUNAUTHORIZED)
	id.EmailVerified = true
	u, err := db.SSOSignIn(ctx, id, policy)
	if err != nil || u.ID != invited.ID || u.SSOIssuer != id.Issuer || !u.HasRole("Security Engineer") {
		t.Fatalf("linked %+v, %v", u, err)
	}
	// Later sign-ins find them by subject, whatever the email says now.
	id.Email = "ivy.new@example.com"
	seq := systemSeq(t, db)
	if u, err = db.SSOSignIn(ctx, id, policy); err != nil || u.ID != invited.ID {
		t.Fatalf("by subject: %+v, %v", u, err)
	}
	if systemSeq(t, db) != seq {
		t.Fatal("a sign-in that changed nothing recorded an event")
	}
	// Strangers are not created unless allowed, and only from allowed domains.
	stranger := postgres.SSOIdentity{Issuer: id.Issuer, Subject: "sam-2", Email: "sam@other.example", EmailVerified: true, Name: "Sam"}
	_, err = db.SSOSignIn(ctx, stranger, policy)
	wantCode(t, err, signoff.EUNAUTHORIZED)
	_, err = db.SSOSignIn(ctx, stranger, postgres.SSOPolicy{Create: true, AllowedDomains: []string{"example.com"}})
	wantCode(t, err, signoff.EUNAUTHORIZED)
	yes := true
	stranger.Access = &postgres.SSOAccess{Roles: []string{"DevOps Lead", "No Such Role"}, Admin: &yes}
	sam, err := db.SSOSignIn(ctx, stranger, postgres.SSOPolicy{Create: true, AllowedDomains: []string{"other.example"}})
	if err != nil || sam.HasPassword || !sam.IsAdmin || len(sam.Roles) != 1 || !sam.HasRole("DevOps Lead") {
		t.Fatalf("created %+v, %v", sam, err)
	}
	// The claims change: roles follow, recorded once.
	no := false
	stranger.Access = &postgres.SSOAccess{Roles: []string{"CTO/Technical Director"}, Admin: &no}
	seq = systemSeq(t, db)
	if sam, err = db.SSOSignIn(ctx, stranger, policy); err != nil || sam.IsAdmin || sam.HasRole("DevOps Lead") || !sam.HasRole("CTO/Technical Director") {
		t.Fatalf("synced %+v, %v", sam, err)
	}
	if systemSeq(t, db) != seq+1 {
		t.Fatal("a sync is not one event")
	}
	// Someone without a password cannot sign in with one.
	_, err = db.Authenticate(ctx, sam.Email, "", "192.0.2.9")
	wantCode(t, err, signoff.EUNAUTHORIZED)
	checkChain(t, db, 0)
}
