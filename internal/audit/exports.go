package audit

import (
	"io"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// recordFiles makes one record's exports from a single replay of its
// events: the JSON's document, the PDF's account of each signature and
// the CSV's envelopes all come from it, where each export alone replays
// or reads the events again (the bulk ZIP makes all three of thousands).
// The files are the bytes JSON, PDF and CSV write.
type recordFiles struct {
	rec  *signoff.Record
	r    *replay
	rerr error
	now  time.Time
}

func newRecordFiles(rec *signoff.Record, now time.Time) *recordFiles {
	r, err := replayEvents(rec.Deployment.ID, rec.Events)
	return &recordFiles{rec: rec, r: r, rerr: err, now: now}
}

func (x *recordFiles) json(s *Signer) ([]byte, error) { return sealedJSON(x.rec, x.r, s, x.now) }

func (x *recordFiles) pdf(w io.Writer, opt PDFOptions) error {
	// The whole replay's account of the signatures is the signatures-only
	// replay's when every event replayed; when one did not, the PDF reads
	// them as it does alone.
	var sigs map[int64]Signoff
	if x.rerr == nil && x.r != nil {
		sigs = factsOf(x.r)
	} else {
		sigs = signatureFacts(x.rec)
	}
	return pdfOf(w, x.rec, sigs, x.now, opt)
}

func (x *recordFiles) csv(w io.Writer) error {
	var parsed []*signoff.DecodedEvent
	if x.r != nil {
		parsed = x.r.parsed
	}
	return csvOf(w, x.rec, parsed)
}
