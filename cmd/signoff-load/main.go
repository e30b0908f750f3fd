// Command signoff-load drives a running Signoff server like a crowd of
// browsers and reports throughput and latency per operation, as ratios to
// a read and a write floor measured in the same run; then it checks the
// database holds exactly what was sent. The server must run with
// LOAD_FLOORS=true; see docs/performance.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/loadgen"
)

func main() {
	base := flag.String("url", "http://localhost:8080", "the server's base URL")
	dbURL := flag.String("database", os.Getenv("DATABASE_URL"), "the server's database, for setup and the invariant check (default $DATABASE_URL)")
	clients := flag.Int("clients", 50, "concurrent simulated people")
	deployments := flag.Int("deployments", 10, "deployments in the spread phase (a few people each)")
	duration := flag.Duration("duration", 10*time.Second, "how long each phase runs")
	phases := flag.String("phases", strings.Join(loadgen.DefaultPhases, ","), "phases to run, in order")
	flag.Parse()

	if err := run(*base, *dbURL, loadgen.Config{BaseURL: strings.TrimRight(*base, "/"), Clients: *clients,
		Deployments: *deployments, Duration: *duration, Phases: strings.Split(*phases, ","), Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "signoff-load: "+strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

func run(base, dbURL string, cfg loadgen.Config) error {
	if dbURL == "" {
		return errors.New("no database: pass -database or set DATABASE_URL (the generator sets up users and checks the result there)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := loadgen.Run(ctx, dbURL, cfg)
	if err != nil {
		return err
	}
	res.Print(os.Stdout)
	if len(res.Violations) > 0 {
		return fmt.Errorf("%d invariant violations", len(res.Violations))
	}
	return nil
}
