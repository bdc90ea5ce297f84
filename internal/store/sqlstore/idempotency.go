package sqlstore

import "time"

// The lifetimes of an idempotency key, the same in every store.
const (
	// IdempotencyTTL is how long a finished key replays its response.
	IdempotencyTTL = 24 * time.Hour
	// IdempotencyPending is how long an unfinished key blocks a retry
	// before it is taken as abandoned.
	IdempotencyPending = time.Minute
)
