package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// month adds what a team's month leaves behind, before the five
// deployments Fill describes: releases planned over four weeks, several
// in each state; comments from several people; a signature gone stale and
// one revoked with its reason; evidence files (a log, a screenshot); work
// assigned to people and to roles, so that everyone's My work has
// something in it. It returns how many deployments it made.
//
// Every write goes through the store, so every time is the database's
// clock at the moment demo runs: the planned dates spread over the month,
// the audit record cannot (its times are hashed and chained as they
// happen).
func month(ctx context.Context, db *postgres.DB, slug string, users map[string]*signoff.User, as func(string) signoff.EventActor) (int, error) {
	now := time.Now().UTC().Truncate(time.Hour)
	day := 24 * time.Hour
	type release struct {
		service, env, version string
		planned               time.Duration // from now
		share                 float64       // of the items resolved
		then                  string        // what happens next
	}
	releases := []release{
		{"billing-worker", "production", "v0.8.4", -27 * day, 1, "completed"},
		{"voxflow-web", "production", "v1.17.0", -24 * day, 1, "revoked"},
		{"notifications-gateway", "staging", "v3.1.0", -20 * day, 0.2, "aborted"},
		{"voxflow-api", "production", "v2.3.8", -17 * day, 0.9, "live"},
		{"search-indexer", "production", "v5.0.0", -13 * day, 1, "stale"},
		{"notifications-gateway", "production", "v3.1.1", -9 * day, 0.55, "assigned"},
		{"voxflow-web", "staging", "v1.19.0-rc.1", -5 * day, 0.1, "aborted"},
		{"billing-worker", "staging", "v0.9.0", 3 * day, 0, "draft"},
	}
	engineer := as("Deployment Engineer")
	for _, r := range releases {
		planned := now.Add(r.planned)
		d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: slug, Service: r.service,
			Environment: r.env, Version: r.version, PlannedAt: &planned}, engineer)
		if err != nil {
			return 0, fmt.Errorf("demo: %s %s: %w", r.service, r.version, err)
		}
		if r.share > 0 {
			if err := resolveAll(ctx, db, d, as, r.share); err != nil {
				return 0, err
			}
		}
		if r.share > 0 {
			if err := talk(ctx, db, d, as); err != nil {
				return 0, err
			}
		}
		if err := then(ctx, db, d, r.then, users, as); err != nil {
			return 0, fmt.Errorf("demo: %s %s (%s): %w", r.service, r.version, r.then, err)
		}
	}
	return len(releases), nil
}

// talk leaves what people say and show on a deployment: comments, and a
// file or two.
func talk(ctx context.Context, db *postgres.DB, d *signoff.Deployment, as func(string) signoff.EventActor) error {
	for _, c := range []struct{ path, role, body string }{
		{"1.1.2.3", "Database Administrator", "Connection pool at 40/100 on the replica; fine for the migration window."},
		{"1.2.1.1", "Security Engineer", "Scanner flagged one medium (CVE in a test-only dependency); accepted, ticket SEC-412."},
		{"1.2.1.1", "Deployment Engineer", "Thanks, linked the ticket in the release notes."},
		{"2.2.2.1", "Database Administrator", "Index build took 6m12s on the prod-sized copy."},
	} {
		if _, err := db.AddComment(ctx, d.ID, c.path, c.body, as(c.role)); err != nil {
			return fmt.Errorf("demo: comment on %s: %w", c.path, err)
		}
	}
	log := "$ ./verify-deployment.sh\n[ok] health endpoints (6/6)\n[ok] migrations at 0048\n[ok] TLS chain valid until 2027-03-02\n42 checks passed, 0 failed\n"
	if _, err := db.AddFile(ctx, d.ID, "1.2.1.2", postgres.Upload{Name: "verify-deployment.log", Data: []byte(log)}, as("DevOps Lead")); err != nil {
		return fmt.Errorf("demo: file: %w", err)
	}
	if _, err := db.AddCommentWithFile(ctx, d.ID, "1.1.3.2", "Certificate chain as served by the load balancer.",
		postgres.Upload{Name: "tls-chain.txt", Data: []byte("subject=CN=api.voxflow.example\nissuer=CN=R11, O=Let's Encrypt\nnotAfter=Mar  2 12:00:00 2027 GMT\n")},
		as("Security Engineer")); err != nil {
		return fmt.Errorf("demo: comment with a file: %w", err)
	}
	return nil
}

// then takes a deployment on to how the story ends.
func then(ctx context.Context, db *postgres.DB, d *signoff.Deployment, what string, users map[string]*signoff.User, as func(string) signoff.EventActor) error {
	engineer := as("Deployment Engineer")
	switch what {
	case "completed":
		return signAll(ctx, db, d.ID, users)
	case "revoked":
		// The DBA revoked after a late finding, then signed again; locked.
		if _, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: 2, UserID: users["Database Administrator"].ID, Password: Password, Via: "web"}); err != nil {
			return err
		}
		if err := db.Revoke(ctx, d.ID, 2, "Replication lag alert fired after I signed; re-checking before signing again.", users["Database Administrator"], "web"); err != nil {
			return err
		}
		return signAll(ctx, db, d.ID, users)
	case "aborted":
		_, err := db.SetStatus(ctx, d.ID, signoff.StatusAborted, "Smoke test failed on the payment callback; rolled back, fix in the next version.", engineer)
		return err
	case "live":
		_, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", engineer)
		return err
	case "stale":
		// Two signed, then an item was reopened and done again: both stale.
		for slot, role := range map[int]string{1: "Deployment Engineer", 2: "Database Administrator"} {
			if _, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: slot, UserID: users[role].ID, Password: Password, Via: "web"}); err != nil {
				return err
			}
		}
		for _, st := range []signoff.ItemState{signoff.ItemOpen, signoff.ItemDone} {
			if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "2.4.1.1", State: st}, as("DevOps Lead")); err != nil {
				return err
			}
		}
		return nil
	case "assigned":
		// The rest of the work handed out: a section to a role, items to people.
		roles, err := db.Roles(ctx)
		if err != nil {
			return err
		}
		for _, r := range roles {
			if r.Name == "DevOps Lead" {
				if _, err := db.Assign(ctx, d.ID, "3.2", postgres.AssignTo{Role: r.ID}, engineer); err != nil {
					return err
				}
			}
		}
		for path, role := range map[string]string{"3.3.1.1": "Deployment Engineer", "3.3.1.2": "Database Administrator", "3.4.1.1": "Security Engineer"} {
			if _, err := db.Assign(ctx, d.ID, path, postgres.AssignTo{User: users[role].ID}, engineer); err != nil {
				return err
			}
		}
		return nil
	}
	return nil // a draft stays as it is
}
