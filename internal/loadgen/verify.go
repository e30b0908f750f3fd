package loadgen

import (
	"bytes"
	"context"
	"fmt"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Consistent checks that a deployment's stored items are exactly what its
// audit log says happened: it replays every item.state event over an all-
// open checklist and compares, and checks the hash chain link by link. A
// change half-written (items without their event, or an event without its
// change) shows up as a difference.
//
// The reads are separate statements, so a change committed between them (a
// request the server was still finishing when the clients stopped) would look
// like a half-written one. Every change bumps the deployment's audit_seq, so
// the reads are repeated until the seq is the same before and after them.
func Consistent(ctx context.Context, db *postgres.DB, deploymentID int64) ([]string, error) {
	for range 20 {
		before, err := db.Deployment(ctx, deploymentID)
		if err != nil {
			return nil, err
		}
		events, err := db.Events(ctx, deploymentID, 0, 0)
		if err != nil {
			return nil, err
		}
		items, err := db.Items(ctx, deploymentID, "")
		if err != nil {
			return nil, err
		}
		after, err := db.Deployment(ctx, deploymentID)
		if err != nil {
			return nil, err
		}
		if before.AuditSeq == after.AuditSeq {
			return compare(after.AuditSeq, events, items)
		}
	}
	return nil, fmt.Errorf("deployment %d kept changing while it was checked", deploymentID)
}

func compare(seq int64, events []signoff.Event, items []signoff.Item) ([]string, error) {
	var problems []string
	state := map[string]signoff.ItemState{}
	reason := map[string]string{}
	prev := make([]byte, 32)
	for i, e := range events {
		if e.Seq != int64(i+1) {
			problems = append(problems, fmt.Sprintf("event %d has seq %d", i+1, e.Seq))
			break
		}
		if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, signoff.ChainHash(prev, []byte(e.Payload))) {
			problems = append(problems, fmt.Sprintf("hash chain broken at event %d", e.Seq))
			break
		}
		prev = e.Hash
		if e.Action != signoff.ActItemState {
			continue
		}
		p, err := signoff.DecodeEvent([]byte(e.Payload))
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", e.Seq, err)
		}
		ch, ok := p.Body.(*signoff.ItemStateEvent)
		if !ok {
			return nil, fmt.Errorf("event %d: an %s event reads as %T", e.Seq, e.Action, p.Body)
		}
		for _, path := range ch.Leaves(p.Target) {
			state[path], reason[path] = ch.After.State, ch.After.NAReason
		}
	}
	for _, it := range items {
		want, ok := state[it.Path]
		if !ok {
			want = signoff.ItemOpen
		}
		if it.State != want || it.NAReason != reason[it.Path] {
			problems = append(problems, fmt.Sprintf("item %s is %s in the table but %s in the audit log", it.Path, it.State, want))
		}
	}
	if seq != int64(len(events)) {
		problems = append(problems, fmt.Sprintf("deployment says %d events, the log has %d", seq, len(events)))
	}
	return problems, nil
}
