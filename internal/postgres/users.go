package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
	u.password_hash IS NOT NULL, coalesce(u.oidc_issuer, ''),
	coalesce((SELECT array_agg(r.id ORDER BY r.id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '{}'),
	coalesce((SELECT array_agg(r.name ORDER BY r.id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '{}')`

// scanUser reads userColumns, then any extra columns into extra.
func scanUser(row pgx.Row, extra ...any) (*signoff.User, error) {
	var u userScan
	if err := row.Scan(append(u.dest(), extra...)...); err != nil {
		return nil, err
	}
	return u.user(), nil
}

// userScan receives userColumns, for queries that read them among others.
type userScan struct {
	u     signoff.User
	ids   []int64
	names []string
}

func (s *userScan) dest() []any {
	u := &s.u
	return []any{&u.ID, &u.Email, &u.Name, &u.IsAdmin, &u.IsAuditor, &u.Active, &u.CreatedAt, &u.HasPassword, &u.SSOIssuer, &s.ids, &s.names}
}

func (s *userScan) user() *signoff.User {
	for i := range s.ids {
		s.u.Roles = append(s.u.Roles, signoff.Role{ID: s.ids[i], Name: s.names[i]})
	}
	return &s.u
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

// SetPassword changes a person's password.
func (db *DB) SetPassword(ctx context.Context, userID int64, pw string, actor signoff.EventActor) error {
	u, err := db.User(ctx, userID)
	if err != nil {
		return err
	}
	if err := signoff.ValidatePassword(pw, u.Email, u.Name); err != nil {
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
