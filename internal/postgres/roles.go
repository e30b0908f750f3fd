package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// RoleSummary is a role with how many people hold it.
type RoleSummary struct {
	signoff.Role
	Holders int
}

// Roles lists the role catalog.
func (db *DB) Roles(ctx context.Context) ([]RoleSummary, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT r.id, r.name,
		       (SELECT count(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id
		        WHERE ur.role_id = r.id AND u.active)
		FROM roles r ORDER BY r.id`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RoleSummary, error) {
		var s RoleSummary
		err := r.Scan(&s.ID, &s.Name, &s.Holders)
		return s, err
	})
}

// CreateRole adds a role to the catalog.
func (db *DB) CreateRole(ctx context.Context, name string, actor signoff.EventActor) (signoff.Role, error) {
	name = strings.TrimSpace(name)
	if err := signoff.ValidateText("Role name", name, 1, 100); err != nil {
		return signoff.Role{}, err
	}
	r := signoff.Role{Name: name}
	_, err := db.changeSystem(ctx, "create role", func(tx pgx.Tx) (*signoff.Change, error) {
		err := tx.QueryRow(ctx, `INSERT INTO roles (name) VALUES ($1) RETURNING id`, name).Scan(&r.ID)
		if isUniqueViolation(err, "roles_name_key") {
			return nil, signoff.Errorf(signoff.ECONFLICT, "A role named %q already exists.", name)
		}
		if err != nil {
			return nil, fmt.Errorf("create role %q: %w", name, err)
		}
		ch := signoff.NewChange(actor, signoff.RoleTarget(r.ID),
			&signoff.RoleCreateEvent{After: signoff.RoleCreateAfter{Name: name}})
		return &ch, nil
	})
	return r, err
}

// GrantRole gives a person a role.
func (db *DB) GrantRole(ctx context.Context, userID int64, role string, actor signoff.EventActor) error {
	_, err := db.changeSystem(ctx, "grant role", func(tx pgx.Tx) (*signoff.Change, error) {
		if err := lockUser(ctx, tx, userID); err != nil {
			return nil, err
		}
		granted, err := grantRoles(ctx, tx, userID, []string{role}, actor.ID)
		if err != nil {
			return nil, err
		}
		if len(granted) == 0 {
			return nil, nil // already held
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.RoleGrantEvent{After: signoff.UserRole{Role: granted[0]}})
		return &ch, nil
	})
	return err
}

// WithdrawRole takes a role away. Signatures already given stand: they
// were valid when made.
func (db *DB) WithdrawRole(ctx context.Context, userID int64, role string, actor signoff.EventActor) error {
	_, err := db.changeSystem(ctx, "withdraw role", func(tx pgx.Tx) (*signoff.Change, error) {
		if err := lockUser(ctx, tx, userID); err != nil {
			return nil, err
		}
		var name string
		err := tx.QueryRow(ctx, `
			DELETE FROM user_roles ur USING roles r
			WHERE ur.role_id = r.id AND ur.user_id = $1 AND lower(r.name) = lower($2)
			RETURNING r.name`, userID, strings.TrimSpace(role)).Scan(&name)
		if err != nil {
			return nil, notFound(fmt.Errorf("withdraw role %q: %w", role, err), "Person %d does not hold the role %q.", userID, role)
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.RoleWithdrawEvent{Before: signoff.UserRole{Role: name}})
		return &ch, nil
	})
	return err
}

func lockUser(ctx context.Context, tx pgx.Tx, userID int64) error {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&id)
	return notFound(err, "Person %d not found.", userID)
}

// SetActive deactivates or reactivates a person. Deactivating ends their
// sessions in the same transaction, so they are out at once.
func (db *DB) SetActive(ctx context.Context, userID int64, active bool, actor signoff.EventActor) error {
	if !active && userID == actor.ID {
		return signoff.Errorf(signoff.ECONFLICT, "You cannot deactivate yourself.")
	}
	_, err := db.changeSystem(ctx, "set active", func(tx pgx.Tx) (*signoff.Change, error) {
		var before bool
		err := tx.QueryRow(ctx, `
			UPDATE users u SET active = $2, deactivated_at = CASE WHEN $2 THEN NULL ELSE now() END
			FROM users old WHERE u.id = $1 AND old.id = u.id
			RETURNING old.active`, userID, active).Scan(&before)
		if err != nil {
			return nil, notFound(fmt.Errorf("set active of user %d: %w", userID, err), "Person %d not found.", userID)
		}
		if before == active {
			return nil, nil
		}
		if !active {
			// Delivered at commit: the person's live streams end everywhere.
			if _, err := tx.Exec(ctx, `
				WITH gone AS (DELETE FROM sessions WHERE user_id = $1)
				SELECT pg_notify('`+SessionChannel+`', $1::text)`, userID); err != nil {
				return nil, fmt.Errorf("end sessions of user %d: %w", userID, err)
			}
		}
		// The action, user.activate or user.deactivate, follows the new state.
		ch := signoff.NewChange(actor, signoff.UserTarget(userID), &signoff.UserActiveEvent{
			Before: signoff.UserActive{Active: before}, After: signoff.UserActive{Active: active}})
		return &ch, nil
	})
	return err
}

// SetPermissions changes whether a person is an admin and/or an auditor.
func (db *DB) SetPermissions(ctx context.Context, userID int64, admin, auditor bool, actor signoff.EventActor) error {
	if userID == actor.ID && !admin {
		return signoff.Errorf(signoff.ECONFLICT, "You cannot remove your own admin permission.")
	}
	_, err := db.changeSystem(ctx, "set permissions", func(tx pgx.Tx) (*signoff.Change, error) {
		var wasAdmin, wasAuditor bool
		err := tx.QueryRow(ctx, `
			UPDATE users u SET is_admin = $2, is_auditor = $3
			FROM users old WHERE u.id = $1 AND old.id = u.id
			RETURNING old.is_admin, old.is_auditor`, userID, admin, auditor).Scan(&wasAdmin, &wasAuditor)
		if err != nil {
			return nil, notFound(fmt.Errorf("set permissions of user %d: %w", userID, err), "Person %d not found.", userID)
		}
		if wasAdmin == admin && wasAuditor == auditor {
			return nil, nil
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID), &signoff.UserPermissionsEvent{
			Before: signoff.UserPermissions{Admin: wasAdmin, Auditor: wasAuditor},
			After:  signoff.UserPermissions{Admin: admin, Auditor: auditor}})
		return &ch, nil
	})
	return err
}
