package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/live"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

const fillUsage = "usage: signoff fill -n N [--seed S] [--span 26280h] [--log=false]"

// cmdFill adds N realistic deployments of the seed template, for
// measuring the app at scale (docs/performance.md).
func cmdFill(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fill", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "deployments to add")
	seed := fs.Uint64("seed", 1, "the same seed makes the same mix and names")
	span := fs.Duration("span", 3*365*24*time.Hour, "creation times spread over this, up to now")
	withLog := fs.Bool("log", true, "append the events to the transparency log as they are added")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *n <= 0 {
		return usageError(fillUsage)
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.DB.EnsureTemplate(ctx, checklist.Seed); err != nil {
		return err
	}
	if *withLog {
		signer, err := app.Signer(ctx)
		if err != nil {
			return err
		}
		if err := app.openLog(ctx, signer); err != nil {
			return err
		}
	}
	start := time.Now()
	rep, err := app.DB.Fill(ctx, postgres.FillOptions{N: *n, Seed: *seed, Span: *span, Integrate: *withLog,
		Progress: func(done, events int) {
			fmt.Fprintf(stderr, "\r%d of %d deployments, %d events (%s)", done, *n, events, time.Since(start).Round(time.Second))
		}})
	fmt.Fprintln(stderr)
	if err != nil {
		return errors.New(messageOf(err))
	}
	var mix []string
	for _, st := range []signoff.Status{signoff.StatusCompleted, signoff.StatusAborted, signoff.StatusLive,
		signoff.StatusInProgress, signoff.StatusDraft} {
		mix = append(mix, fmt.Sprintf("%d %s", rep.ByStatus[st], st))
	}
	fmt.Fprintf(stdout, "added %d deployments (%s) and %d audit events in %s\n",
		rep.Deployments, strings.Join(mix, ", "), rep.Events, time.Since(start).Round(time.Millisecond))
	return nil
}

// benchOp is one read a page, a search or an export makes.
type benchOp struct {
	name string
	run  func(ctx context.Context) error
}

// cmdBenchScale times every list, filter and audit search, the
// deployment page's reads and a single export against the database as it
// is (fill it first), and prints a Markdown table. Each is run until
// PostgreSQL would have turned its statements generic, then timed.
func cmdBenchScale(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-scale", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runs := fs.Int("runs", 30, "timed runs of each operation (after 10 untimed)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *runs <= 0 {
		return usageError("usage: signoff bench-scale [--runs N]")
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	signer, err := app.Signer(ctx)
	if err != nil {
		return err
	}
	if err := app.openLog(ctx, signer); err != nil {
		return err
	}
	ops, total, err := scaleOps(ctx, app.DB, signer)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d deployments; median and 90th percentile of %d runs each\n\n", total, *runs)
	fmt.Fprintln(stdout, "| Operation | median | p90 |")
	fmt.Fprintln(stdout, "| --- | --- | --- |")
	for _, op := range ops {
		times := make([]time.Duration, 0, *runs)
		for i := range *runs + 10 {
			start := time.Now()
			if err := op.run(ctx); err != nil {
				return fmt.Errorf("%s: %w", op.name, err)
			}
			if i >= 10 {
				times = append(times, time.Since(start))
			}
		}
		slices.Sort(times)
		fmt.Fprintf(stdout, "| %s | %s | %s |\n", op.name, ms(times[len(times)/2]), ms(times[len(times)*9/10]))
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// scaleOps are the reads to time: what the list page, the audit
// workspace, "my sign-offs", the deployment page, an export and the
// notifier's sweeps ask of the database, with the filters people use.
func scaleOps(ctx context.Context, db *postgres.DB, signer *audit.Signer) ([]benchOp, int, error) {
	total, err := db.CountDeployments(ctx)
	if err != nil {
		return nil, 0, err
	}
	if total == 0 {
		return nil, 0, errors.New("no deployments: run signoff fill first")
	}
	var completed *signoff.Deployment
	done, err := db.Deployments(ctx, signoff.DeploymentFilter{Status: signoff.StatusCompleted, Limit: 1, Offset: 0})
	if err != nil {
		return nil, 0, err
	}
	if len(done) > 0 {
		completed = done[0]
	}
	var holder int64
	if completed != nil {
		slots, err := db.Slots(ctx, completed.ID)
		if err != nil {
			return nil, 0, err
		}
		if len(slots) > 0 && slots[0].Signature != nil {
			holder = slots[0].Signature.Signer.ID
		}
	}
	month := time.Now().AddDate(0, -1, 0)
	list := func(f signoff.DeploymentFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if _, err := db.Deployments(ctx, f); err != nil {
				return err
			}
			_, err := db.Environments(ctx)
			return err
		}
	}
	ops := []benchOp{
		{"list: newest 200", list(signoff.DeploymentFilter{Limit: 200})},
		{"list: status live", list(signoff.DeploymentFilter{Status: signoff.StatusLive, Limit: 200})},
		{"list: status completed", list(signoff.DeploymentFilter{Status: signoff.StatusCompleted, Limit: 200})},
		{"list: service contains \"pay\"", list(signoff.DeploymentFilter{Service: "pay", Limit: 200})},
		{"list: service matching none", list(signoff.DeploymentFilter{Service: "no-such-service", Limit: 200})},
		{"list: environment staging", list(signoff.DeploymentFilter{Environment: "staging", Limit: 200})},
		{"list: created in the last month", list(signoff.DeploymentFilter{From: &month, Limit: 200})},
		{"list: signer contains \"engineer\"", list(signoff.DeploymentFilter{Signer: "engineer", Limit: 200})},
		{"audit: first page", list(signoff.DeploymentFilter{Limit: 51})},
		{"audit: page 10", list(signoff.DeploymentFilter{Limit: 51, Offset: 450})},
		{"audit: completed, service \"api\", production", list(signoff.DeploymentFilter{Status: signoff.StatusCompleted,
			Service: "api", Environment: "production", Limit: 51})},
		{"audit: aborted in the last month", list(signoff.DeploymentFilter{Status: signoff.StatusAborted, From: &month, Limit: 51})},
		{"audit: ZIP's first 100 ids, service \"ledger\"", func(ctx context.Context) error {
			_, err := db.CompletedDeploymentIDs(ctx, signoff.DeploymentFilter{Service: "ledger"}, 0, 100)
			return err
		}},
		{"my sign-offs", func(ctx context.Context) error {
			_, err := db.AwaitingSignature(ctx, holder)
			return err
		}},
		{"templates page", func(ctx context.Context) error {
			_, err := db.Templates(ctx)
			return err
		}},
		{"a template's versions", func(ctx context.Context) error {
			if completed == nil {
				return nil
			}
			_, err := db.TemplateVersions(ctx, completed.TemplateSlug)
			return err
		}},
		{"notifier: overdue sweep", func(ctx context.Context) error {
			_, err := db.OverdueCandidates(ctx, time.Now())
			return err
		}},
		{"notifier: catch-up sweep", func(ctx context.Context) error {
			_, err := db.NotificationsBehind(ctx)
			return err
		}},
	}
	if completed != nil {
		id := completed.ID
		ops = append(ops,
			benchOp{"deployment page (completed)", func(ctx context.Context) error {
				d, _, err := db.DeploymentHead(ctx, id, live.ViewerTimeout)
				if err != nil {
					return err
				}
				_, _, err = db.DeploymentChecklist(ctx, d)
				return err
			}},
			benchOp{"export: JSON, signed, with its log proof", func(ctx context.Context) error {
				rec, err := db.SignedRecord(ctx, id)
				if err != nil {
					return err
				}
				_, err = audit.JSON(rec, signer, time.Now())
				return err
			}},
			benchOp{"export: the record (CSV, PDF, Markdown read this)", func(ctx context.Context) error {
				_, err := db.DeploymentRecord(ctx, id)
				return err
			}})
	}
	return ops, total, nil
}
