package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/signoff"
)

// Database faults: why the database refused a request, or could not be
// asked. Each has its own words for people (internal/problem) and its own
// cause at /readyz, because each asks for something else: wait for a
// restart, size the pools, wait for a failover, free disk space.
const (
	FaultUnreachable     = "unreachable"      // no connection, or it broke: down, restarting, a backend killed
	FaultConnectionLimit = "connection_limit" // 53300: max_connections (less the reserved slots) is reached
	FaultReadOnly        = "read_only"        // 25006: a standby, or default_transaction_read_only
	FaultDiskFull        = "disk_full"        // 53100: a file could not be extended or written
	FaultResources       = "out_of_resources" // 53000, 53200, 53400: memory, locks, other limits
)

// Faults lists every fault Fault returns.
func Faults() []string {
	return []string{FaultUnreachable, FaultConnectionLimit, FaultReadOnly, FaultDiskFull, FaultResources}
}

// Fault names the database fault err is, or "" when it is none (a query
// that failed, a rule refused, a bug). An error that is one of these
// changed nothing, unless it came back from a COMMIT: those are
// signoff.EUNKNOWN (see commitFailed), which Fault never sees as a fault.
func Fault(err error) string {
	if err == nil || signoff.ErrorCode(err) != signoff.EINTERNAL {
		return ""
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return serverFault(pe.Code)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "" // the client left
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.Is(err, pgconn.ErrConnClosed):
		return FaultUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FaultUnreachable
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return FaultUnreachable
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return FaultUnreachable
	}
	return ""
}

// serverFault is the fault a SQLSTATE the server answered with means.
func serverFault(code string) string {
	switch code {
	case "57P01", "57P02", "57P03", // admin_shutdown (a backend terminated), crash_shutdown, cannot_connect_now
		"08000", "08003", "08006", "08001", "08004": // connection exceptions
		return FaultUnreachable
	case "53300": // too_many_connections (also: the remaining slots are reserved)
		return FaultConnectionLimit
	case "25006": // read_only_sql_transaction
		return FaultReadOnly
	case "53100": // disk_full
		return FaultDiskFull
	case "53000", "53200", "53400": // insufficient_resources, out_of_memory, configuration_limit_exceeded
		return FaultResources
	}
	return ""
}

// IsUnavailable reports whether err means the database could not take the
// request (any Fault), so callers answer 503.
func IsUnavailable(err error) bool { return Fault(err) != "" }

// commitUnanswered reports whether err, met sending a COMMIT on a
// connection that was open or waiting for its answer, leaves the
// transaction's outcome unknown: the COMMIT may have reached the server,
// and no answer came back (the connection broke, the server crashed, time
// ran out). An error the server answered with means it rolled back. (Not
// even pgx's SafeToRetry can rule the rest out: a connection lost while
// awaiting the answer comes back as "conn closed", which claims to be
// safe to retry. Callers check that the connection was open before.)
func commitUnanswered(err error) bool {
	if err == nil || errors.Is(err, pgx.ErrTxCommitRollback) {
		return false
	}
	_, answered := errors.AsType[*pgconn.PgError](err)
	return !answered
}

// errLostBeforeCommit is a transaction whose connection was gone before
// its COMMIT was sent: the server rolled it back.
var errLostBeforeCommit = fmt.Errorf("the connection was lost before COMMIT: %w", pgconn.ErrConnClosed)

// commitFailed is the error of a COMMIT that failed: outcome unknown
// (signoff.EUNKNOWN, saying where to look) when no answer came back, else
// what failed. check says how the person can see whether the change was
// made, e.g. "Look at deployment 42: its history lists every change".
func commitFailed(what string, err error, check string) error {
	if commitUnanswered(err) {
		return fmt.Errorf("%s: commit: %w: %w", what, errOutcomeUnknown(check), err)
	}
	return fmt.Errorf("%s: commit: %w", what, err)
}

func errOutcomeUnknown(check string) *signoff.Error {
	return signoff.Errorf(signoff.EUNKNOWN, "The connection to the database broke while this change was being saved, "+
		"so it may or may not have been made. %s before making it again.", check)
}

// checkDeployment is where to look for a change to a deployment.
func checkDeployment(id int64) string {
	return fmt.Sprintf("Look at deployment %d (its history lists every change made to it)", id)
}

// commitTimeout bounds a COMMIT. It runs without its request's
// cancellation: a client that leaves must not turn a change into one whose
// outcome nobody knows.
const commitTimeout = 30 * time.Second

// commit commits tx, reporting an unanswered COMMIT as outcome unknown.
func commit(ctx context.Context, tx pgx.Tx, what, check string) error {
	if tx.Conn().PgConn().IsClosed() {
		return fmt.Errorf("%s: %w", what, errLostBeforeCommit)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := tx.Commit(ctx); err != nil {
		return commitFailed(what, err, check)
	}
	return nil
}
