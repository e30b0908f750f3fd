package notify

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// Retries. A failed job waits n⁴ seconds after its n-th failure, give or
// take RetryJitter so that deliveries that failed together do not retry
// together: 1 s, 16 s, 1 min 21 s, 4 min 16 s, 10 min 25 s, 21 min 36 s
// and 40 min 1 s between the 8 attempts of a mail or webhook delivery
// (about 78 minutes in all). docs/notifications.md prints this schedule; a
// test holds the two together.

// RetryJitter is the largest fraction of a delay added or taken away at
// random.
const RetryJitter = 0.1

// maxRetryDelay caps the delay of jobs that retry many more times than a
// delivery (syncs keep River's 25 attempts).
const maxRetryDelay = 24 * time.Hour

// RetryDelay is the wait after the n-th failed attempt, before jitter.
func RetryDelay(failures int) time.Duration {
	if failures < 1 {
		failures = 1
	}
	if failures > 20 { // 20⁴ s is past the cap already
		return maxRetryDelay
	}
	return min(time.Duration(failures*failures*failures*failures)*time.Second, maxRetryDelay)
}

// retryPolicy is the queue's retry policy: RetryDelay, jittered.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	// job.Errors holds the failures recorded before this one (a rescued
	// job's included), as in River's own policy.
	d := RetryDelay(len(job.Errors) + 1)
	d += time.Duration((rand.Float64()*2 - 1) * RetryJitter * float64(d))
	return time.Now().Add(d)
}
