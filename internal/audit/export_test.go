package audit

import (
	"bytes"
	"reflect"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// EncodeCanonicalReflect is the general canonical encoder, for tests that
// hold the direct one against it.
var EncodeCanonicalReflect = encodeCanonicalReflect

// RecordFiles makes a record's JSON, PDF and CSV as the bulk ZIP does,
// from one replay.
func RecordFiles(rec *signoff.Record, s *Signer, now time.Time, opt PDFOptions) (json, pdf, csv []byte, err error) {
	x := newRecordFiles(rec, now)
	if json, err = x.json(s); err != nil {
		return
	}
	var p, c bytes.Buffer
	if err = x.pdf(&p, opt); err != nil {
		return
	}
	err = x.csv(&c)
	return json, p.Bytes(), c.Bytes(), err
}

// SignatureFactsAgree reports whether the whole replay's account of a
// record's signatures is the signatures-only replay's.
func SignatureFactsAgree(rec *signoff.Record) bool {
	r, err := replayEvents(rec.Deployment.ID, rec.Events)
	if err != nil {
		return false
	}
	return reflect.DeepEqual(factsOf(r), signatureFacts(rec))
}
