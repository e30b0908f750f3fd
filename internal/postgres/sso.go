package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// SSOIdentity is who an identity provider says signed in, from a verified
// ID token.
type SSOIdentity struct {
	Issuer, Subject string
	Email           string
	EmailVerified   bool
	Name            string
	// Access is what the provider's claims grant, when a mapping is
	// configured; nil leaves roles and permissions to admins.
	Access *SSOAccess
}

// SSOAccess is what a provider's claims grant: roles, and admin and
// auditor when those are mapped (nil: left as they are).
type SSOAccess struct {
	Roles          []string
	Admin, Auditor *bool
}

// SSOPolicy is what a single sign-on may do for someone Signoff does not
// know yet.
type SSOPolicy struct {
	RequireVerifiedEmail bool
	Create               bool
	AllowedDomains       []string // empty: any
}

// SSOSignIn finds the person a provider's identity is: by its issuer and
// subject, or, the first time, by their verified email (linking the
// account), or creates them if the policy allows. Their roles and
// permissions then follow the claims, if mapped. Each change (a link, a
// creation, a sync) is its own transaction and event; a sign-in that
// changes nothing records nothing.
func (db *DB) SSOSignIn(ctx context.Context, id SSOIdentity, p SSOPolicy) (*signoff.User, error) {
	var uid int64
	var active bool
	err := db.pool.QueryRow(ctx, `SELECT id, active FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`,
		id.Issuer, id.Subject).Scan(&uid, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if uid, err = db.ssoFirstSignIn(ctx, id, p); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("sso sign-in: %w", err)
	case !active:
		return nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Your Signoff account is deactivated. Ask an admin.")
	}
	if id.Access != nil {
		if err := db.syncAccess(ctx, uid, *id.Access); err != nil {
			return nil, err
		}
	}
	return db.User(ctx, uid)
}

// ssoFirstSignIn links or creates the person for an identity seen for the
// first time.
func (db *DB) ssoFirstSignIn(ctx context.Context, id SSOIdentity, p SSOPolicy) (int64, error) {
	email := strings.TrimSpace(id.Email)
	if signoff.ValidateEmail(email) != nil {
		return 0, signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider sent no usable email address, so Signoff cannot tell who you are.")
	}
	if p.RequireVerifiedEmail && !id.EmailVerified {
		return 0, signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider does not say %s is verified, so Signoff will not link or create an account for it.", email)
	}
	var uid int64
	_, err := db.changeSystem(ctx, "link sso account", func(tx pgx.Tx) (*signoff.Change, error) {
		var name, issuer string
		var active bool
		err := tx.QueryRow(ctx, `
			SELECT id, name, active, coalesce(oidc_issuer, '') FROM users WHERE lower(email) = lower($1) FOR UPDATE`,
			email).Scan(&uid, &name, &active, &issuer)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil // nobody: maybe created below
		}
		if err != nil {
			return nil, fmt.Errorf("sso sign-in: find %s: %w", email, err)
		}
		switch {
		case !active:
			return nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Your Signoff account is deactivated. Ask an admin.")
		case issuer != "":
			return nil, signoff.Errorf(signoff.EUNAUTHORIZED, "The Signoff account for %s is linked to another identity-provider account.", email)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET oidc_issuer = $2, oidc_subject = $3 WHERE id = $1`, uid, id.Issuer, id.Subject); err != nil {
			return nil, fmt.Errorf("sso sign-in: link user %d: %w", uid, err)
		}
		ch := signoff.NewChange(signoff.EventActor{ID: uid, Name: name, Via: "sso"}, signoff.UserTarget(uid),
			&signoff.SSOLinkEvent{After: signoff.SSOLinkAfter{Issuer: id.Issuer, Subject: id.Subject}})
		return &ch, nil
	})
	if err != nil || uid != 0 {
		return uid, err
	}
	return db.ssoCreate(ctx, id, email, p)
}

// ssoCreate creates a person at their first single sign-on.
func (db *DB) ssoCreate(ctx context.Context, id SSOIdentity, email string, p SSOPolicy) (int64, error) {
	_, domain, _ := strings.Cut(strings.ToLower(email), "@")
	if !p.Create || len(p.AllowedDomains) > 0 && !slices.ContainsFunc(p.AllowedDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return 0, signoff.Errorf(signoff.EUNAUTHORIZED, "There is no Signoff account for %s. Ask an admin to invite you.", email)
	}
	name := strings.TrimSpace(id.Name)
	if name == "" {
		name = email
	}
	n := signoff.NewUser{Email: email, Name: name}
	if a := id.Access; a != nil {
		n.Roles = a.Roles
		n.IsAdmin = a.Admin != nil && *a.Admin
		n.IsAuditor = a.Auditor != nil && *a.Auditor
	}
	if err := signoff.ValidateEmail(n.Email); err != nil {
		return 0, err
	}
	if err := signoff.ValidateText("Name", n.Name, 1, 200); err != nil {
		return 0, err
	}
	var uid int64
	_, err := db.changeSystem(ctx, "create sso user", func(tx pgx.Tx) (*signoff.Change, error) {
		err := tx.QueryRow(ctx, `
			INSERT INTO users (email, name, password_hash, is_admin, is_auditor, oidc_issuer, oidc_subject)
			VALUES ($1, $2, NULL, $3, $4, $5, $6)
			RETURNING id`, n.Email, n.Name, n.IsAdmin, n.IsAuditor, id.Issuer, id.Subject).Scan(&uid)
		if isUniqueViolation(err, "") {
			return nil, signoff.Errorf(signoff.ECONFLICT, "A person with email %s was just added; sign in again.", n.Email)
		}
		if err != nil {
			return nil, fmt.Errorf("create sso user %s: %w", n.Email, err)
		}
		roles, err := grantKnownRoles(ctx, tx, uid, n.Roles)
		if err != nil {
			return nil, err
		}
		ch := signoff.NewChange(signoff.EventActor{ID: uid, Name: n.Name, Via: "sso"}, signoff.UserTarget(uid),
			&signoff.SSOCreateEvent{After: signoff.SSOCreateAfter{Admin: n.IsAdmin, Auditor: n.IsAuditor, Email: n.Email,
				Issuer: id.Issuer, Name: n.Name, Roles: roles, Subject: id.Subject}})
		return &ch, nil
	})
	return uid, err
}

// grantKnownRoles grants the roles of names that exist (a mapping that
// names a role nobody created grants nothing) and returns them, sorted.
func grantKnownRoles(ctx context.Context, tx pgx.Tx, userID int64, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO user_roles (user_id, role_id)
		SELECT $1, id FROM roles WHERE lower(name) = ANY (SELECT lower(n) FROM unnest($2::text[]) AS n)
		ON CONFLICT DO NOTHING
		RETURNING (SELECT name FROM roles WHERE id = role_id)`, userID, names)
	if err != nil {
		return nil, fmt.Errorf("grant roles to user %d: %w", userID, err)
	}
	granted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("grant roles to user %d: %w", userID, err)
	}
	slices.Sort(granted)
	return granted, nil
}

// syncAccess sets a person's roles (and admin and auditor, when mapped)
// to what the provider's claims grant, recording the change if any.
func (db *DB) syncAccess(ctx context.Context, uid int64, a SSOAccess) error {
	_, err := db.changeSystem(ctx, "sync sso access", func(tx pgx.Tx) (*signoff.Change, error) {
		var before signoff.UserAccess
		var name string
		err := tx.QueryRow(ctx, `
			SELECT name, is_admin, is_auditor,
			       (SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id)
			FROM users u WHERE id = $1 FOR UPDATE`, uid).Scan(&name, &before.Admin, &before.Auditor, &before.Roles)
		if err != nil {
			return nil, fmt.Errorf("sync access of user %d: %w", uid, err)
		}
		after := before
		if a.Admin != nil {
			after.Admin = *a.Admin
		}
		if a.Auditor != nil {
			after.Auditor = *a.Auditor
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM user_roles ur USING roles r
			WHERE ur.role_id = r.id AND ur.user_id = $1
			  AND lower(r.name) <> ALL (SELECT lower(n) FROM unnest($2::text[]) AS n)`, uid, a.Roles); err != nil {
			return nil, fmt.Errorf("sync access of user %d: withdraw: %w", uid, err)
		}
		if _, err := grantKnownRoles(ctx, tx, uid, a.Roles); err != nil {
			return nil, err
		}
		if err := tx.QueryRow(ctx, `
			UPDATE users u SET is_admin = $2, is_auditor = $3 WHERE id = $1
			RETURNING (SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id)`,
			uid, after.Admin, after.Auditor).Scan(&after.Roles); err != nil {
			return nil, fmt.Errorf("sync access of user %d: %w", uid, err)
		}
		if before.Admin == after.Admin && before.Auditor == after.Auditor && slices.Equal(before.Roles, after.Roles) {
			return nil, nil // nothing changed: nothing committed, nothing recorded
		}
		ch := signoff.NewChange(signoff.EventActor{ID: uid, Name: name, Via: "sso"}, signoff.UserTarget(uid),
			&signoff.UserSyncEvent{Before: before, After: after})
		return &ch, nil
	})
	return err
}

// SSOSubject is the identity-provider account a person is linked to.
func (db *DB) SSOSubject(ctx context.Context, userID int64) (issuer, subject string, err error) {
	err = db.pool.QueryRow(ctx, `SELECT coalesce(oidc_issuer, ''), coalesce(oidc_subject, '') FROM users WHERE id = $1`, userID).Scan(&issuer, &subject)
	if err != nil {
		return "", "", notFound(fmt.Errorf("sso subject of user %d: %w", userID, err), "Person %d not found.", userID)
	}
	return issuer, subject, nil
}
