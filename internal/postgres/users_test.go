package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// systemSeq is the head of the system audit chain.
func systemSeq(t *testing.T, db *postgres.DB) int64 {
	t.Helper()
	return sqlInt(t, db, `SELECT seq FROM audit_system_chain`)
}

func TestUserCreateValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	seq := systemSeq(t, db)
	for name, n := range map[string]signoff.NewUser{
		"bad email":      {Email: "not-an-email", Name: "X", Password: testPassword},
		"display email":  {Email: "Bob <bob@example.com>", Name: "X", Password: testPassword},
		"no name":        {Email: "x@example.com", Name: "  ", Password: testPassword},
		"short password": {Email: "x@example.com", Name: "X", Password: "123456789"},
		"unknown role":   {Email: "x@example.com", Name: "X", Password: testPassword, Roles: []string{"Chief Vibes Officer"}},
	} {
		_, err := db.CreateUser(ctx, n, as(admin))
		if signoff.ErrorCode(err) != signoff.EINVALID {
			t.Errorf("%s: %v; want %s", name, err, signoff.EINVALID)
		}
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("%d users after refused creations; want 1", n)
	}
	if got := systemSeq(t, db); got != seq {
		t.Fatalf("refused creations wrote system events: %d → %d", seq, got)
	}

	u, err := db.CreateUser(ctx, signoff.NewUser{Email: " Bob@Example.com ", Name: " Bob Ortiz ", Password: testPassword,
		Roles: []string{"database administrator"}}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "Bob@Example.com" || u.Name != "Bob Ortiz" || !u.Active || u.IsAdmin || len(u.Roles) != 1 || u.Roles[0].Name != "Database Administrator" {
		t.Fatalf("created user = %+v", u)
	}
	ev := lastEvent(t, db, 0)
	if ev.Action != signoff.ActUserCreate || ev.Target != fmt.Sprintf("user/%d", u.ID) || ev.Actor.ID != admin.ID {
		t.Fatalf("create event = %+v", ev)
	}
	// Email is unique whatever its case.
	_, err = db.CreateUser(ctx, signoff.NewUser{Email: "bob@EXAMPLE.com", Name: "Bob Two", Password: testPassword}, as(admin))
	wantCode(t, err, signoff.ECONFLICT)
	if n := sqlInt(t, db, `SELECT count(*) FROM users`); n != 2 {
		t.Fatalf("%d users after a duplicate; want 2", n)
	}
	// The password is stored hashed.
	if n := sqlInt(t, db, `SELECT count(*) FROM users WHERE password_hash LIKE '%' || $1 || '%'`, testPassword); n != 0 {
		t.Fatal("a password is stored in clear")
	}
	checkChain(t, db, 0)
}

func TestUserAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	bob := addUser(t, db, "Bob Ortiz", "DevOps Lead")

	u, err := db.Authenticate(ctx, "  BOB-ORTIZ@example.com ", testPassword, "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != bob.ID || !u.HasRole("DevOps Lead") {
		t.Fatalf("authenticated %+v", u)
	}
	_, err = db.Authenticate(ctx, bob.Email, testPassword+"!", "192.0.2.10")
	wantCode(t, err, signoff.EUNAUTHORIZED)
	_, err = db.Authenticate(ctx, "nobody@example.com", testPassword, "192.0.2.10")
	wantCode(t, err, signoff.EUNAUTHORIZED)
	// Neither message tells which part was wrong.
	_, e1 := db.Authenticate(ctx, bob.Email, "wrong password", "192.0.2.11")
	_, e2 := db.Authenticate(ctx, "nobody@example.com", "wrong password", "192.0.2.11")
	if signoff.ErrorMessage(e1) != signoff.ErrorMessage(e2) {
		t.Fatalf("messages differ: %q vs %q", signoff.ErrorMessage(e1), signoff.ErrorMessage(e2))
	}

	if err := db.SetActive(ctx, bob.ID, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	_, err = db.Authenticate(ctx, bob.Email, testPassword, "192.0.2.12")
	wantCode(t, err, signoff.EUNAUTHORIZED)
	if err := db.SetActive(ctx, bob.ID, true, as(admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, bob.Email, testPassword, "192.0.2.12"); err != nil {
		t.Fatalf("reactivated user: %v", err)
	}
}

// The lockout an attacker found: ten wrong passwords for an address made
// the right one fail, for its owner, from anywhere. Failures now count per
// account and address together and per address: the guesser slows down,
// with waits that grow and always end; the owner, from an address without
// failures, gets in at once.
func TestLoginThrottleSlowsTheGuesserNotTheOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	cto := addUser(t, db, "Chris Cto")
	const attacker, office = "198.51.100.66", "203.0.113.1"
	refused := 0
	for i := range 10 {
		_, err := db.Authenticate(ctx, cto.Email, fmt.Sprintf("guess number %d", i), attacker)
		switch signoff.ErrorCode(err) {
		case signoff.EUNAUTHORIZED:
		case signoff.ERATELIMIT:
			refused++
		default:
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if refused != 10-postgres.ThrottleAccountAddress.Free {
		t.Fatalf("%d of 10 guesses refused; want all past the %d free ones", refused, postgres.ThrottleAccountAddress.Free)
	}
	// The owner, elsewhere: not refused.
	if _, err := db.Authenticate(ctx, strings.ToUpper(cto.Email), testPassword, office); err != nil {
		t.Fatalf("the owner from a clean address after 10 failures elsewhere: %v", err)
	}
	// The guesser waits, and is told how long.
	_, err := db.Authenticate(ctx, cto.Email, testPassword, attacker)
	wantCode(t, err, signoff.ERATELIMIT)
	var se *signoff.Error
	if !errors.As(err, &se) || se.RetryAfter < time.Second || se.RetryAfter > postgres.ThrottleAccountAddress.Max+2*time.Second {
		t.Fatalf("throttled answer %+v: want a Retry-After of a second or more", se)
	}
	// Nothing is locked: once the wait has passed, one more try is let
	// through (and a right one clears the slate for that address).
	ageFailures(t, db, se.RetryAfter)
	if _, err := db.Authenticate(ctx, cto.Email, testPassword, attacker); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM auth_failures WHERE key LIKE 'acct:%'`); n != 0 {
		t.Fatalf("%d failures of the account kept after its right password from that address", n)
	}
	// Each wait doubles the one before.
	for i, want := range []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second} {
		if got := postgres.ThrottleAccountAddress.Wait(i); got != want {
			t.Errorf("wait after %d failures = %s; want %s", i, got, want)
		}
	}
	if got := postgres.ThrottleAccountAddress.Wait(1000); got != postgres.ThrottleAccountAddress.Max {
		t.Errorf("wait after 1000 failures = %s; want the cap %s", got, postgres.ThrottleAccountAddress.Max)
	}
}

// One address spraying passwords over many accounts slows down too (a
// team behind one NAT stays well under its free failures); others do not.
// IPv6 clients count by their /64: one host can pick any address in it.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	carol := addUser(t, db, "Carol Diaz")
	spray := func(addr func(i int) string) {
		t.Helper()
		for i := range postgres.ThrottleAddress.Free {
			_, err := db.Authenticate(ctx, fmt.Sprintf("spray%d@example.com", i), "password123", addr(i))
			wantCode(t, err, signoff.EUNAUTHORIZED)
		}
	}
	spray(func(int) string { return "203.0.113.99" })
	_, err := db.Authenticate(ctx, carol.Email, testPassword, "203.0.113.99")
	wantCode(t, err, signoff.ERATELIMIT)
	if _, err := db.Authenticate(ctx, carol.Email, testPassword, "203.0.113.100"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	spray(func(i int) string { return fmt.Sprintf("2001:db8:1:2::%x", i+1) })
	_, err = db.Authenticate(ctx, carol.Email, testPassword, "2001:db8:1:2:ffff::1")
	wantCode(t, err, signoff.ERATELIMIT)
	_, err = db.Authenticate(ctx, carol.Email, testPassword, "::ffff:203.0.113.99") // the same IPv4 client, mapped
	wantCode(t, err, signoff.ERATELIMIT)
	if _, err := db.Authenticate(ctx, carol.Email, testPassword, "2001:db8:1:3::1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

// ageFailures moves every recorded failure d into the past.
func ageFailures(t *testing.T, db *postgres.DB, d time.Duration) {
	t.Helper()
	if _, err := db.Pool().Exec(context.Background(), `UPDATE auth_failures SET at = at - $1::interval`, d); err != nil {
		t.Fatal(err)
	}
}

func TestUserDeactivationEndsSessionsAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	bob := addUser(t, db, "Bob Ortiz")
	exp := time.Now().Add(time.Hour)
	for _, id := range []string{"bob-laptop", "bob-phone"} {
		if err := db.SaveSession(ctx, id, postgres.StoredSession{UserID: bob.ID, Data: []byte("x"), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SaveSession(ctx, "ada", postgres.StoredSession{UserID: admin.ID, Data: []byte("y"), ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.LoadSession(ctx, "bob-laptop"); err != nil || s.UserID != bob.ID || string(s.Data) != "x" {
		t.Fatalf("load session: %+v, %v", s, err)
	}

	// You cannot lock yourself out.
	wantCode(t, db.SetActive(ctx, admin.ID, false, as(admin)), signoff.ECONFLICT)

	// A deactivation whose audit record fails changes nothing: the
	// sessions are deleted in the same transaction as the record.
	allow := refuseAuditEvents(t, db, signoff.ActUserDeactivate)
	if err := db.SetActive(ctx, bob.ID, false, as(admin)); err == nil {
		t.Fatal("SetActive succeeded although its audit record failed")
	}
	allow()
	if u, _ := db.User(ctx, bob.ID); !u.Active {
		t.Fatal("a failed deactivation deactivated")
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM sessions WHERE user_id = $1`, bob.ID); n != 2 {
		t.Fatalf("a failed deactivation deleted sessions: %d left", n)
	}

	seq := systemSeq(t, db)
	if err := db.SetActive(ctx, bob.ID, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"bob-laptop", "bob-phone"} {
		if _, err := db.LoadSession(ctx, id); !errors.Is(err, postgres.ErrSessionNotFound) {
			t.Fatalf("session %s after deactivation: %v", id, err)
		}
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM sessions WHERE user_id = $1`, bob.ID); n != 0 {
		t.Fatalf("%d session rows left; deactivation must delete them, not hide them", n)
	}
	if _, err := db.LoadSession(ctx, "ada"); err != nil {
		t.Fatalf("someone else's session: %v", err)
	}
	ev := lastEvent(t, db, 0)
	if ev.Seq != seq+1 || ev.Action != signoff.ActUserDeactivate || ev.Target != fmt.Sprintf("user/%d", bob.ID) {
		t.Fatalf("deactivate event = %+v", ev)
	}
	_, err := db.Authenticate(ctx, bob.Email, testPassword, "192.0.2.1")
	wantCode(t, err, signoff.EUNAUTHORIZED)
	// Deactivating again is a no-op.
	if err := db.SetActive(ctx, bob.ID, false, as(admin)); err != nil || systemSeq(t, db) != seq+1 {
		t.Fatalf("repeat deactivation: %v, seq %d", err, systemSeq(t, db))
	}
	// Reactivating does not bring the old sessions back.
	if err := db.SetActive(ctx, bob.ID, true, as(admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadSession(ctx, "bob-laptop"); !errors.Is(err, postgres.ErrSessionNotFound) {
		t.Fatalf("old session after reactivation: %v", err)
	}
	wantCode(t, db.SetActive(ctx, 99999, false, as(admin)), signoff.ENOTFOUND)
	checkChain(t, db, 0)
}

func TestUserSetPermissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	bob := addUser(t, db, "Bob Ortiz")
	seq := systemSeq(t, db)

	if err := db.SetPermissions(ctx, bob.ID, false, true, as(admin)); err != nil {
		t.Fatal(err)
	}
	u, _ := db.User(ctx, bob.ID)
	if u.IsAdmin || !u.IsAuditor || u.CanEditChecklists() {
		t.Fatalf("after making an auditor: %+v", u)
	}
	ev := lastEvent(t, db, 0)
	var before, after map[string]bool
	_ = json.Unmarshal(payload(t, ev).Before, &before)
	_ = json.Unmarshal(payload(t, ev).After, &after)
	if ev.Seq != seq+1 || ev.Action != signoff.ActUserUpdate || before["auditor"] || !after["auditor"] || after["admin"] {
		t.Fatalf("permissions event %+v before %v after %v", ev, before, after)
	}
	// The same permissions again record nothing.
	if err := db.SetPermissions(ctx, bob.ID, false, true, as(admin)); err != nil || systemSeq(t, db) != seq+1 {
		t.Fatalf("no-op permissions: %v, seq %d", err, systemSeq(t, db))
	}
	if err := db.SetPermissions(ctx, bob.ID, true, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.User(ctx, bob.ID); !u.IsAdmin || u.IsAuditor {
		t.Fatalf("after making an admin: %+v", u)
	}
	// An admin cannot drop their own admin permission.
	bobActor := signoff.EventActor{ID: bob.ID, Name: bob.Name, Via: "web"}
	wantCode(t, db.SetPermissions(ctx, bob.ID, false, false, bobActor), signoff.ECONFLICT)
	wantCode(t, db.SetPermissions(ctx, 99999, true, false, as(admin)), signoff.ENOTFOUND)
	if u, _ := db.User(ctx, bob.ID); !u.IsAdmin {
		t.Fatal("refused change applied")
	}
}

func TestUserGrantAndWithdrawRoleOnTheSystemChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	bob := addUser(t, db, "Bob Ortiz")
	seq := systemSeq(t, db)

	if err := db.GrantRole(ctx, bob.ID, " security engineer ", as(admin)); err != nil {
		t.Fatal(err)
	}
	u, _ := db.User(ctx, bob.ID)
	if !u.HasRole("Security Engineer") {
		t.Fatalf("roles after grant: %+v", u.Roles)
	}
	// Granting a held role records nothing; an unknown role is refused.
	if err := db.GrantRole(ctx, bob.ID, "Security Engineer", as(admin)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.GrantRole(ctx, bob.ID, "Chief Vibes Officer", as(admin)), signoff.EINVALID)
	wantCode(t, db.GrantRole(ctx, 99999, "Security Engineer", as(admin)), signoff.ENOTFOUND)
	if err := db.WithdrawRole(ctx, bob.ID, "SECURITY ENGINEER", as(admin)); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.User(ctx, bob.ID); len(u.Roles) != 0 {
		t.Fatalf("roles after withdraw: %+v", u.Roles)
	}
	wantCode(t, db.WithdrawRole(ctx, bob.ID, "Security Engineer", as(admin)), signoff.ENOTFOUND)

	if got := systemSeq(t, db); got != seq+2 {
		t.Fatalf("system seq %d → %d; want one grant and one withdraw event", seq, got)
	}
	evs := checkChain(t, db, 0)
	grant, withdraw := evs[seq], evs[seq+1]
	if grant.Action != signoff.ActRoleGrant || withdraw.Action != signoff.ActRoleWithdraw ||
		grant.Target != fmt.Sprintf("user/%d", bob.ID) || grant.Actor.ID != admin.ID {
		t.Fatalf("events %s %s, %s", grant.Action, grant.Target, withdraw.Action)
	}
	var after, before map[string]string
	_ = json.Unmarshal(payload(t, grant).After, &after)
	_ = json.Unmarshal(payload(t, withdraw).Before, &before)
	if after["role"] != "Security Engineer" || before["role"] != "Security Engineer" {
		t.Fatalf("grant after %v, withdraw before %v", after, before)
	}
	// Both are rows of the system chain: no deployment.
	if n := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE action IN ('role.grant', 'role.withdraw') AND deployment_id IS NOT NULL`); n != 0 {
		t.Fatalf("%d role events on a deployment chain", n)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE action IN ('role.grant', 'role.withdraw') AND deployment_id IS NULL`); n != 2 {
		t.Fatalf("%d role events on the system chain; want 2", n)
	}
}

func TestUserCreateRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	r, err := db.CreateRole(ctx, "  Release Manager ", as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Release Manager" || r.ID == 0 {
		t.Fatalf("role = %+v", r)
	}
	seq := systemSeq(t, db)
	for _, name := range []string{"Release Manager", "release MANAGER", "Database Administrator"} {
		_, err := db.CreateRole(ctx, name, as(admin))
		wantCode(t, err, signoff.ECONFLICT)
	}
	_, err = db.CreateRole(ctx, " ", as(admin))
	wantCode(t, err, signoff.EINVALID)
	if got := systemSeq(t, db); got != seq {
		t.Fatalf("refused roles wrote events: %d → %d", seq, got)
	}
	roles, err := db.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(roles, func(s postgres.RoleSummary) bool { return s.Name == "Release Manager" }) || len(roles) != 9 {
		t.Fatalf("roles = %+v", roles)
	}
	// The new role can be held and used.
	bob := addUser(t, db, "Bob Ortiz", "release manager")
	if !bob.HasRole("Release Manager") {
		t.Fatalf("roles = %+v", bob.Roles)
	}
}

func TestUserSetupTokenOnlyBeforeAnyoneExists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	token, err := db.CreateSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("setup token on an empty database: %q, %v", token, err)
	}
	if ok, err := db.SetupTokenValid(ctx, token); err != nil || !ok {
		t.Fatalf("fresh token valid = %v, %v", ok, err)
	}
	if ok, _ := db.SetupTokenValid(ctx, token+"x"); ok {
		t.Fatal("a wrong token is valid")
	}
	// Only its hash is stored.
	if n := sqlInt(t, db, `SELECT count(*) FROM setup_tokens WHERE position(convert_to($1, 'UTF8') in token_hash) > 0`, token); n != 0 {
		t.Fatal("the token is stored in clear")
	}
	_, err = db.SetupFirstAdmin(ctx, "not-the-token", signoff.NewUser{Email: "eve@example.com", Name: "Eve", Password: testPassword})
	wantCode(t, err, signoff.EFORBIDDEN)

	// Two people race the same link: exactly one becomes admin.
	var users [2]*signoff.User
	errs := together(
		func() (err error) {
			users[0], err = db.SetupFirstAdmin(ctx, token, signoff.NewUser{Email: "ada@example.com", Name: "Ada", Password: testPassword})
			return err
		},
		func() (err error) {
			users[1], err = db.SetupFirstAdmin(ctx, token, signoff.NewUser{Email: "max@example.com", Name: "Max", Password: testPassword})
			return err
		},
	)
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if !users[i].IsAdmin {
				t.Fatalf("setup made a non-admin: %+v", users[i])
			}
		case signoff.ErrorCode(err) != signoff.EFORBIDDEN:
			t.Fatalf("losing setup: %v; want %s", err, signoff.EFORBIDDEN)
		}
	}
	if won != 1 {
		t.Fatalf("%d setups succeeded; want exactly 1 (%v)", won, errs)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("%d users after the race", n)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM users WHERE is_admin`); n != 1 {
		t.Fatalf("%d admins after the race", n)
	}
	if ok, _ := db.SetupTokenValid(ctx, token); ok {
		t.Fatal("the spent token is still valid")
	}
	// Once someone exists there is no more setup link.
	if token, err := db.CreateSetupToken(ctx); err != nil || token != "" {
		t.Fatalf("setup token with people present: %q, %v", token, err)
	}
	checkChain(t, db, 0)
}

func TestUserInvitations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	u, token, err := db.Invite(ctx, signoff.NewUser{Email: "nina@example.com", Name: "Nina New", Roles: []string{"Product Manager"}}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if token == "" || !u.HasRole("Product Manager") {
		t.Fatalf("invite: %+v, %q", u, token)
	}
	name, err := db.InviteeName(ctx, token)
	if err != nil || name != "Nina New" {
		t.Fatalf("invitee name: %q, %v", name, err)
	}
	_, err = db.InviteeName(ctx, "bogus")
	wantCode(t, err, signoff.ENOTFOUND)
	// The invitee cannot sign in before choosing a password.
	_, err = db.Authenticate(ctx, "nina@example.com", "", "192.0.2.1")
	wantCode(t, err, signoff.EUNAUTHORIZED)

	_, err = db.AcceptInvite(ctx, token, "short")
	wantCode(t, err, signoff.EINVALID)
	if _, err := db.InviteeName(ctx, token); err != nil {
		t.Fatalf("a refused acceptance spent the invitation: %v", err)
	}
	got, err := db.AcceptInvite(ctx, token, "nina's new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID {
		t.Fatalf("accepted as %+v", got)
	}
	if _, err := db.Authenticate(ctx, "nina@example.com", "nina's new passphrase", "192.0.2.1"); err != nil {
		t.Fatalf("sign in with the chosen password: %v", err)
	}
	// The link works once.
	_, err = db.AcceptInvite(ctx, token, "another passphrase!")
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.InviteeName(ctx, token)
	wantCode(t, err, signoff.ENOTFOUND)
	if _, err := db.Authenticate(ctx, "nina@example.com", "another passphrase!", "192.0.2.1"); signoff.ErrorCode(err) != signoff.EUNAUTHORIZED {
		t.Fatalf("a reused link changed the password: %v", err)
	}
	// A new link replaces an unused old one.
	_, t1, err := db.Invite(ctx, signoff.NewUser{Email: "omar@example.com", Name: "Omar"}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	omar := sqlInt(t, db, `SELECT id FROM users WHERE email = 'omar@example.com'`)
	seq := systemSeq(t, db)
	t2, err := db.NewInviteToken(ctx, omar, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, db, 0); ev.Seq != seq+1 || ev.Action != signoff.ActUserUpdate || ev.Target != fmt.Sprintf("user/%d", omar) {
		t.Fatalf("a new link recorded %+v", ev)
	}
	_, err = db.InviteeName(ctx, t1)
	wantCode(t, err, signoff.ENOTFOUND)
	if name, err := db.InviteeName(ctx, t2); err != nil || name != "Omar" {
		t.Fatalf("new link: %q, %v", name, err)
	}
	// A deactivated person's link is dead.
	if err := db.SetActive(ctx, omar, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	_, err = db.AcceptInvite(ctx, t2, "omar's passphrase")
	wantCode(t, err, signoff.ENOTFOUND)
	// ...and no new one is issued while they are deactivated.
	_, err = db.NewInviteToken(ctx, omar, as(admin))
	wantCode(t, err, signoff.ECONFLICT)
	_, err = db.NewInviteToken(ctx, 99999, as(admin))
	wantCode(t, err, signoff.ENOTFOUND)
	checkChain(t, db, 0)
}

func TestUserConcurrentSystemChangesKeepTheSystemChainIntact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 16})
	admin := addUser(t, db, "Ada Admin")
	fns := make([]func() error, 12)
	for i := range fns {
		fns[i] = func() error {
			_, err := db.CreateUser(ctx, signoff.NewUser{Email: fmt.Sprintf("person%d@example.com", i), Name: fmt.Sprintf("Person %d", i),
				Password: testPassword, Roles: []string{"Product Manager"}}, as(admin))
			return err
		}
	}
	if err := errors.Join(together(fns...)...); err != nil {
		t.Fatal(err)
	}
	evs := checkChain(t, db, 0)
	if n := sqlInt(t, db, `SELECT count(*) FROM users`); n != 13 {
		t.Fatalf("%d users; want 13", n)
	}
	creates := 0
	for _, ev := range evs {
		if ev.Action == signoff.ActUserCreate {
			creates++
		}
	}
	if creates != 13 {
		t.Fatalf("%d user.create events; want 13", creates)
	}
}

// Rule 1: inviting someone is one change. When the invitation link cannot
// be stored, the person is not created either, and nothing is recorded.
func TestUserInviteIsOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	seq := systemSeq(t, db)
	nina := signoff.NewUser{Email: "nina@example.com", Name: "Nina New", Roles: []string{"Product Manager"}}

	// The second step (storing the link) fails, after the person row and
	// their role were written.
	if _, err := db.Pool().Exec(ctx, `
		CREATE FUNCTION refuse_invites() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'injected: no invitation links today'; END $$;
		CREATE TRIGGER refuse_invites BEFORE INSERT ON setup_tokens
		FOR EACH ROW WHEN (NEW.purpose = 'invite') EXECUTE FUNCTION refuse_invites();`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Invite(ctx, nina, as(admin)); err == nil {
		t.Fatal("Invite succeeded although its link could not be stored")
	}
	assertNoInvitee := func(when string) {
		t.Helper()
		if n := sqlInt(t, db, `SELECT count(*) FROM users WHERE lower(email) = 'nina@example.com'`); n != 0 {
			t.Fatalf("%s: the person was created although the invitation failed", when)
		}
		if n := sqlInt(t, db, `SELECT count(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE u.email = 'nina@example.com'`); n != 0 {
			t.Fatalf("%s: %d roles granted to nobody", when, n)
		}
		if n := sqlInt(t, db, `SELECT count(*) FROM setup_tokens WHERE purpose = 'invite'`); n != 0 {
			t.Fatalf("%s: %d invitation links stored", when, n)
		}
		if got := systemSeq(t, db); got != seq {
			t.Fatalf("%s: a failed invitation wrote system events: %d → %d", when, seq, got)
		}
	}
	assertNoInvitee("link refused")
	if _, err := db.Pool().Exec(ctx, `DROP TRIGGER refuse_invites ON setup_tokens`); err != nil {
		t.Fatal(err)
	}

	// Its audit record fails: again nothing.
	allow := refuseAuditEvents(t, db, signoff.ActUserCreate)
	if _, _, err := db.Invite(ctx, nina, as(admin)); err == nil {
		t.Fatal("Invite succeeded although its audit record failed")
	}
	allow()
	assertNoInvitee("audit record refused")

	// The same invitation now goes through, as one event, and a retry is
	// not refused as a duplicate of a half-made one.
	u, token, err := db.Invite(ctx, nina, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if name, err := db.InviteeName(ctx, token); err != nil || name != "Nina New" {
		t.Fatalf("invitee name: %q, %v", name, err)
	}
	if got := systemSeq(t, db); got != seq+1 {
		t.Fatalf("an invitation wrote %d system events; want 1", got-seq)
	}
	ev := lastEvent(t, db, 0)
	var after map[string]any
	_ = json.Unmarshal(payload(t, ev).After, &after)
	if ev.Action != signoff.ActUserCreate || ev.Target != fmt.Sprintf("user/%d", u.ID) || ev.Actor.ID != admin.ID || after["invited"] != true {
		t.Fatalf("invite event %s %s by %d, after %v", ev.Action, ev.Target, ev.Actor.ID, after)
	}
	// A duplicate fails before anything is written.
	_, _, err = db.Invite(ctx, signoff.NewUser{Email: "NINA@example.com", Name: "Nina Again"}, as(admin))
	wantCode(t, err, signoff.ECONFLICT)
	if got := systemSeq(t, db); got != seq+1 {
		t.Fatalf("a refused duplicate invitation wrote events")
	}
	checkChain(t, db, 0)
}

// Guesses fired in parallel cannot slip under the limit: each attempt is
// counted before its password is checked, in the same serialised step that
// checks the count.
func TestUserAuthenticateRateLimitHoldsUnderParallelGuesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 32})
	bob := addUser(t, db, "Bob Ortiz")
	warm := make([]func() error, 30)
	for i := range warm {
		warm[i] = func() error { return db.Ping(ctx) }
	}
	together(warm...)

	guesses := make([]func() error, 30)
	for i := range guesses {
		guesses[i] = func() error {
			_, err := db.Authenticate(ctx, bob.Email, fmt.Sprintf("guess number %d", i), "198.51.100.7")
			return err
		}
	}
	free := postgres.ThrottleAccountAddress.Free
	checked, limited := 0, 0
	for i, err := range together(guesses...) {
		switch signoff.ErrorCode(err) {
		case signoff.EUNAUTHORIZED:
			checked++
		case signoff.ERATELIMIT:
			limited++
		default:
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// The free failures, and at most the one or two whose wait (1 s,
	// then 2 s) passed while the others queued: never the rest.
	if checked < free || checked > free+2 || checked+limited != 30 {
		t.Fatalf("%d guesses checked against the hash, %d refused; want %d checked (the free failures, plus one per wait that passed) and the rest refused",
			checked, limited, free)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM auth_failures WHERE key = $1`, "acct:"+bob.Email+"|198.51.100.7"); n != int64(checked) {
		t.Fatalf("%d failures recorded; want %d", n, checked)
	}
	// While waiting, even the right password is refused from there.
	_, err := db.Authenticate(ctx, bob.Email, testPassword, "198.51.100.7")
	wantCode(t, err, signoff.ERATELIMIT)
}

// Release morning: a whole team behind one NAT signs in at the same moment.
// Every attempt is counted before its password is checked, yet none of
// them is refused: the address's limit is well above a team's size.
func TestUserAuthenticateTeamBehindOneAddressSignsInTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 32})
	// The production cost, not the tests' cheap one: the checks must take
	// long enough for the attempts to be in flight together.
	hash, err := password.HashWith(testPassword, password.Default)
	if err != nil {
		t.Fatal(err)
	}
	const team = 30
	logins := make([]func() error, team)
	for i := range logins {
		u := addUser(t, db, fmt.Sprintf("Member %02d", i))
		if _, err := db.Pool().Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, hash); err != nil {
			t.Fatal(err)
		}
		logins[i] = func() error {
			_, err := db.Authenticate(ctx, u.Email, testPassword, "203.0.113.7")
			return err
		}
	}
	for i, err := range together(logins...) {
		if err != nil {
			t.Errorf("member %d, signing in with the rest of the team: %v", i, err)
		}
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM auth_failures`); n != 0 {
		t.Fatalf("%d attempts left recorded after only correct passwords", n)
	}
}

// A correct password is not held against anyone: the attempt counted
// before the check is forgiven once it succeeds.
func TestUserAuthenticateSuccessIsNotCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	bob := addUser(t, db, "Bob Ortiz")
	for range postgres.ThrottleAccountAddress.Free + 5 {
		if _, err := db.Authenticate(ctx, bob.Email, testPassword, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckPassword(ctx, bob.ID, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM auth_failures`); n != 0 {
		t.Fatalf("%d attempts recorded after only correct passwords", n)
	}
	// Failures count; a right password from the same address clears the
	// account's failures there (its owner proved themselves), so the free
	// failures start again.
	free := postgres.ThrottleAccountAddress.Free
	for range free - 1 {
		_, err := db.Authenticate(ctx, bob.Email, "wrong password", "192.0.2.2")
		wantCode(t, err, signoff.EUNAUTHORIZED)
	}
	if _, err := db.Authenticate(ctx, bob.Email, testPassword, "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	for range free {
		_, err := db.Authenticate(ctx, bob.Email, "wrong password", "192.0.2.2")
		wantCode(t, err, signoff.EUNAUTHORIZED)
	}
	_, err := db.Authenticate(ctx, bob.Email, testPassword, "192.0.2.2")
	wantCode(t, err, signoff.ERATELIMIT)
}
