package api

import (
	"net/http"
	"time"

	"github.com/signoff/signoff/internal/audit"
)

// deploymentExport answers the deployment's signed audit record: the same
// canonical JSON file the web export downloads, with the whole hash chain
// and a checkpoint signed by the server's key, which `signoff verify`
// checks offline. It is read from one database snapshot, so its parts
// agree even while others keep working.
func (a *API) deploymentExport(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id", "Deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.signer == nil {
		a.fail(w, r, errorf(codeUnavailable, "This server has no audit signing key loaded, so it cannot sign exports; nothing was exported."))
		return
	}
	rec, err := a.db.SignedRecord(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	file, err := audit.JSON(rec, a.signer, time.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	a.write(w, r, file) // canonical bytes: re-encoding would break the signature
}
