package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The database role split (issue 14). A table's owner can disable its
// triggers, so a server connected as the owner of audit_events could
// rewrite history in one transaction. Signoff therefore runs as a runtime
// role that owns nothing and may only read and append to the audit
// tables, and migrates as an owner role. The embedded cluster makes both
// roles (embeddedpg.Cluster.RoleURL) and applies what follows; with
// DATABASE_URL, an operator does the same by hand or sets
// MIGRATE_DATABASE_URL (docs/audit.md).

// Default role names of the embedded cluster.
const (
	OwnerRole   = "signoff_owner"
	RuntimeRole = "signoff_app"
)

// RuntimeGrantsSQL is what the runtime role may do, run as the owner after
// every migration (it is idempotent). docs/audit.md quotes it, and a test
// holds the two together. signoff_owner and signoff_app stand for the two
// roles' names.
const RuntimeGrantsSQL = `GRANT USAGE ON SCHEMA public TO signoff_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO signoff_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO signoff_app;
-- The audit trail and its log: append and read, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_log_entries, audit_log_hashes, evidence_files,
    audit_log_checkpoints, audit_log_cosignatures, audit_log_origin, audit_signing_keys, audit_sealed_chains
    FROM signoff_app;
-- Tables later migrations add:
ALTER DEFAULT PRIVILEGES FOR ROLE signoff_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO signoff_app;
ALTER DEFAULT PRIVILEGES FOR ROLE signoff_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO signoff_app;`

// RuntimeGrants returns RuntimeGrantsSQL for the named roles.
func RuntimeGrants(owner, runtime string) string {
	return strings.NewReplacer("signoff_owner", pgx.Identifier{owner}.Sanitize(),
		"signoff_app", pgx.Identifier{runtime}.Sanitize()).Replace(RuntimeGrantsSQL)
}

// GrantRuntime gives the runtime role what it needs, and nothing that
// changes history, connected as the owner at ownerURL.
func GrantRuntime(ctx context.Context, ownerURL, runtime string) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("grant the runtime role: connect: %s", redactConnectError(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var owner string
	if err := conn.QueryRow(ctx, `SELECT current_user`).Scan(&owner); err != nil {
		return fmt.Errorf("grant the runtime role: %w", err)
	}
	if owner == runtime {
		return fmt.Errorf("the runtime role %s cannot also be the owner that migrates", runtime)
	}
	if _, err := conn.Exec(ctx, RuntimeGrants(owner, runtime)); err != nil {
		return fmt.Errorf("grant the runtime role %s: %w", runtime, err)
	}
	return nil
}

// handOverSQL gives the owner role (named by the setting signoff.owner) the
// database's schema and every object in it: what an older embedded
// cluster, whose tables its superuser owned, needs before it migrates as
// the owner. Objects another object owns (an identity column's sequence)
// follow their owner.
const handOverSQL = `
DO $$
DECLARE
    owner text := current_setting('signoff.owner');
    r record;
BEGIN
    EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner);
    FOR r IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                              WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_get_userbyid(c.relowner) <> owner
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.name, owner);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS name,
               CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END AS kind
        FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> owner
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.name, owner);
    END LOOP;
    FOR r IN
        SELECT t.oid::regtype AS name, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind
        FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r')
          AND pg_get_userbyid(t.typowner) <> owner
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.name, owner);
    END LOOP;
END
$$`

// HandOver makes owner the owner of the database at superURL (connected
// as a superuser) and of everything in it, so that migrations run as
// owner, and takes from PUBLIC the right to create objects there.
func HandOver(ctx context.Context, superURL, owner string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return fmt.Errorf("hand the database to %s: connect: %s", owner, redactConnectError(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("hand the database to %s: %w", owner, err)
	}
	defer tx.Rollback(ctx)
	ident := pgx.Identifier{owner}.Sanitize()
	steps := []string{
		`ALTER DATABASE ` + pgx.Identifier{conn.Config().Database}.Sanitize() + ` OWNER TO ` + ident,
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
		handOverSQL,
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('signoff.owner', $1, true)`, owner); err != nil {
		return fmt.Errorf("hand the database to %s: %w", owner, err)
	}
	for _, q := range steps {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("hand the database to %s: %w", owner, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("hand the database to %s: %w", owner, err)
	}
	return nil
}

// redactConnectError keeps a malformed URL's password out of a message
// (pgx's connection errors name the user and database, never the password).
func redactConnectError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return redactParseError(err)
	}
	return err.Error()
}

// RewriteRisk says whether the role the app connects as could change the
// audit log: as a superuser, as (a member of) the owner of audit_events,
// or holding UPDATE, DELETE or TRUNCATE on it. The zero value is safe.
type RewriteRisk struct {
	Role      string
	Superuser bool
	Owner     bool
	Writable  bool
}

// AtRisk reports whether the role could rewrite history.
func (r RewriteRisk) AtRisk() bool { return r.Superuser || r.Owner || r.Writable }

// Warning is the sentence the start-up log, /readyz and the admin pages
// show, or "" when the role cannot rewrite the audit log.
func (r RewriteRisk) Warning() string {
	var why string
	switch {
	case r.Superuser:
		why = "a superuser"
	case r.Owner:
		why = "the owner of the audit tables"
	case r.Writable:
		why = "a role that may update or delete audit events"
	default:
		return ""
	}
	return fmt.Sprintf("the app connects to PostgreSQL as %s (%s), which can disable the audit log's protections and rewrite history; "+
		"run it as a role that owns nothing (see docs/audit.md, \"Running with a database role that cannot rewrite history\")", r.Role, why)
}

// RewriteRisk looks at the role the store connects as.
func (db *DB) RewriteRisk(ctx context.Context) (RewriteRisk, error) {
	var r RewriteRisk
	err := db.pool.QueryRow(ctx, `
		SELECT current_user, r.rolsuper, pg_has_role(current_user, c.relowner, 'USAGE'),
		       has_table_privilege('audit_events', 'UPDATE') OR has_table_privilege('audit_events', 'DELETE')
		           OR has_table_privilege('audit_events', 'TRUNCATE')
		FROM pg_roles r, pg_class c
		WHERE r.rolname = current_user AND c.oid = 'audit_events'::regclass`).Scan(&r.Role, &r.Superuser, &r.Owner, &r.Writable)
	if err != nil {
		return RewriteRisk{}, fmt.Errorf("read the app role's privileges: %w", err)
	}
	return r, nil
}
