package api

import (
	"net/http"
)

// sign refuses, always: an electronic signature is a person re-entering
// their password in the browser (PRODUCT.md, rule 3). Tokens never sign,
// whoever they act as, so this answers the same for every token and
// every slot and reads nothing.
// It counts as a refused signature, as a wrong password in the browser
// does: a pipeline trying to sign is worth an alert.
func (a *API) sign(w http.ResponseWriter, r *http.Request) {
	a.metrics.Signature("refused")
	a.fail(w, r, errorf(codeTokensCannotSign,
		"API tokens never sign. A sign-off is given in the browser by a person holding the role, who enters their password again. Nothing was signed."))
}
