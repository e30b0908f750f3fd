package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/signoff"
)

// CreateUser adds a person with the given roles and records it.
func (db *DB) CreateUser(ctx context.Context, n signoff.NewUser, actor signoff.EventActor) (*signoff.User, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	hash, err := db.hashPassword(n.Password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	var u *signoff.User
	_, err = db.changeSystem(ctx, "create user", func(tx pgx.Tx) (*signoff.Change, error) {
		id, after, err := insertUser(ctx, tx, n, hash, actor)
		if err != nil {
			return nil, err
		}
		if u, err = readUser(ctx, tx, id); err != nil {
			return nil, err
		}
		if actor.ID == 0 && actor.Name == "" {
			actor = signoff.EventActor{ID: id, Name: n.Name, Via: "web"}
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(id),
			&signoff.UserCreateEvent{After: after})
		return &ch, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// insertUser writes a validated person and their roles in tx and returns
// the id and the "after" of the user.create event the caller records.
func insertUser(ctx context.Context, tx pgx.Tx, n signoff.NewUser, hash string, actor signoff.EventActor) (int64, signoff.UserCreateAfter, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO users (email, name, password_hash, is_admin, is_auditor)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING id`, n.Email, n.Name, hash, n.IsAdmin, n.IsAuditor).Scan(&id)
	if isUniqueViolation(err, "users_email_key") {
		return 0, signoff.UserCreateAfter{}, signoff.Errorf(signoff.ECONFLICT, "A person with email %s already exists.", n.Email)
	}
	if err != nil {
		return 0, signoff.UserCreateAfter{}, fmt.Errorf("create user %s: %w", n.Email, err)
	}
	roles, err := grantRoles(ctx, tx, id, n.Roles, actor.ID)
	if err != nil {
		return 0, signoff.UserCreateAfter{}, err
	}
	return id, signoff.UserCreateAfter{Email: n.Email, Name: n.Name, Admin: n.IsAdmin, Auditor: n.IsAuditor, Roles: roles}, nil
}

func grantRoles(ctx context.Context, tx pgx.Tx, userID int64, names []string, by int64) ([]string, error) {
	var granted []string
	for _, name := range names {
		var roleName string
		err := tx.QueryRow(ctx, `
			INSERT INTO user_roles (user_id, role_id, granted_by)
			SELECT $1, id, $3 FROM roles WHERE lower(name) = lower($2)
			ON CONFLICT DO NOTHING
			RETURNING (SELECT name FROM roles WHERE lower(name) = lower($2))`,
			userID, strings.TrimSpace(name), nullID(by)).Scan(&roleName)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE lower(name) = lower($1))`, strings.TrimSpace(name)).Scan(&exists); err != nil {
				return nil, fmt.Errorf("grant role %q: %w", name, err)
			}
			if !exists {
				return nil, signoff.Errorf(signoff.EINVALID, "There is no role named %q.", name)
			}
			continue // already held
		}
		if err != nil {
			return nil, fmt.Errorf("grant role %q: %w", name, err)
		}
		granted = append(granted, roleName)
	}
	return granted, nil
}

const userColumns = `u.id, u.email, u.name, u.is_admin, u.is_auditor, u.active, u.created_at,
	coalesce((SELECT array_agg(r.id ORDER BY r.id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '{}'),
	coalesce((SELECT array_agg(r.name ORDER BY r.id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '{}')`

// scanUser reads userColumns, then any extra columns into extra.
func scanUser(row pgx.Row, extra ...any) (*signoff.User, error) {
	var u signoff.User
	var ids []int64
	var names []string
	dest := []any{&u.ID, &u.Email, &u.Name, &u.IsAdmin, &u.IsAuditor, &u.Active, &u.CreatedAt, &ids, &names}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	for i := range ids {
		u.Roles = append(u.Roles, signoff.Role{ID: ids[i], Name: names[i]})
	}
	return &u, nil
}

// User returns the person with the id.
func (db *DB) User(ctx context.Context, id int64) (*signoff.User, error) {
	return readUser(ctx, db.pool, id)
}

// readUser reads a person on the pool, or in the transaction that changes
// them (so that what a change returns is what it committed).
func readUser(ctx context.Context, q querier, id int64) (*signoff.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if err != nil {
		return nil, notFound(fmt.Errorf("user %d: %w", id, err), "Person %d not found.", id)
	}
	return u, nil
}

// Users lists everyone, active first, by name.
func (db *DB) Users(ctx context.Context) ([]*signoff.User, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.active DESC, lower(u.name)`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*signoff.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many people exist (0 before setup).
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// Rate limits for password checks, shared by every instance through the
// auth_failures table: at most MaxFailuresPerEmail failed attempts per
// email and MaxFailuresPerAddress per client address in any FailureWindow.
// An address gets more: a whole team behind one NAT or proxy logs in at
// once on release morning, and an attempt counts until its password is
// found right.
const (
	FailureWindow         = 15 * time.Minute
	MaxFailuresPerEmail   = 10
	MaxFailuresPerAddress = 100
)

// Authenticate checks an email and password. Attempts are limited per
// email and per client address (see passwordAttempt).
func (db *DB) Authenticate(ctx context.Context, email, pw, clientIP string) (*signoff.User, error) {
	email = strings.TrimSpace(email)
	var id int64
	ok, err := db.passwordAttempt(ctx, email, clientIP, func() (bool, error) {
		var hash string
		var active bool
		err := db.pool.QueryRow(ctx, `SELECT id, password_hash, active FROM users WHERE lower(email) = lower($1)`, email).Scan(&id, &hash, &active)
		if errors.Is(err, pgx.ErrNoRows) {
			hash = db.dummyHash()
		} else if err != nil {
			return false, fmt.Errorf("authenticate: %w", err)
		}
		ok, err := password.Check(hash, pw)
		if err != nil {
			return false, fmt.Errorf("authenticate user %d: %w", id, err)
		}
		return ok && id != 0 && active, nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Email or password is wrong.")
	}
	return db.User(ctx, id)
}

// CheckPassword re-verifies a signed-in person's password (the signature
// ceremony); attempts count against the same limit as logins.
func (db *DB) CheckPassword(ctx context.Context, userID int64, pw, clientIP string) error {
	var email, hash string
	var active bool
	err := db.pool.QueryRow(ctx, `SELECT email, password_hash, active FROM users WHERE id = $1`, userID).Scan(&email, &hash, &active)
	if err != nil {
		return notFound(fmt.Errorf("check password of user %d: %w", userID, err), "Person %d not found.", userID)
	}
	ok, err := db.passwordAttempt(ctx, email, clientIP, func() (bool, error) {
		ok, err := password.Check(hash, pw)
		if err != nil {
			return false, fmt.Errorf("check password of user %d: %w", userID, err)
		}
		return ok && active, nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return signoff.Errorf(signoff.EUNAUTHORIZED, "The password is wrong; nothing was signed.")
	}
	return nil
}

// passwordAttempt runs one password check under the rate limits of the
// email and the client address.
//
// The attempt is counted before check runs, by the same step that reads
// the count, and that step holds an advisory lock per key: parallel guesses
// queue there one by one, so no more than the key's limit of them per
// window ever reach the (slow) hash check. Past the limit it refuses
// without checking or counting. A check that succeeds has its attempt
// forgiven (deleted); a failed or abandoned one stays counted.
func (db *DB) passwordAttempt(ctx context.Context, email, clientIP string, check func() (bool, error)) (bool, error) {
	ids, err := db.countAttempt(ctx, email, clientIP)
	if err != nil {
		return false, err
	}
	ok, err := check()
	if err != nil || !ok {
		return false, err
	}
	// Forgive even if the caller has gone: a right password is never
	// held against anyone.
	if _, err := db.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM auth_failures WHERE id = ANY($1)`, ids); err != nil {
		return false, fmt.Errorf("forgive successful attempt: %w", err)
	}
	return true, nil
}

// countAttempt records one attempt against the email's counter and the
// address's unless either already has its limit of attempts within
// FailureWindow, and returns the recorded ids.
//
// One round trip: a batch runs in one implicit transaction, so the
// advisory locks the first statement takes (always in this order, so no
// deadlocks) are held until the second has counted and inserted; and the
// second, a statement of its own, sees every attempt committed by whoever
// held the locks before.
func (db *DB) countAttempt(ctx context.Context, email, clientIP string) ([]int64, error) {
	keys := []string{"email:" + strings.ToLower(email), "ip:" + clientIP}
	limits := []int{MaxFailuresPerEmail, MaxFailuresPerAddress}
	var b pgx.Batch
	b.Queue(`
		SELECT pg_advisory_xact_lock(hashtextextended('signoff.auth:' || k, 0))
		FROM unnest($1::text[]) AS k`, keys)
	b.Queue(`
		WITH limited AS (
		    SELECT k.key FROM unnest($1::text[], $3::int[]) AS k (key, max_failures)
		    WHERE (SELECT count(*) FROM auth_failures f
		           WHERE f.key = k.key AND f.at > clock_timestamp() - $2::interval)
		          >= k.max_failures
		), recorded AS (
		    INSERT INTO auth_failures (key, at)
		    SELECT k, clock_timestamp() FROM unnest($1::text[]) AS k
		    WHERE NOT EXISTS (SELECT FROM limited)
		    RETURNING id
		)
		SELECT EXISTS (SELECT FROM limited), coalesce((SELECT array_agg(id) FROM recorded), '{}')`,
		keys, FailureWindow, limits)
	br := db.pool.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("count attempt: lock: %w", err)
	}
	var limited bool
	var ids []int64
	if err := br.QueryRow().Scan(&limited, &ids); err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	if limited {
		return nil, signoff.Errorf(signoff.ERATELIMIT, "Too many failed attempts. Wait %d minutes and try again.", int(FailureWindow.Minutes()))
	}
	return ids, nil
}

// SetPassword changes a person's password.
func (db *DB) SetPassword(ctx context.Context, userID int64, pw string, actor signoff.EventActor) error {
	if err := signoff.ValidatePassword(pw); err != nil {
		return err
	}
	hash, err := db.hashPassword(pw)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	_, err = db.changeSystem(ctx, "set password", func(tx pgx.Tx) (*signoff.Change, error) {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
		if err != nil {
			return nil, fmt.Errorf("set password of user %d: %w", userID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil, signoff.Errorf(signoff.ENOTFOUND, "Person %d not found.", userID)
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.UserPasswordEvent{After: signoff.UserPasswordAfter{Password: "changed"}})
		return &ch, nil
	})
	return err
}
