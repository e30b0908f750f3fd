package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/signoff"
)

// A Throttle says how failed password attempts against one key slow the
// next attempt: the first Free failures within Window cost nothing, then
// each further one doubles a wait (from Base up to Max) that must pass
// after the latest failure before the key may try again. Nothing is ever
// locked: the wait always ends, and a right password ends it at once for
// the key that proved itself.
//
// Failures count against three kinds of key (see passwordAttempt):
//
//   - an account from one client address (ThrottleAccountAddress): a
//     guesser slows themselves, never the account's owner elsewhere, so
//     failures at someone's address cannot keep them out;
//   - a client address, over every account (ThrottleAddress): a password
//     sprayer slows; high enough for a team behind one NAT;
//   - a signer (ThrottleSigner): the signature ceremony's password check,
//     which only the signed-in person can reach, counts apart from logins
//     and strictly, so failed logins never stop anyone from signing.
//
// Spreading guesses at one account over many addresses is bounded by the
// password policy (signoff.ValidatePassword) rather than by refusing the
// owner: that is the trade the issue asked for, and passkeys and SSO
// remove the password from the question entirely.
type Throttle struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

// The throttles in force.
var (
	ThrottleAccountAddress = Throttle{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: 24 * time.Hour}
	ThrottleAddress        = Throttle{Free: 100, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	ThrottleSigner         = Throttle{Free: 3, Base: 30 * time.Second, Max: 15 * time.Minute, Window: time.Hour}
)

// longestWindow is how long failures are kept (DeleteExpired).
const longestWindow = 24 * time.Hour

// Wait is how long after the latest of failures a key must wait.
func (t Throttle) Wait(failures int) time.Duration {
	if failures < t.Free {
		return 0
	}
	d := t.Base
	for i := t.Free; i < failures && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

// throttleKey is one key an attempt counts against.
type throttleKey struct {
	key string
	Throttle
	forgive bool // a right password clears the key's failures, not only this attempt
}

// addressKey spells a client address as the throttle counts it: an IPv4
// address as itself, an IPv6 address by its /64 (one host usually holds
// a whole /64, so counting single addresses would let it pick new ones).
func addressKey(clientIP string) string {
	a, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// loginKeys are the keys a login attempt counts against.
func loginKeys(email, clientIP string) []throttleKey {
	addr := addressKey(clientIP)
	return []throttleKey{
		{key: "acct:" + strings.ToLower(email) + "|" + addr, Throttle: ThrottleAccountAddress, forgive: true},
		{key: "ip:" + addr, Throttle: ThrottleAddress},
	}
}

// signerKeys are the keys a signature's password check counts against.
func signerKeys(userID int64) []throttleKey {
	return []throttleKey{{key: "sign:" + strconv.FormatInt(userID, 10), Throttle: ThrottleSigner, forgive: true}}
}

// passwordAttempt runs one password check under keys' throttles.
//
// The attempt is recorded as a failure before check runs, in the same
// transaction that reads the keys' failures under an advisory lock per
// key: parallel guesses queue there one by one and each sees the ones
// before it, so no more of them reach the (slow) hash check than the
// throttles allow. A key still waiting refuses the attempt without
// checking or counting it. A check that succeeds has its attempt deleted,
// and the failures of the keys that proved themselves (forgive) with it.
func (db *DB) passwordAttempt(ctx context.Context, keys []throttleKey, check func() (bool, error)) (bool, error) {
	ids, err := db.countAttempt(ctx, keys)
	if err != nil {
		return false, err
	}
	ok, err := check()
	if err != nil || !ok {
		return false, err
	}
	var forgiven []string
	for _, k := range keys {
		if k.forgive {
			forgiven = append(forgiven, k.key)
		}
	}
	// Forgive even if the caller has gone: a right password is never
	// held against anyone.
	if _, err := db.pool.Exec(context.WithoutCancel(ctx), `
		DELETE FROM auth_failures WHERE id = ANY($1) OR key = ANY($2)`, ids, forgiven); err != nil {
		return false, fmt.Errorf("forgive successful attempt: %w", err)
	}
	return true, nil
}

// countAttempt records one attempt against every key unless one of them
// must still wait, and returns the recorded ids; a key that must wait
// answers ERATELIMIT with the time left.
func (db *DB) countAttempt(ctx context.Context, keys []throttleKey) ([]int64, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("count attempt: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	names := make([]string, len(keys))
	windows := make([]time.Duration, len(keys))
	for i, k := range keys {
		names[i], windows[i] = k.key, k.Window
	}
	// Locks in one order (the keys' order is fixed per kind of attempt,
	// and no attempt takes a key of another kind), so no deadlocks.
	if _, err := tx.Exec(ctx, `
		SELECT pg_advisory_xact_lock(hashtextextended('signoff.auth:' || k, 0))
		FROM unnest($1::text[]) WITH ORDINALITY AS t (k, n) ORDER BY n`, names); err != nil {
		return nil, fmt.Errorf("count attempt: lock: %w", err)
	}
	rows, err := tx.Query(ctx, `
		SELECT count(f.id)::int, coalesce(extract(epoch FROM clock_timestamp() - max(f.at)), 0)::float8
		FROM unnest($1::text[], $2::interval[]) WITH ORDINALITY AS k (key, win, n)
		LEFT JOIN auth_failures f ON f.key = k.key AND f.at > clock_timestamp() - k.win
		GROUP BY k.n ORDER BY k.n`, names, windows)
	if err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	var left time.Duration
	var failures int
	var since float64
	i := 0
	_, err = pgx.ForEachRow(rows, []any{&failures, &since}, func() error {
		elapsed := time.Duration(since * float64(time.Second))
		left = max(left, keys[i].Wait(failures)-elapsed)
		i++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	if left > 0 {
		return nil, throttled(left)
	}
	var ids []int64
	err = tx.QueryRow(ctx, `
		WITH recorded AS (
		    INSERT INTO auth_failures (key, at)
		    SELECT k, clock_timestamp() FROM unnest($1::text[]) AS k
		    RETURNING id
		)
		SELECT array_agg(id) FROM recorded`, names).Scan(&ids)
	if err != nil {
		return nil, fmt.Errorf("count attempt: record: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("count attempt: commit: %w", err)
	}
	return ids, nil
}

// throttled is the answer to an attempt that must wait.
func throttled(left time.Duration) error {
	left = left.Round(time.Second) + time.Second
	when := fmt.Sprintf("%d seconds", int(left.Seconds()))
	if left >= 2*time.Minute {
		when = fmt.Sprintf("%d minutes", int((left+time.Minute-1)/time.Minute))
	}
	return &signoff.Error{Code: signoff.ERATELIMIT, RetryAfter: left,
		Message: "Too many failed attempts. Try again in " + when + "."}
}

// Authenticate checks an email and password, throttled per account and
// client address together and per address (see Throttle).
func (db *DB) Authenticate(ctx context.Context, email, pw, clientIP string) (*signoff.User, error) {
	email = strings.TrimSpace(email)
	var id int64
	ok, err := db.passwordAttempt(ctx, loginKeys(email, clientIP), func() (bool, error) {
		var hash *string
		var active bool
		err := db.pool.QueryRow(ctx, `SELECT id, password_hash, active FROM users WHERE lower(email) = lower($1)`, email).Scan(&id, &hash, &active)
		if errors.Is(err, pgx.ErrNoRows) {
			id = 0
		} else if err != nil {
			return false, fmt.Errorf("authenticate: %w", err)
		}
		return db.checkHash(id, hash, pw, active)
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Email or password is wrong.")
	}
	return db.User(ctx, id)
}

// checkHash checks pw against a person's hash. Nobody (id 0) and a person
// without a password (SSO only) are checked against a dummy hash, so the
// answer takes as long and says nothing about who has an account.
func (db *DB) checkHash(id int64, hash *string, pw string, active bool) (bool, error) {
	h := db.dummyHash()
	if id != 0 && hash != nil {
		h = *hash
	}
	ok, err := password.Check(h, pw)
	if err != nil {
		return false, fmt.Errorf("check password of user %d: %w", id, err)
	}
	return ok && id != 0 && hash != nil && active, nil
}

// CheckPassword re-verifies a signed-in person's password (the signature
// ceremony, and changes to their own account). Its failures count against
// the person's own, stricter throttle, never against their logins.
func (db *DB) CheckPassword(ctx context.Context, userID int64, pw string) error {
	var hash *string
	var active bool
	err := db.pool.QueryRow(ctx, `SELECT password_hash, active FROM users WHERE id = $1`, userID).Scan(&hash, &active)
	if err != nil {
		return notFound(fmt.Errorf("check password of user %d: %w", userID, err), "Person %d not found.", userID)
	}
	if hash == nil {
		return signoff.Errorf(signoff.ECONFLICT, "You have no password with Signoff; use a passkey or your single sign-on.")
	}
	ok, err := db.passwordAttempt(ctx, signerKeys(userID), func() (bool, error) {
		return db.checkHash(userID, hash, pw, active)
	})
	if err != nil {
		return err
	}
	if !ok {
		return signoff.Errorf(signoff.EUNAUTHORIZED, "The password is wrong.")
	}
	return nil
}
