package audit

import (
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/signoff/signoff/internal/signoff"
)

// CSVHeader names the CSV export's columns.
var CSVHeader = []string{"deployment_id", "seq", "at", "actor_id", "actor_name", "via",
	"action", "target", "before", "after", "prev_sha256", "sha256"}

// CSV writes a deployment's audit events, one row each, for spreadsheets.
// before and after are the payload's JSON. Cells a spreadsheet would take
// for a formula are defused (see SafeCell).
func CSV(w io.Writer, rec *signoff.Record) error {
	return csvOf(w, rec, nil)
}

// csvOf is CSV with the envelopes of the first events read already (a
// replay's; the rest are read here).
func csvOf(w io.Writer, rec *signoff.Record, parsed []*signoff.DecodedEvent) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	id := strconv.FormatInt(rec.Deployment.ID, 10)
	row := make([]string, len(CSVHeader))
	for i, e := range rec.Events {
		// The envelope only: before and after go out as the JSON they are.
		var p signoff.EventPayload
		if i < len(parsed) {
			p = parsed[i].EventPayload
		} else {
			var err error
			if p, err = signoff.DecodeEnvelope([]byte(e.Payload)); err != nil {
				return fmt.Errorf("event %d of deployment %s: %w", e.Seq, id, err)
			}
		}
		row[0], row[1], row[2] = id, strconv.FormatInt(e.Seq, 10), p.At
		row[3], row[4], row[5] = strconv.FormatInt(p.Actor.ID, 10), p.Actor.Name, p.Actor.Via
		row[6], row[7], row[8], row[9] = p.Action, p.Target, string(p.Before), string(p.After)
		row[10], row[11] = hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash)
		for i := range row {
			row[i] = SafeCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SafeCell guards against CSV formula injection: a cell starting with =, +,
// -, @ (or a tab or carriage return, which some spreadsheets skip before
// reading one of those) gets a leading single quote, so it is shown as
// text and never evaluated.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
