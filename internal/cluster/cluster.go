// Package cluster runs what a hookline node does beside the API and the
// dispatcher when several nodes share one database: it keeps the node's
// heartbeat, so that worker nodes can split each endpoint's rate limit
// between them, and it runs the upkeep (auto-disabling dead endpoints,
// retention, expired idempotency keys) on whichever node the database
// elects, so that it runs once per cluster, not once per node.
//
// A single node on SQLite runs the same code: it is always the leader, and
// alone.
package cluster

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// runner is a background loop with an owner: Start launches it, Stop ends
// it and waits for it.
type runner struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (r *runner) start(ctx context.Context, loop func(ctx context.Context)) error {
	if r.done != nil {
		return errors.New("cluster: already started")
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		loop(ctx)
	}()
	return nil
}

func (r *runner) stop(ctx context.Context) error {
	if r.done == nil {
		return nil
	}
	r.once.Do(r.cancel)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleep waits for d or for ctx to end, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// HeartbeatOptions configure a Heartbeat.
type HeartbeatOptions struct {
	// Node is this process.
	Node store.Node
	// Interval is the time between beats. Default 5s.
	Interval time.Duration
	// TTL is how long a node may go without a beat before the others count
	// it gone. Default 4 × Interval.
	TTL time.Duration
	// Now tells the time. Default time.Now.
	Now func() time.Time
	// Logger receives failed beats. Default: discard.
	Logger *slog.Logger
}

// Heartbeat beats this node's heartbeat in the store and keeps count of the
// live worker nodes.
type Heartbeat struct {
	st      store.Cluster
	opts    HeartbeatOptions
	workers atomic.Int64
	// beat is the time of the last beat that succeeded, in Unix
	// nanoseconds; 0 before the first.
	beat atomic.Int64
	r    runner
}

// NewHeartbeat returns a Heartbeat on st; it counts one worker until its
// first beat.
func NewHeartbeat(st store.Cluster, opts HeartbeatOptions) *Heartbeat {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.TTL <= 0 {
		opts.TTL = 4 * opts.Interval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Heartbeat{st: st, opts: opts}
	h.workers.Store(1)
	return h
}

// Workers returns how many worker nodes were alive at the last beat, at
// least 1.
func (h *Heartbeat) Workers() int { return int(max(1, h.workers.Load())) }

// LastBeat returns when the last beat that succeeded was made; the zero
// time before the first.
func (h *Heartbeat) LastBeat() time.Time {
	if ns := h.beat.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// TTL returns how long the other nodes wait for a beat of this node before
// they count it gone.
func (h *Heartbeat) TTL() time.Duration { return h.opts.TTL }

// Beat records one heartbeat now. Start beats by itself; Beat is for the
// first beat, before the node starts work, so that it counts its peers
// from the start.
func (h *Heartbeat) Beat(ctx context.Context) error {
	now := h.opts.Now()
	n, err := h.st.NodeBeat(ctx, h.opts.Node, now, h.opts.TTL)
	if err != nil {
		return err
	}
	h.beat.Store(now.UnixNano())
	if prev := h.workers.Swap(int64(n)); prev != int64(n) {
		h.opts.Logger.Info("worker nodes", "count", n, "node_id", h.opts.Node.ID)
	}
	return nil
}

// Start beats every Interval in the background until Stop.
func (h *Heartbeat) Start(ctx context.Context) error {
	return h.r.start(ctx, func(ctx context.Context) {
		for sleep(ctx, h.opts.Interval) {
			if err := h.Beat(ctx); err != nil && ctx.Err() == nil {
				h.opts.Logger.Warn("node heartbeat", "err", err)
			}
		}
	})
}

// Stop ends the beats and removes the node from the store, so the others
// count it gone at their next beat rather than after the TTL.
func (h *Heartbeat) Stop(ctx context.Context) error {
	err := h.r.stop(ctx)
	if h.r.done == nil {
		return err
	}
	return errors.Join(err, h.st.NodeLeave(ctx, h.opts.Node.ID))
}

// HousekeeperOptions configure a Housekeeper. The zero value of a field
// means its default.
type HousekeeperOptions struct {
	// Interval is the time between rounds of upkeep, and between a
	// follower's tries to become the leader. Default 1 minute.
	Interval time.Duration
	// DisableAfter disables endpoints that have failed this long without a
	// success, even when none of their deliveries is being tried. Default
	// 5 days.
	DisableAfter time.Duration
	// Retention is how long payloads and response bodies are kept; 0
	// keeps them for ever.
	Retention time.Duration
	// Batch is how many rows of each kind one pruning transaction changes.
	// Default 1000.
	Batch int
	// Pause is the wait between two pruning transactions, which leaves the
	// database to the hot path. Default 100ms.
	Pause time.Duration
	// Now tells the time. Default time.Now.
	Now func() time.Time
	// Logger receives what the upkeep did and its errors. Default: discard.
	Logger *slog.Logger
	// Events, when set, hears of the endpoints the upkeep disables
	// (endpoint.disabled; see package opwebhook).
	Events Events
}

// Events takes operational events to publish. It must not block.
type Events interface {
	Emit(opwebhook.Event)
}

// Housekeeper does the store's upkeep on the node the store elects.
type Housekeeper struct {
	st   store.Maintainer
	opts HousekeeperOptions
	log  *slog.Logger
	r    runner

	mu      sync.Mutex
	leading bool
}

// NewHousekeeper returns a Housekeeper for st.
func NewHousekeeper(st store.Maintainer, opts HousekeeperOptions) *Housekeeper {
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = 5 * 24 * time.Hour
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Pause <= 0 {
		opts.Pause = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Housekeeper{st: st, opts: opts, log: opts.Logger}
}

// Start runs a round at once and then one every Interval, until Stop.
func (h *Housekeeper) Start(ctx context.Context) error {
	return h.r.start(ctx, func(ctx context.Context) {
		for {
			h.Round(ctx)
			if !sleep(ctx, h.opts.Interval) {
				return
			}
		}
	})
}

// Stop ends the upkeep, cutting short a round in progress, and waits for
// it. Leadership goes when the store is closed.
func (h *Housekeeper) Stop(ctx context.Context) error { return h.r.stop(ctx) }

// Leading reports whether this node led the last round.
func (h *Housekeeper) Leading() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leading
}

// Round does one round of upkeep if this node is the leader. A round of
// pruning stops after half an Interval even if it has not caught up, so
// that rounds do not pile up; the next round goes on.
func (h *Housekeeper) Round(ctx context.Context) {
	lead, err := h.st.TryLead(ctx)
	h.mu.Lock()
	changed := lead != h.leading
	h.leading = lead
	h.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("elect upkeep leader", "err", err)
		}
		return
	}
	if changed {
		h.log.Info("upkeep leader", "leading", lead)
	}
	if !lead {
		return
	}
	now := h.opts.Now()
	eps, err := h.st.EndpointDisableFailing(ctx, now.Add(-h.opts.DisableAfter),
		"no successful delivery for more than "+formatDuration(h.opts.DisableAfter))
	if err != nil && ctx.Err() == nil {
		h.log.Warn("disable failing endpoints", "err", err)
	}
	for i := range eps {
		e := &eps[i]
		h.log.Info("disable endpoint", "app_id", e.AppID, "endpoint_id", e.ID, "reason", "failing too long")
		if h.opts.Events != nil && e.AppID != opwebhook.AppID {
			h.opts.Events.Emit(opwebhook.EndpointDisabledBy(e, false))
		}
	}
	deadline := time.Now().Add(h.opts.Interval / 2)
	if h.opts.Retention > 0 {
		before := now.Add(-h.opts.Retention)
		total := h.batches(ctx, deadline, 2*h.opts.Batch, func() (int, error) {
			return h.st.RetentionPrune(ctx, before, h.opts.Batch)
		})
		if total > 0 {
			h.log.Info("retention", "rows_pruned", total, "before", before.UTC().Format(time.RFC3339))
		}
	}
	h.batches(ctx, deadline, h.opts.Batch, func() (int, error) {
		return h.st.IdempotencyExpire(ctx, now, h.opts.Batch)
	})
	h.batches(ctx, deadline, h.opts.Batch, func() (int, error) {
		return h.st.TokenPrune(ctx, now.Add(-EndedTokensKept), h.opts.Batch)
	})
}

// EndedTokensKept is how long a token stays listed after it expired or was
// revoked, before the upkeep deletes it.
const EndedTokensKept = 30 * 24 * time.Hour

// batches calls step until it does less than full, fails, or the deadline
// passes, pausing between calls; it returns the rows changed.
func (h *Housekeeper) batches(ctx context.Context, deadline time.Time, full int, step func() (int, error)) int {
	total := 0
	for {
		n, err := step()
		total += n
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("upkeep", "err", err)
			}
			return total
		}
		if n < full || time.Now().After(deadline) || !sleep(ctx, h.opts.Pause) {
			return total
		}
	}
}

// formatDuration writes whole days as days, as DisableAfter usually is.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		if d == day {
			return "1 day"
		}
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return d.String()
}
