package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
)

func postgresSignInput(id int64, slot int, userID int64) postgres.SignInput {
	return postgres.SignInput{DeploymentID: id, Slot: slot, UserID: userID, Password: testPassword, Via: "web"}
}

// TestTokensNeverSign: even the token of an admin who holds the slot's
// role, on a deployment ready to sign, with the person's password in the
// body, is refused with tokens_cannot_sign, and nothing is signed.
func TestTokensNeverSign(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	eng := e.user("Dee Engineer", true, false, "Deployment Engineer")
	_, secret := e.token(eng, "ci")
	d := e.deployment(eng)
	seq := e.auditSeq(d.ID)
	for _, body := range []string{"", `{}`, `{"password":"` + testPassword + `"}`, `not json`, strings.Repeat("x", 100<<10)} {
		for _, path := range []string{dpath(d.ID, "/slots/1/sign"), dpath(d.ID, "/slots/8/sign"), dpath(d.ID, "/slots/99/sign"), "/api/v1/deployments/99999/slots/1/sign"} {
			res := e.call(http.MethodPost, path, secret, body)
			wantError(t, res, http.StatusForbidden, "tokens_cannot_sign")
		}
	}
	if e.auditSeq(d.ID) != seq {
		t.Fatal("a sign attempt changed the deployment")
	}
	sigs, err := e.db.Signatures(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 0 {
		t.Fatalf("a token signed: %+v", sigs)
	}
	// Without a token, the answer is still about the token: 401.
	wantError(t, e.call(http.MethodPost, dpath(d.ID, "/slots/1/sign"), "", `{}`), http.StatusUnauthorized, "unauthorized")
}
