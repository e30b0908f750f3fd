package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// SignInput is an electronic signature request. The signer proves it is
// them again every time (21 CFR Part 11 §11.200): with their password,
// which Sign checks, or with a passkey or a fresh single sign-on, which
// the web layer verified (Reauthenticated). The signature records which.
type SignInput struct {
	DeploymentID int64
	Slot         int
	UserID       int64
	Password     string
	// Reauthenticated is a credential other than the password that the
	// caller has just verified for UserID: a passkey assertion with user
	// verification, or an SSO login with a fresh auth_time. When set,
	// Password is not used.
	Reauthenticated *signoff.SignedWith
	Via             string // "web"; tokens never reach here
	// Seen is the checklist state the sign page showed. When set (the web
	// always sets it), a checklist that changed since is not signed.
	Seen *signoff.Seen
}

// reauthenticate is the signer's re-entry of credentials: the one step of
// signing that differs by credential. It runs before the deployment is
// locked (a password hash is slow on purpose).
func (db *DB) reauthenticate(ctx context.Context, in SignInput) (signoff.SignedWith, error) {
	if in.Reauthenticated != nil {
		return *in.Reauthenticated, nil
	}
	if err := db.CheckPassword(ctx, in.UserID, in.Password); err != nil {
		if signoff.ErrorCode(err) == signoff.EUNAUTHORIZED {
			return signoff.SignedWith{}, signoff.Errorf(signoff.EUNAUTHORIZED, "The password is wrong; nothing was signed.")
		}
		return signoff.SignedWith{}, err
	}
	return signoff.SignedWith{Method: signoff.SignedWithPassword}, nil
}

// Sign verifies the password, then, holding the deployment's lock, checks
// the rules, hashes the checklist state and stores the signature. The final
// approval completes and locks the deployment in the same transaction.
func (db *DB) Sign(ctx context.Context, in SignInput) (*signoff.Signature, error) {
	// Someone who cannot hold the slot's role is told so before any
	// password is checked (and counted against them).
	var role string
	var holds bool
	err := db.pool.QueryRow(ctx, `
		SELECT ds.role_name, EXISTS (
		    SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		    JOIN users u ON u.id = ur.user_id
		    WHERE ur.user_id = $3 AND lower(r.name) = lower(ds.role_name) AND u.active AND NOT u.is_auditor)
		FROM deployment_slots ds
		WHERE ds.deployment_id = $1 AND ds.position = $2`, in.DeploymentID, in.Slot, in.UserID).Scan(&role, &holds)
	if err != nil {
		return nil, notFound(fmt.Errorf("sign: read slot %d: %w", in.Slot, err),
			"Deployment %d has no sign-off slot %d.", in.DeploymentID, in.Slot)
	}
	if !holds {
		return nil, signoff.Errorf(signoff.EFORBIDDEN, "Only a holder of the %s role can sign this slot.", role)
	}
	if in.Seen != nil && len(in.Seen.SHA256) != sha256.Size {
		return nil, signoff.Errorf(signoff.EINVALID, "The form did not say which checklist state you were shown; nothing was signed. Read the checklist and sign again.")
	}
	with, err := db.reauthenticate(ctx, in)
	if err != nil {
		return nil, err
	}
	var sig *signoff.Signature
	_, err = db.changeDeployment(ctx, in.DeploymentID, "sign", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		st, err := db.readSigningState(ctx, tx, in)
		if err != nil {
			return nil, err
		}
		if in.Seen != nil {
			events, err := deploymentEvents(ctx, tx, in.DeploymentID, in.Seen.AuditSeq, 0)
			if err != nil {
				return nil, err
			}
			hash := st.cl.StateHash(st.d.ID)
			if err := signoff.CheckSeen(*in.Seen, hash[:], events); err != nil {
				return nil, err
			}
		}
		if err := signoff.CheckSign(signoff.SignRequest{
			Deployment: st.d, Checklist: st.cl, Slots: st.slots, Slot: in.Slot, Signer: st.signer, AllowMultiple: st.t.AllowMultipleSlots,
		}); err != nil {
			return nil, err
		}
		var c *deploymentChange
		sig, c, err = insertSignature(ctx, tx, l, st, in, with)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// signingState is what a signature is checked against and bound to, read
// under the deployment's lock.
type signingState struct {
	d      *signoff.Deployment
	signer *signoff.User
	t      *signoff.Template
	cl     *signoff.Checklist
	slots  []signoff.Slot
}

func (db *DB) readSigningState(ctx context.Context, tx pgx.Tx, in SignInput) (*signingState, error) {
	var st signingState
	var err error
	st.d, err = scanDeployment(tx.QueryRow(ctx, `SELECT `+deploymentColumns+deploymentJoins+` WHERE d.id = $1`, in.DeploymentID))
	if err != nil {
		return nil, fmt.Errorf("sign: read deployment %d: %w", in.DeploymentID, err)
	}
	st.signer, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, in.UserID))
	if err != nil {
		return nil, fmt.Errorf("sign: read signer %d: %w", in.UserID, err)
	}
	if st.t, err = db.TemplateVersion(ctx, st.d.TemplateVersionID); err != nil {
		return nil, err
	}
	items, err := db.items(ctx, tx, st.d.ID, "")
	if err != nil {
		return nil, err
	}
	notes, err := db.notes(ctx, tx, st.d.ID)
	if err != nil {
		return nil, err
	}
	st.cl = signoff.NewChecklist(st.t, items, notes)
	if st.slots, err = db.slots(ctx, tx, st.d.ID); err != nil {
		return nil, err
	}
	return &st, nil
}

// insertSignature stores the signature of the slot in.Slot, bound to the
// checklist's state, superseding a stale one; the final approval
// completes and locks the deployment. It returns the signature and the
// change to record.
func insertSignature(ctx context.Context, tx pgx.Tx, l *lockedDeployment, st *signingState, in SignInput, with signoff.SignedWith) (*signoff.Signature, *deploymentChange, error) {
	var slot signoff.Slot
	for _, s := range st.slots {
		if s.Position == in.Slot {
			slot = s
		}
	}
	hash := st.cl.StateHash(st.d.ID)
	sig := &signoff.Signature{
		DeploymentID: st.d.ID, Slot: slot.Position, Role: slot.Role,
		Signer:  signoff.UserRef{ID: st.signer.ID, Name: st.signer.Name},
		Meaning: signoff.Meaning(slot.Role), SignedAt: l.Now,
		ChecklistHash: hash[:], ChecklistRev: l.ChecklistRev, AuditSeq: l.AuditSeq + 1,
	}
	// A stale signature on this slot is replaced by the new one.
	if slot.Signature != nil {
		if _, err := tx.Exec(ctx, `
			UPDATE signoffs SET ended_at = $2, ended_by = $3, end_reason = 'superseded'
			WHERE id = $1`, slot.Signature.ID, l.Now, st.signer.ID); err != nil {
			return nil, nil, fmt.Errorf("sign: supersede signature %d: %w", slot.Signature.ID, err)
		}
	}
	// The signer's own request for changes ends with their signature.
	if rj := slot.Rejection; rj != nil {
		if _, err := tx.Exec(ctx, `
			UPDATE signoff_rejections SET ended_at = $2, end_reason = 'signed' WHERE id = $1`, rj.ID, l.Now); err != nil {
			return nil, nil, fmt.Errorf("sign: end request for changes %d: %w", rj.ID, err)
		}
	}
	err := tx.QueryRow(ctx, `
		INSERT INTO signoffs (deployment_id, slot, role_name, signer_id, signer_name, meaning,
		                      signed_at, checklist_hash, checklist_rev, audit_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id`, sig.DeploymentID, sig.Slot, sig.Role, sig.Signer.ID, sig.Signer.Name, sig.Meaning,
		sig.SignedAt, sig.ChecklistHash, sig.ChecklistRev, sig.AuditSeq).Scan(&sig.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: insert signature: %w", err)
	}

	ev := &signoff.SignoffSignEvent{After: signoff.SignoffSignAfter{
		Slot: sig.Slot, Role: sig.Role, SignerID: sig.Signer.ID, PrintedName: sig.Signer.Name,
		Meaning: sig.Meaning, ChecklistSHA256: hex.EncodeToString(sig.ChecklistHash),
		ChecklistRev: sig.ChecklistRev, MultipleSlots: st.t.AllowMultipleSlots, SignedWith: &with,
	}}
	var w deploymentWrite
	if signoff.Locks(st.slots, slot.Position, l.ChecklistRev) {
		completed := signoff.StatusCompleted
		w.status = &completed
		ev.After.Status, ev.After.Locked = completed, true
		if _, err := tx.Exec(ctx, `
			UPDATE deployments SET locked_at = $2, completed_at = $2 WHERE id = $1`, st.d.ID, l.Now); err != nil {
			return nil, nil, fmt.Errorf("sign: lock deployment %d: %w", st.d.ID, err)
		}
	}
	if slot.Signature != nil {
		ev.Before = &signoff.SignoffSignBefore{Signature: slot.Signature.ID, SignerID: slot.Signature.Signer.ID,
			PrintedName: slot.Signature.Signer.Name, State: "stale"}
	}
	return sig, &deploymentChange{Change: signoff.NewChange(
		signoff.EventActor{ID: st.signer.ID, Name: st.signer.Name, Via: in.Via}, signoff.SlotTarget(sig.Slot), ev), write: w}, nil
}

// Revoke withdraws a standing signature, with a reason. The signer may
// revoke their own; an admin may revoke anyone's. A locked deployment's
// signatures stand for ever.
func (db *DB) Revoke(ctx context.Context, deploymentID int64, slotPos int, reason string, by *signoff.User, via string) error {
	reason = strings.TrimSpace(reason)
	if err := signoff.ValidateText("Reason for revoking", reason, 1, signoff.MaxReasonLen); err != nil {
		return err
	}
	_, err := db.changeDeployment(ctx, deploymentID, "revoke", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		var sigID, signerID int64
		var signerName, role string
		err := tx.QueryRow(ctx, `
			SELECT id, signer_id, signer_name, role_name FROM signoffs
			WHERE deployment_id = $1 AND slot = $2 AND ended_at IS NULL`, deploymentID, slotPos).
			Scan(&sigID, &signerID, &signerName, &role)
		if err != nil {
			return nil, notFound(fmt.Errorf("revoke slot %d: %w", slotPos, err), "Slot %d of deployment %d is not signed.", slotPos, deploymentID)
		}
		if signerID != by.ID && !by.IsAdmin {
			return nil, signoff.Errorf(signoff.EFORBIDDEN, "Only %s or an admin can revoke this signature.", signerName)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE signoffs SET ended_at = $2, ended_by = $3, end_reason = $4 WHERE id = $1`,
			sigID, l.Now, by.ID, reason); err != nil {
			return nil, fmt.Errorf("revoke signature %d: %w", sigID, err)
		}
		return &deploymentChange{Change: signoff.NewChange(
			signoff.EventActor{ID: by.ID, Name: by.Name, Via: via}, signoff.SlotTarget(slotPos), &signoff.SignoffRevokeEvent{
				Before: signoff.SignoffRevokeBefore{Signature: sigID, Role: role, PrintedName: signerName},
				After:  signoff.SignoffRevokeAfter{Revoked: true, Reason: reason},
			})}, nil
	})
	return err
}

// Slots returns a deployment's sign-off slots with their standing signatures.
func (db *DB) Slots(ctx context.Context, deploymentID int64) ([]signoff.Slot, error) {
	return db.slots(ctx, db.pool, deploymentID)
}

var slotsSQL = `
		SELECT ds.position, ds.group_name, ds.role_name, ds.final, ds.above, ds.go_no_go,
		       ` + aboveChanged("s") + `,
		       s.id, s.signer_id, s.signer_name, s.meaning, s.signed_at,
		       s.checklist_hash, s.checklist_rev, s.audit_seq,
		       rj.id, rj.user_id, rj.user_name, rj.comment, rj.created_at
		FROM deployment_slots ds
		LEFT JOIN signoffs s ON s.deployment_id = ds.deployment_id
		     AND s.slot = ds.position AND s.ended_at IS NULL
		LEFT JOIN signoff_rejections rj ON rj.deployment_id = ds.deployment_id
		     AND rj.slot = ds.position AND rj.ended_at IS NULL
		WHERE ds.deployment_id = $1
		ORDER BY ds.position`

// aboveChanged is whether an item above a gate (slot alias ds) changed
// after its standing signature (alias sig) was given: a gate's signature
// goes stale then. Event times rise along a deployment's chain, so an
// item's state_at after the signature's time is a change after it.
func aboveChanged(sig string) string {
	return `(ds.above > 0 AND NOT ds.final AND ` + sig + `.id IS NOT NULL AND EXISTS (
		    SELECT 1 FROM deployment_items_all ai
		    WHERE ai.deployment_id = ds.deployment_id AND ai.position <= ds.above
		      AND ai.state_at > ` + sig + `.signed_at))`
}

// fresh is whether the standing signature sig on slot ds of deployment d
// is fresh (signoff.Slot.State).
func fresh(sig string) string {
	return `(CASE WHEN ds.above > 0 AND NOT ds.final THEN NOT ` + aboveChanged(sig) + `
		     ELSE ` + sig + `.checklist_rev = d.checklist_rev END)`
}

func (db *DB) slots(ctx context.Context, q querier, deploymentID int64) ([]signoff.Slot, error) {
	rows, err := q.Query(ctx, slotsSQL, deploymentID)
	return scanSlots(rows, err, deploymentID)
}

func scanSlots(rows pgx.Rows, err error, deploymentID int64) ([]signoff.Slot, error) {
	if err != nil {
		return nil, fmt.Errorf("slots of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.Slot
	// Declared once for every row (Scan sets each, nil for NULL): declared
	// per row, each escaped to the heap afresh.
	var (
		id, signerID, rev, seq *int64
		signer, meaning        *string
		signedAt               *time.Time
		hash                   []byte
		rjID, rjBy             *int64
		rjName, rjComment      *string
		rjAt                   *time.Time
	)
	for rows.Next() {
		var s signoff.Slot
		if err := rows.Scan(&s.Position, &s.Group, &s.Role, &s.Final, &s.Above, &s.GoNoGo, &s.AboveChanged,
			&id, &signerID, &signer, &meaning, &signedAt, &hash, &rev, &seq,
			&rjID, &rjBy, &rjName, &rjComment, &rjAt); err != nil {
			return nil, fmt.Errorf("slots of deployment %d: %w", deploymentID, err)
		}
		if id != nil {
			s.Signature = &signoff.Signature{
				ID: *id, DeploymentID: deploymentID, Slot: s.Position, Role: s.Role,
				Signer:  signoff.UserRef{ID: *signerID, Name: *signer},
				Meaning: *meaning, SignedAt: *signedAt, ChecklistHash: hash, ChecklistRev: *rev, AuditSeq: *seq,
			}
		}
		if rjID != nil {
			s.Rejection = &signoff.Rejection{ID: *rjID, Slot: s.Position,
				By: signoff.UserRef{ID: *rjBy, Name: *rjName}, Comment: *rjComment, At: *rjAt}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Signatures lists every signature a deployment has had, standing or
// ended, in the order the audit chain records them.
func (db *DB) Signatures(ctx context.Context, deploymentID int64) ([]signoff.Signature, error) {
	return signatures(ctx, db.pool, deploymentID)
}

const signaturesSQL = `
		SELECT s.id, s.slot, s.role_name, s.signer_id, s.signer_name, s.meaning, s.signed_at,
		       s.checklist_hash, s.checklist_rev, s.audit_seq, s.ended_at, s.ended_by, e.name,
		       coalesce(s.end_reason, '')
		FROM signoffs s
		LEFT JOIN users e ON e.id = s.ended_by
		WHERE s.deployment_id = $1
		ORDER BY s.audit_seq, s.id`

// signatures is Signatures on q: the pool, or an export's snapshot.
func signatures(ctx context.Context, q querier, deploymentID int64) ([]signoff.Signature, error) {
	rows, err := q.Query(ctx, signaturesSQL, deploymentID)
	if err != nil {
		return nil, fmt.Errorf("signatures of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.Signature
	for rows.Next() {
		s := signoff.Signature{DeploymentID: deploymentID}
		var endedBy *int64
		var endedByName *string
		if err := rows.Scan(&s.ID, &s.Slot, &s.Role, &s.Signer.ID, &s.Signer.Name, &s.Meaning, &s.SignedAt,
			&s.ChecklistHash, &s.ChecklistRev, &s.AuditSeq, &s.EndedAt, &endedBy, &endedByName, &s.EndReason); err != nil {
			return nil, fmt.Errorf("signatures of deployment %d: %w", deploymentID, err)
		}
		if endedBy != nil && endedByName != nil {
			s.EndedBy = &signoff.UserRef{ID: *endedBy, Name: *endedByName}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AwaitingSlot is a slot a person could sign, on a deployment still open.
type AwaitingSlot struct {
	Deployment *signoff.Deployment
	Slot       int
	Role       string
	Final      bool
	Stale      bool // a signature stands but the checklist changed since
}

// awaitingSQL reads the deployments that can still be signed (a partial
// index holds those, migrations/0020), and for each its slots of the
// person's roles, their signatures and counts, each by its index:
// finished deployments, however many, cost nothing. OFFSET 0 keeps the
// slots a probe per deployment: flattened into a join, PostgreSQL would
// rather read every slot of every deployment once.
// (A var: fresh builds its SQL.)
var awaitingSQL = `
		SELECT ` + deploymentColumns + `, ds.position, ds.role_name, ds.final, s.id IS NOT NULL,
		       p.total, p.done, p.na
		` + deploymentJoins + `
		CROSS JOIN LATERAL (
		    SELECT ds.deployment_id, ds.position, ds.role_name, ds.final, ds.above FROM deployment_slots ds
		    WHERE ds.deployment_id = d.id AND lower(ds.role_name) IN (
		        SELECT lower(r.name) FROM roles r JOIN user_roles ur ON ur.role_id = r.id AND ur.user_id = $1)
		    OFFSET 0
		) ds
		LEFT JOIN LATERAL (
		    SELECT sg.id, sg.checklist_rev, sg.signed_at FROM signoffs sg
		    WHERE sg.deployment_id = d.id AND sg.slot = ds.position AND sg.ended_at IS NULL
		    OFFSET 0
		) s ON true
		CROSS JOIN LATERAL (` + progressSumsSQL + `) p
		WHERE d.locked_at IS NULL AND d.status <> 'aborted'
		  AND (s.id IS NULL OR NOT ` + fresh("s") + `)
		  -- Not a slot another person's request for changes holds.
		  AND NOT EXISTS (
		      SELECT 1 FROM signoff_rejections rj
		      WHERE rj.deployment_id = d.id AND rj.slot = ds.position
		        AND rj.ended_at IS NULL AND rj.user_id <> $1)
		  -- One person, one slot: not offered a second one (unless allowed).
		  AND (t.allow_multiple_slots OR NOT EXISTS (
		      SELECT 1 FROM signoffs mine
		      WHERE mine.deployment_id = d.id AND mine.signer_id = $1
		        AND mine.ended_at IS NULL AND mine.slot <> ds.position))
		ORDER BY d.created_at DESC, ds.position`

// AwaitingSignature lists the open deployments' slots whose role the person
// holds and that lack a fresh signature: "my sign-offs".
func (db *DB) AwaitingSignature(ctx context.Context, userID int64) ([]AwaitingSlot, error) {
	rows, err := db.pool.Query(ctx, awaitingSQL, userID)
	if err != nil {
		return nil, fmt.Errorf("slots awaiting user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []AwaitingSlot
	for rows.Next() {
		var a AwaitingSlot
		var total, done, na int
		d, err := scanDeployment(rows, &a.Slot, &a.Role, &a.Final, &a.Stale, &total, &done, &na)
		if err != nil {
			return nil, fmt.Errorf("slots awaiting user %d: %w", userID, err)
		}
		d.Progress = signoff.Progress{Total: total, Done: done, NA: na}
		a.Deployment = d
		out = append(out, a)
	}
	return out, rows.Err()
}

// Reject records a role holder's request for changes on their slot, with
// what must change: the slot (and its gate) is held until they withdraw
// it or sign.
func (db *DB) Reject(ctx context.Context, deploymentID int64, slotPos int, comment string, by *signoff.User, via string) error {
	comment = strings.TrimSpace(comment)
	_, err := db.changeDeployment(ctx, deploymentID, "reject", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		d, err := readDeployment(ctx, tx, deploymentID)
		if err != nil {
			return nil, err
		}
		slots, err := db.slots(ctx, tx, deploymentID)
		if err != nil {
			return nil, err
		}
		slot, err := signoff.CheckReject(d, slots, slotPos, by)
		if err != nil {
			return nil, err
		}
		// Checked after the role, so only a holder hears about the comment.
		if err := signoff.ValidateText("What must change", comment, 1, signoff.MaxCommentLen); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO signoff_rejections (deployment_id, slot, user_id, user_name, comment, created_at, audit_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, deploymentID, slotPos, by.ID, by.Name, comment, l.Now, l.AuditSeq+1); err != nil {
			return nil, fmt.Errorf("reject slot %d: %w", slotPos, err)
		}
		return &deploymentChange{Change: signoff.NewChange(
			signoff.EventActor{ID: by.ID, Name: by.Name, Via: via}, signoff.SlotTarget(slotPos), &signoff.SignoffRejectEvent{
				After: signoff.SignoffRejectAfter{Comment: comment, PrintedName: by.Name, Role: slot.Role, UserID: by.ID},
			})}, nil
	})
	return err
}

// Withdraw ends a standing request for changes; only the person who made
// it may.
func (db *DB) Withdraw(ctx context.Context, deploymentID int64, slotPos int, by *signoff.User, via string) error {
	_, err := db.changeDeployment(ctx, deploymentID, "withdraw", func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error) {
		d := signoff.Deployment{Status: l.Status, LockedAt: l.LockedAt}
		if err := d.Writable(); err != nil {
			return nil, err
		}
		var id, userID, seq int64
		var name, comment string
		err := tx.QueryRow(ctx, `
			SELECT id, user_id, user_name, comment, audit_seq FROM signoff_rejections
			WHERE deployment_id = $1 AND slot = $2 AND ended_at IS NULL`, deploymentID, slotPos).
			Scan(&id, &userID, &name, &comment, &seq)
		if err != nil {
			return nil, notFound(fmt.Errorf("withdraw on slot %d: %w", slotPos, err),
				"Nobody asked for changes on slot %d of deployment %d.", slotPos, deploymentID)
		}
		if userID != by.ID {
			return nil, signoff.Errorf(signoff.EFORBIDDEN, "Only %s can withdraw their request for changes.", name)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE signoff_rejections SET ended_at = $2, end_reason = 'withdrawn' WHERE id = $1`, id, l.Now); err != nil {
			return nil, fmt.Errorf("withdraw request for changes %d: %w", id, err)
		}
		return &deploymentChange{Change: signoff.NewChange(
			signoff.EventActor{ID: by.ID, Name: by.Name, Via: via}, signoff.SlotTarget(slotPos), &signoff.SignoffWithdrawEvent{
				Before: signoff.SignoffWithdrawBefore{Comment: comment, PrintedName: name, RejectedSeq: seq},
				After:  signoff.SignoffWithdrawAfter{Withdrawn: true},
			})}, nil
	})
	return err
}
