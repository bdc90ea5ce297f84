package store

import (
	"context"
	"time"

	"github.com/hookline/hookline"
)

// Receive is one received request to store, with what its routes make of
// it, all in one transaction.
type Receive struct {
	Received *hookline.Received
	// Messages are published with it: forwards (raw messages to the
	// source's forward endpoints) and publishes into outbound apps. The
	// store fills in their results as MessageCreate does.
	Messages []*MessageCreate
	// Runs are command runs to queue.
	Runs []*hookline.Run
	// Duplicate is set by the store when a request with the same provider
	// delivery ID was already received by the source: then nothing was
	// stored and Received holds the first one.
	Duplicate bool
}

// ReceivedFilter selects received requests of one source.
type ReceivedFilter struct {
	Page
	Window
	// VerifiedOnly leaves out requests that failed verification.
	VerifiedOnly bool
	EventTypes   []string
}

// RunClaim asks for due command runs.
type RunClaim struct {
	Now        time.Time
	Limit      int
	LeaseUntil time.Time
}

// InboundStore is the durable state of the inbound half: sources, the
// requests they receive, and command runs. Each method is one transaction.
type InboundStore interface {
	SourceCreate(ctx context.Context, s *hookline.Source) error
	// SourceGet finds a source by ID or uid.
	SourceGet(ctx context.Context, idOrUID string) (*hookline.Source, error)
	// SourceByToken finds the source whose current token, or previous token
	// until it expires at now, has this hash.
	SourceByToken(ctx context.Context, tokenHash []byte, now time.Time) (*hookline.Source, error)
	SourceList(ctx context.Context, p Page) (sources []hookline.Source, done bool, err error)
	SourceUpdate(ctx context.Context, s *hookline.Source) error
	// SourceDelete deletes a source with its received requests and runs.
	SourceDelete(ctx context.Context, id string) error

	// ReceivedCreate stores a received request and its routes' messages and
	// runs, unless the source already has a request with the same
	// DeliveryID (then r.Duplicate is set).
	ReceivedCreate(ctx context.Context, r *Receive) error
	ReceivedGet(ctx context.Context, sourceID, id string) (*hookline.Received, error)
	// ReceivedList lists a source's requests, oldest first unless Desc.
	ReceivedList(ctx context.Context, sourceID string, f ReceivedFilter) (reqs []hookline.Received, done bool, err error)

	// RunCreate queues command runs, such as a replay's.
	RunCreate(ctx context.Context, runs []*hookline.Run) error
	// RunClaim leases due command runs and marks them running.
	RunClaim(ctx context.Context, c RunClaim) ([]hookline.Run, error)
	// RunFinish stores a run's outcome: finished, or pending again with a
	// new due time.
	RunFinish(ctx context.Context, run *hookline.Run) error
	// RunList lists the runs of a received request.
	RunList(ctx context.Context, receivedID string) ([]hookline.Run, error)

	// SourceCursorGet returns the ID up to which a source's held requests
	// were acknowledged, "" if none.
	SourceCursorGet(ctx context.Context, sourceID string) (string, error)
	// SourceCursorPut acknowledges a source's held requests up to an ID.
	SourceCursorPut(ctx context.Context, sourceID, receivedID string) error
}
