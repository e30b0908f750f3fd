package loadgen

import (
	"fmt"
	"io"
)

// Targets from docs/performance.md, at 50 clients on 2 cores.
const (
	TargetTickThroughputRatio = 0.5  // tick rps / write floor rps, at least
	TargetTickP99Ratio        = 3.0  // tick p99 / write floor p99, at most
	TargetPageThroughputRatio = 0.15 // page rps / read floor rps, at least
)

// Print writes the figures, the ratios to the floors and the invariant check.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%-12s %9s %10s %10s %10s %10s %7s\n", "operation", "requests", "req/s", "p50", "p95", "p99", "errors")
	for _, s := range r.Stats {
		fmt.Fprintf(w, "%-12s %9d %10.1f %10s %10s %10s %7d\n", s.Phase, s.Requests, s.RPS(),
			round(s.Percentile(50)), round(s.Percentile(95)), round(s.Percentile(99)), s.Errors)
		for _, e := range s.ErrorText {
			fmt.Fprintf(w, "    error: %s\n", e)
		}
	}
	rf, wf := r.Phase(PhaseReadFloor), r.Phase(PhaseWriteFloor)
	fmt.Fprintln(w)
	if wf != nil && wf.RPS() > 0 {
		for _, name := range []string{PhaseTickSpread, PhaseTickHot} {
			if t := r.Phase(name); t != nil {
				tr := t.RPS() / wf.RPS()
				pr := float64(t.Percentile(99)) / float64(max(wf.Percentile(99), 1))
				fmt.Fprintf(w, "%-12s throughput %.2f× write floor (target ≥ %.2f) %s, p99 %.2f× write floor p99 (target ≤ %.1f) %s\n",
					name, tr, TargetTickThroughputRatio, mark(tr >= TargetTickThroughputRatio), pr, TargetTickP99Ratio, mark(pr <= TargetTickP99Ratio))
			}
		}
	}
	if p := r.Phase(PhasePage); p != nil && rf != nil && rf.RPS() > 0 {
		pr := p.RPS() / rf.RPS()
		fmt.Fprintf(w, "%-12s throughput %.2f× read floor (target ≥ %.2f) %s\n", PhasePage, pr, TargetPageThroughputRatio, mark(pr >= TargetPageThroughputRatio))
	}
	fmt.Fprintf(w, "\ninvariants: %d deployments, %d items, %d events checked (%d items uncertain after failed requests): ",
		r.Checked.Deployments, r.Checked.Items, r.Checked.Events, r.Checked.Uncertain)
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "no lost or extra change, every hash chain intact")
		return
	}
	fmt.Fprintf(w, "%d VIOLATIONS\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintln(w, "  "+v)
	}
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
