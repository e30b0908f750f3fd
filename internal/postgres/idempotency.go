package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// A request that must be done at most once carries an IdempotencyKey: an
// API write's Idempotency-Key header, a web form's form key. The store's
// change made under it claims the key in its own transaction
// (migrations/0016), so the key exists exactly when the change was
// committed: a retry after a lost answer, a crash or a restart of
// PostgreSQL finds it, and is answered from what the first request did
// without doing anything. Two requests with one key at once are one: the
// second waits on the key's row until the first commits (and is then a
// replay) or rolls back (and then does the work itself).
//
// The key rides on the request's context (WithIdempotencyKey), so every
// change takes it through the seams every change passes (changeDeployment,
// changeSystem, CreateDeployment, the tick writer) and no store method
// grows a parameter for it.

// IdempotencyKey is one request's claim: who sent it (Scope: "token:12",
// "user:7"), the key, and a SHA-256 of the request (method, path and
// body), which a retry must match. The store records on it what it did.
type IdempotencyKey struct {
	Scope string
	Key   string
	Hash  []byte

	// Set by the store while it serves the request.
	claimed      bool  // this request's change committed with the key
	replayed     bool  // an earlier request's change holds the key: nothing was done
	deploymentID int64 // what the earlier request created or changed
}

// Claimed reports whether this request's change committed with the key
// (so its answer is worth keeping: SaveIdempotentAnswer).
func (k *IdempotencyKey) Claimed() bool { return k != nil && k.claimed }

// Replayed reports whether an earlier request with the key made the change,
// so this one did nothing but answer.
func (k *IdempotencyKey) Replayed() bool { return k != nil && k.replayed }

type idempotencyCtxKey struct{}

// WithIdempotencyKey makes the changes the store makes under ctx claim k.
func WithIdempotencyKey(ctx context.Context, k *IdempotencyKey) context.Context {
	return context.WithValue(ctx, idempotencyCtxKey{}, k)
}

func idempotencyKeyOf(ctx context.Context) *IdempotencyKey {
	k, _ := ctx.Value(idempotencyCtxKey{}).(*IdempotencyKey)
	return k
}

// errKeyReused refuses a key sent again with a different request.
func errKeyReused() error {
	return signoff.Errorf(signoff.EKEYREUSED, "This idempotency key was already used for a different request "+
		"(another address or body); nothing was changed. Use a new key for a new request.")
}

// matches checks a request against the key's stored hash and records what
// the first request did.
func (k *IdempotencyKey) matches(hash []byte, deploymentID *int64) error {
	if !bytes.Equal(hash, k.Hash) {
		return errKeyReused()
	}
	k.replayed = true
	if deploymentID != nil {
		k.deploymentID = *deploymentID
	}
	return nil
}

const claimKeySQL = `
	INSERT INTO idempotency_keys (scope, key, request_hash, deployment_id)
	VALUES ($1, $2, $3, nullif($4, 0))
	ON CONFLICT (scope, key) DO NOTHING`

const findKeySQL = `
	SELECT request_hash, deployment_id, answer_status, answer_location, answer_body
	FROM idempotency_keys WHERE scope = $1 AND key = $2`

// claim claims the key in tx for a change to deploymentID (0 when there is
// none yet). It returns false when an earlier request's change holds it:
// then k is Replayed and the caller does nothing, or, for a different
// request, the error says so. A concurrent request with the key makes it
// wait until that one commits or rolls back.
func (k *IdempotencyKey) claim(ctx context.Context, tx pgx.Tx, deploymentID int64) (bool, error) {
	tag, err := tx.Exec(ctx, claimKeySQL, k.Scope, k.Key, k.Hash, deploymentID)
	if err != nil {
		return false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var hash []byte
	var dep *int64
	var status *int
	var location *string
	var body []byte
	if err := tx.QueryRow(ctx, findKeySQL, k.Scope, k.Key).Scan(&hash, &dep, &status, &location, &body); err != nil {
		return false, fmt.Errorf("read idempotency key: %w", err)
	}
	return false, k.matches(hash, dep)
}

// IdempotentAnswer is the first answer to a request made under a key.
type IdempotentAnswer struct {
	Status   int
	Location string
	Body     []byte
}

// IdempotentAnswer looks k up before its request runs. It returns the
// first answer when one was kept; nil with k Replayed when the first
// request's change committed but its answer was not kept (the request is
// then served again and the store does nothing); nil otherwise. A
// different request under the key is an EKEYREUSED error.
func (db *DB) IdempotentAnswer(ctx context.Context, k *IdempotencyKey) (*IdempotentAnswer, error) {
	var hash []byte
	var dep *int64
	var status *int
	var location *string
	var body []byte
	err := db.pool.QueryRow(ctx, findKeySQL, k.Scope, k.Key).Scan(&hash, &dep, &status, &location, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	if err := k.matches(hash, dep); err != nil {
		return nil, err
	}
	if status == nil {
		return nil, nil
	}
	a := &IdempotentAnswer{Status: *status, Body: body}
	if location != nil {
		a.Location = *location
	}
	return a, nil
}

// SaveIdempotentAnswer keeps the first answer to a request whose change
// committed with k, for its retries. It runs after the commit: if it
// fails, a retry is answered afresh from what the key says was done.
func (db *DB) SaveIdempotentAnswer(ctx context.Context, k *IdempotencyKey, a IdempotentAnswer) error {
	_, err := db.pool.Exec(ctx, `
		UPDATE idempotency_keys SET answer_status = $3, answer_location = nullif($4, ''), answer_body = $5
		WHERE scope = $1 AND key = $2 AND answer_status IS NULL`, k.Scope, k.Key, a.Status, a.Location, a.Body)
	if err != nil {
		return fmt.Errorf("keep idempotent answer: %w", err)
	}
	return nil
}

// DefaultIdempotencyTTL is how long keys are kept by default: a day, the
// longest a pipeline's retries usually span (re-running a failed job the
// next morning included).
const DefaultIdempotencyTTL = 24 * time.Hour

// NewIdempotencyKey is the claim of the request method path (with body)
// made by scope under key.
func NewIdempotencyKey(scope, key, method, path string, body []byte) *IdempotencyKey {
	h := sha256.New()
	h.Write([]byte(method + " " + path + "\n"))
	h.Write(body)
	return &IdempotencyKey{Scope: scope, Key: key, Hash: h.Sum(nil)}
}
