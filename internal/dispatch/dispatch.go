// Package dispatch delivers webhooks. A Dispatcher claims due deliveries
// from the store, or takes new ones that a publish leased to it (Lease,
// Deliver), sends each to its endpoint, signed, and writes the outcome
// back: success, a retry at the next step of the schedule, or failure.
//
// The database is the queue. A claim leases its deliveries, as a publish
// that hands them over does, so a dispatcher that dies loses nothing: its
// deliveries fall due again when the lease lapses. Delivery is therefore at least once, and receivers deduplicate by
// the webhook-id header, which stays the same across retries.
//
// Inside the process, claimed deliveries wait in one FIFO queue per
// endpoint, and a fixed pool of workers takes from the queues in turn. One
// endpoint never holds more than Options.PerEndpoint workers, fewer while
// its attempts time out or fail with 5xx, and never has more than a bounded
// queue claimed for it, so a slow, dead or rate-limited endpoint does not
// hold up deliveries to the others.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/buildinfo"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"go.opentelemetry.io/otel/trace"
)

// Store is the part of store.Store the dispatcher uses.
type Store interface {
	DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error)
	DeliveryFinish(ctx context.Context, results []store.Result) error
	DeliveryRelease(ctx context.Context, ids []string) error
}

// DefaultSchedule is the retry schedule Svix documents: the first attempt at
// once, then retries 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours,
// 10 hours and 10 hours after the attempt before, 8 attempts over about
// 28 hours.
var DefaultSchedule = []time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// Options tune a Dispatcher. The zero value of a field means its default;
// WithDefaults says what each default is.
type Options struct {
	// Schedule is the delay before each attempt: Schedule[0] before the
	// first and Schedule[i] after attempt i failed, before attempt i+1.
	// Its length is the number of attempts. The store makes a new delivery
	// due at once, so Schedule[0] is 0 in practice. Default DefaultSchedule.
	Schedule []time.Duration
	// Jitter moves each retry delay by a random fraction of itself, up to
	// this much either way, so that deliveries that failed together do not
	// retry together. Default 0.1; a negative value turns jitter off.
	Jitter float64
	// Rand returns a random number in [0, 1) for the jitter. It must be safe
	// for concurrent use. Default math/rand/v2.Float64.
	Rand func() float64
	// Timeout bounds one request, from dialing to reading the response.
	// Default 15s.
	Timeout time.Duration
	// Lease is how long a claim holds its deliveries. It must cover the
	// time a delivery waits in memory as well as the request, or another
	// claim may take it up again and send it twice. Default 2 minutes, and
	// never less than 4 × Timeout.
	Lease time.Duration
	// Workers is the most requests in flight at once. Default 256.
	Workers int
	// PerEndpoint is the most requests in flight to one endpoint at once.
	// An endpoint that answers with 5xx or 429, or not at all, gets half as
	// many after each such attempt, down to one, and one more after each
	// success: a dead endpoint then ties up one worker, not PerEndpoint.
	// Default 32.
	PerEndpoint int
	// EndpointQueue is how many claimed deliveries one endpoint may have
	// waiting before claims, and the leases of publishes, leave that
	// endpoint out, unless it is being sent to fast (see
	// EndpointQueueMax). It is small enough that PerEndpoint workers can
	// send the whole queue within half the Lease even when every request
	// times out. For an endpoint with a rate limit it is further capped at
	// what the limit lets through in half the Lease. Default
	// PerEndpoint × Lease / (2 × Timeout).
	EndpointQueue int
	// EndpointQueueMax is how far an endpoint's queue may grow past
	// EndpointQueue while the endpoint is sent to fast: up to what it was
	// sent within a quarter of the Lease at the rate its queue has been
	// draining. Deliveries to a fast endpoint then stay in memory, handed
	// over by publishes, instead of going back to the store to be claimed
	// again. Default 8 × EndpointQueue, at most MaxQueued.
	EndpointQueueMax int
	// ClaimBatch is the most deliveries one claim takes. Default 512.
	ClaimBatch int
	// MaxQueued is the most claimed deliveries waiting in memory, not yet
	// being sent: claims and the leases of publishes take only the room
	// left below it. A lease counts the room before its batch commits, so
	// publish batches committing at once may each take it. Default
	// 8 × ClaimBatch.
	MaxQueued int
	// MaxHeldBytes bounds the payload bytes of the deliveries held in
	// memory, waiting or being sent, each message counted once however
	// many of its deliveries are held. Claims and the leases of publishes
	// take only the room left below it, planned at the largest payload
	// size of late, and at a 64th of the bound until payloads have been
	// seen (the API's largest at the default bound), so that a claim rarely
	// brings more than fits; deliveries a claim or a publish brings beyond
	// it are handed back to the store, due at once. A single payload larger
	// than the bound is still taken when nothing else is held. Default
	// 64 MiB.
	MaxHeldBytes int64
	// PollInterval is how often the dispatcher looks for due deliveries
	// when nothing woke it: deliveries published by another process, and
	// retries written by another (this dispatcher claims its own retries
	// when they fall due). Default 1s.
	PollInterval time.Duration
	// FlushBatch is the most results written in one store call. Default 256.
	FlushBatch int
	// FlushWriters is how many batches of results are written at once,
	// for a store that takes several writers, as PostgreSQL does: while
	// one batch commits, the next is written. Attempts are named in the
	// order their batches start; with several writers, batches may commit
	// in another order. Default 1.
	FlushWriters int
	// FlushDelay is how long a result may wait for others to share its
	// write; one that comes alone after a quiet spell does not wait (see
	// writeLoop). Sent deliveries are recorded no later than this after
	// their response; a delivery whose result was not yet written when its
	// node died is sent again. Default 10ms.
	FlushDelay time.Duration
	// DisableAfter disables an endpoint that fails when it has not had a
	// success for this long. Default 5 days.
	DisableAfter time.Duration
	// MaxResponse is how much of a response body an attempt keeps; a longer
	// body is cut there and marked with TruncatedMark. Default 64 KiB.
	MaxResponse int
	// MaxRetryAfter bounds how far a Retry-After header of a 429 or 503
	// response may push the next attempt out: a receiver cannot park its
	// deliveries for longer. Default 1 hour.
	MaxRetryAfter time.Duration
	// Client sends the requests. It is required: the server builds it with
	// NewClient and a dialer that refuses private addresses. The
	// dispatcher closes it when it stops.
	Client Client
	// Now tells the time for schedules, leases, signatures and records.
	// Default time.Now. Rate limits and flush delays run on the runtime's
	// clock and timers instead, which testing/synctest controls.
	Now func() time.Time
	// Logger receives operational events: store errors, endpoints
	// disabled, and failed attempts, at most one line per endpoint per
	// minute, which counts the failures left out. Default: discard.
	Logger *slog.Logger
	// UserAgent is the User-Agent header of every request. Default
	// buildinfo.UserAgent(), such as "hookline/v1.2.3 rev/0123456789ab".
	UserAgent string
	// Metrics, when set, counts the attempts.
	Metrics Metrics
	// Tracer, when set, starts a client span for each attempt, a child of
	// the span that published the message when the message kept one, and
	// sends its traceparent header to the endpoint. Nil starts none.
	Tracer trace.Tracer
	// Events, when set, hears of the deliveries that begin failing
	// (message.attempt.failing, at the FailingAfter-th failed attempt),
	// run out of attempts (.exhausted) or succeed after failing
	// (.recovered), and of the endpoints the dispatcher disables, once
	// their results are written. The deliveries to the operator's own
	// endpoints tell it nothing, so that a failing one does not feed
	// itself.
	Events Events
}

// Events takes operational events to publish. It must not block.
type Events interface {
	Emit(opwebhook.Event)
}

// Metrics counts what becomes of the attempts.
type Metrics interface {
	// Attempted counts an attempt by its delivery's status after it:
	// success, pending (to be retried) or failed (given up). took is the
	// duration of its HTTP request, zero when it made none; latency is
	// the time since the message was published.
	Attempted(status hookline.Status, took, latency time.Duration)
}

// TruncatedMark ends a response body that was cut at Options.MaxResponse.
const TruncatedMark = "…(truncated)"

// WithDefaults returns o with every unset field set to its default and
// fields that contradict each other made consistent.
func (o Options) WithDefaults() Options {
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule
	}
	if o.Jitter == 0 {
		o.Jitter = 0.1
	}
	o.Jitter = min(max(o.Jitter, 0), 1)
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	o.Lease = max(o.Lease, 4*o.Timeout)
	if o.Workers <= 0 {
		o.Workers = 256
	}
	if o.PerEndpoint <= 0 {
		o.PerEndpoint = 32
	}
	o.PerEndpoint = min(o.PerEndpoint, o.Workers)
	if o.EndpointQueue <= 0 {
		o.EndpointQueue = o.PerEndpoint * max(1, int(o.Lease/(2*o.Timeout)))
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 512
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 8 * o.ClaimBatch
	}
	if o.MaxHeldBytes <= 0 {
		o.MaxHeldBytes = 64 << 20
	}
	if o.EndpointQueueMax <= 0 {
		o.EndpointQueueMax = min(8*o.EndpointQueue, o.MaxQueued)
	}
	o.EndpointQueueMax = max(o.EndpointQueueMax, o.EndpointQueue)
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.FlushBatch <= 0 {
		o.FlushBatch = 256
	}
	o.FlushWriters = max(o.FlushWriters, 1)
	if o.FlushDelay <= 0 {
		o.FlushDelay = 10 * time.Millisecond
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 5 * 24 * time.Hour
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = 64 << 10
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UserAgent == "" {
		o.UserAgent = buildinfo.UserAgent()
	}
	return o
}

// Stats counts what a Dispatcher has done since it was made.
type Stats struct {
	Claimed   int64 // deliveries claimed, or leased by publishes and handed over
	Sent      int64 // requests made, answered or not
	Succeeded int64 // requests answered with 2xx
	Failed    int64 // requests that failed: no answer, or not 2xx
	Written   int64 // results written to the store
	Expired   int64 // claimed deliveries left unsent because their lease ran short
	Queued    int   // claimed deliveries waiting in memory now
	HeldBytes int64 // payload bytes of the deliveries held now, waiting or being sent
}

// Dispatcher claims due deliveries, sends them and records the outcomes.
// Make one with New, run it with Start and end it with Stop.
type Dispatcher struct {
	st     Store
	opts   Options
	client Client
	log    *slog.Logger
	fails  *failLog

	// wake holds a pending request to claim now, from Wake or from a
	// worker that freed room a claim was short of.
	wake chan struct{}
	// results carries finished work from the workers to the writer.
	results chan store.Result

	// ctx carries the values of Start's context to every request and
	// store call; abort cancels it when Stop runs out of time.
	ctx   context.Context
	abort context.CancelFunc
	// stopping is closed when shutdown begins; done when it has ended.
	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error

	claimWG, workWG, timerWG, writeWG sync.WaitGroup
	// nameMu orders the naming of the write loops' batches.
	nameMu sync.Mutex

	mu   sync.Mutex
	cond *sync.Cond // signaled when an endpoint queue becomes ready
	// started is set by Start; closing when shutdown begins, after which
	// workers take no new task.
	started, closing bool
	queues           map[string]*endpointQueue
	ready            fifo[*endpointQueue]
	// queued counts claimed tasks waiting in queues.
	queued int
	// payloads counts the payload bytes of the tasks queued or being sent.
	payloads payloads
	// giveBack collects deliveries taken beyond MaxHeldBytes, for the
	// claimer to hand back to the store.
	giveBack []string
	// held maps the IDs of deliveries this dispatcher has claimed and not
	// yet written back to the end of their lease, so that a delivery
	// claimed again after its lease lapsed is not sent twice by this
	// process, and one whose lease is about to lapse is not sent at all
	// (another node may be claiming it).
	held map[string]time.Time
	// again holds deliveries claimed again while held because they were
	// queued again meanwhile (a resend or a recovery): each is sent once
	// the send in hand is written, whose result then stores only its
	// attempt.
	again map[string]againTask
	// wantRoom is set when a claim was skipped for lack of room in memory.
	wantRoom bool
	// roomFreed is closed when memory has the roomNeed deliveries of room
	// a waiting publish needs (see WaitRoom); nil while no publish waits.
	// roomStuck is set when a wait ran out before room freed: the queues
	// are not draining, and publishes do not wait again until half of
	// memory is free.
	roomFreed chan struct{}
	roomNeed  int
	roomStuck bool
	// taken counts the tasks workers have taken off the queues: a wait
	// for room that sees it grow sees the queues draining. stuckAt is
	// taken when roomStuck was set.
	taken, stuckAt uint64
	// drained is set once shutdown has emptied the queues.
	drained bool
	// nextDue is when the earliest retry written since the last claim
	// falls due (zero for none); rearm tells the claimer it moved earlier.
	nextDue time.Time
	rearm   chan struct{}
	// unsent collects tasks whose request was cut off by an abort.
	unsent []string
	// exclude is the buffer for Claim.Exclude, reused by the claim loop.
	exclude []string
	// notes holds, by delivery ID, what the operator is to hear of a
	// result once it is written.
	notes map[string]note

	claimed, sent, succeeded, failed, written, expired atomic.Int64
}

// New returns a Dispatcher that works the deliveries of st. It panics if
// opts.Client is nil: sending with a client that lacks the dial guard
// would let endpoints reach private networks.
func New(st Store, opts Options) *Dispatcher {
	if opts.Client == nil {
		panic("dispatch: Options.Client is required")
	}
	opts = opts.WithDefaults()
	d := &Dispatcher{
		st:       st,
		opts:     opts,
		client:   opts.Client,
		log:      opts.Logger,
		fails:    newFailLog(opts.Logger, opts.Now),
		wake:     make(chan struct{}, 1),
		rearm:    make(chan struct{}, 1),
		results:  make(chan store.Result, 2*opts.FlushBatch),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		queues:   make(map[string]*endpointQueue),
		held:     make(map[string]time.Time),
		again:    make(map[string]againTask),
		notes:    make(map[string]note),
		payloads: payloads{est: opts.MaxHeldBytes / 64},
	}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Start starts claiming and sending in the background and returns at once.
// The values of ctx reach every request and store call. Canceling ctx
// begins the same graceful shutdown as Stop; Stop then waits for it.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("dispatch: already started")
	}
	d.started = true
	d.ctx, d.abort = context.WithCancel(context.WithoutCancel(ctx))
	// An abort cuts off the requests in flight; the end of run closes
	// the idle connections.
	context.AfterFunc(d.ctx, d.client.Close)
	for range d.opts.FlushWriters {
		d.writeWG.Add(1)
		go d.writeLoop()
	}
	d.workWG.Add(d.opts.Workers)
	for range d.opts.Workers {
		go d.workLoop()
	}
	d.claimWG.Add(1)
	go d.claimLoop()
	go d.run(ctx)
	return nil
}

// Stop shuts the dispatcher down: it stops claiming, lets the requests in
// flight finish, hands the deliveries it claimed but did not send back to
// the store, due at once, and writes every result. If ctx ends first, Stop
// cancels the requests and store calls still running, waits for its
// goroutines to return, and returns ctx's error; whatever was not written
// then is due again when its lease lapses. Stop on a dispatcher never
// started does nothing.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	started := d.started
	d.mu.Unlock()
	if !started {
		return nil
	}
	d.beginStop()
	select {
	case <-d.done:
		return d.stopErr
	case <-ctx.Done():
		d.abort()
		<-d.done
		return ctx.Err()
	}
}

// Wake tells the dispatcher that new deliveries were committed, so it
// claims now rather than at its next poll. It never blocks, and wakes that
// come while one is pending merge into it.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stats returns the dispatcher's counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	queued, heldBytes := d.queued, d.payloads.bytes
	d.mu.Unlock()
	return Stats{
		Claimed:   d.claimed.Load(),
		Sent:      d.sent.Load(),
		Succeeded: d.succeeded.Load(),
		Failed:    d.failed.Load(),
		Written:   d.written.Load(),
		Expired:   d.expired.Load(),
		Queued:    queued,
		HeldBytes: heldBytes,
	}
}

// beginStop starts the shutdown once: no more claims, no new sends.
func (d *Dispatcher) beginStop() {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.closing = true
		d.cond.Broadcast()
		d.mu.Unlock()
		close(d.stopping)
	})
}

// run waits for shutdown to begin and then carries it out in order: the
// claimer and the workers stop, unsent deliveries go back to the store,
// and the writer writes what is left.
func (d *Dispatcher) run(ctx context.Context) {
	defer close(d.done)
	defer d.abort()
	select {
	case <-d.stopping:
	case <-ctx.Done():
		d.beginStop()
	}
	d.claimWG.Wait()
	d.workWG.Wait()
	ids := d.drain()
	d.timerWG.Wait()
	if len(ids) > 0 {
		if err := d.release(ids); err != nil {
			d.stopErr = fmt.Errorf("release %d unsent deliveries: %w", len(ids), err)
		}
	}
	close(d.results)
	d.writeWG.Wait()
}

// claimLoop claims due deliveries into the endpoint queues: again at once
// while claims come back full, else when woken or when the poll interval
// has passed.
func (d *Dispatcher) claimLoop() {
	defer d.claimWG.Done()
	poll := time.NewTimer(d.opts.PollInterval)
	defer poll.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-d.stopping:
			return
		default:
		}
		// Under steady load wakes come before the poll timer ever fires,
		// so the sweep goes by the clock, not by the timer.
		if time.Since(lastSweep) >= d.opts.PollInterval {
			d.sweep()
			lastSweep = time.Now()
		}
		// A retry due by now is claimed now, or, when memory has no room,
		// once a worker makes room and wakes the claimer.
		d.mu.Lock()
		if !d.nextDue.After(d.opts.Now()) {
			d.nextDue = time.Time{}
		}
		giveBack := d.giveBack
		d.giveBack = nil
		d.mu.Unlock()
		if len(giveBack) > 0 {
			if err := d.release(giveBack); err != nil {
				d.log.Warn("hand back deliveries beyond the memory bound", "count", len(giveBack), "err", err,
					"detail", "they are due again when their lease lapses")
			}
		}
		limit, exclude := d.plan()
		failed := false
		if limit > 0 {
			now := d.opts.Now()
			tasks, err := d.st.DeliveryClaim(d.ctx, store.Claim{
				Now:        now,
				Limit:      limit,
				LeaseUntil: now.Add(d.opts.Lease),
				Exclude:    exclude,
			})
			switch {
			case err != nil:
				failed = true
				if d.ctx.Err() == nil {
					d.log.Warn("claim deliveries", "err", err)
				}
			case len(tasks) > 0:
				d.claimed.Add(int64(len(tasks)))
				d.enqueue(tasks, now.Add(d.opts.Lease))
			}
			if err == nil && len(tasks) >= limit {
				continue
			}
		}
		poll.Reset(d.opts.PollInterval)
		if failed {
			// A failing store is not asked again on every wake: wait for the
			// poll, so a flood of publishes does not turn into a flood of
			// failing claims.
			select {
			case <-d.stopping:
				return
			case <-poll.C:
			}
			continue
		}
	wait:
		for {
			d.mu.Lock()
			due := d.nextDue
			d.mu.Unlock()
			if !due.IsZero() {
				// A retry falls due before the poll: claim then.
				poll.Reset(min(d.opts.PollInterval, max(0, due.Sub(d.opts.Now()))))
			}
			select {
			case <-d.stopping:
				return
			case <-d.wake:
				break wait
			case <-poll.C:
				break wait
			case <-d.rearm:
			}
		}
	}
}

// release returns deliveries this dispatcher holds but did not send to the
// store, due at once, taking up to 10 s even when the dispatcher was
// aborted.
func (d *Dispatcher) release(ids []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	return d.st.DeliveryRelease(ctx, ids)
}

// Lease returns the lease under which a publish about to commit may hand
// its new deliveries straight to this dispatcher (see Deliver), as a claim
// would take them: as many as memory has room for, leaving out endpoints
// whose queues are full. It returns nil when there is no room or the
// dispatcher is not running; the deliveries are then created pending and
// claimed as usual.
func (d *Dispatcher) Lease() *store.Lease {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.closing {
		return nil
	}
	limit := d.room()
	if limit <= 0 {
		return nil
	}
	return &store.Lease{Until: d.opts.Now().Add(d.opts.Lease), Limit: limit, Exclude: d.fullQueues(nil)}
}

// WaitRoom waits until memory has room for need more deliveries, those of
// a publish batch about to commit, so that they are handed over instead of
// created pending and claimed back, which costs the server (and, on
// PostgreSQL, the database) more per delivery and slows the delivery of
// all of them when publishing outpaces sending. need counts at most a
// quarter of MaxQueued. It waits in spans of maxWait, at most
// drainingWaits of them; past idleWaits in a row in which the workers took
// nothing off the queues it gives up. It returns at once when there is
// room, when the dispatcher is not running, or when an earlier wait gave
// up with the queues not draining (endpoints that are slow or down hold
// the memory; waiting would only slow publishing) until they drain again:
// half of memory is free, or the workers have taken half of it since. A
// claim of pending deliveries may take the room a publish waits for; the
// publish then waits on, within its bound.
func (d *Dispatcher) WaitRoom(ctx context.Context, need int, maxWait time.Duration) {
	if d.HasRoom(need) {
		return
	}
	d.mu.Lock()
	need = min(max(need, 1), max(1, d.capacity()/4))
	d.mu.Unlock()
	t := time.NewTimer(maxWait)
	defer t.Stop()
	idle := 0 // spans in a row in which the workers took nothing
	for span := 1; ; span++ {
		d.mu.Lock()
		if d.room() >= need {
			d.mu.Unlock()
			return
		}
		d.roomNeed = need
		if d.roomFreed == nil {
			d.roomFreed = make(chan struct{})
		}
		freed, taken := d.roomFreed, d.taken
		d.mu.Unlock()
		select {
		case <-freed:
			return
		case <-ctx.Done():
			return
		case <-d.stopping:
			return
		case <-t.C:
		}
		d.mu.Lock()
		if d.room() >= need {
			d.mu.Unlock()
			return
		}
		if d.taken != taken {
			idle = 0
		} else if idle++; idle >= idleWaits {
			d.roomStuck, d.stuckAt = true, d.taken
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		// Draining, only slower than publishing: wait on, so that
		// publishing keeps to the pace of sending, within a bound.
		if span >= drainingWaits {
			return
		}
		t.Reset(maxWait)
	}
}

// HasRoom reports whether WaitRoom(need) would return at once.
func (d *Dispatcher) HasRoom(need int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	need = min(max(need, 1), max(1, d.capacity()/4))
	return !d.started || d.closing || d.roomStuck || d.room() >= need
}

// drainingWaits is how many spans of its maxWait WaitRoom waits at most
// while the queues drain, and idleWaits how many in a row in which they
// do not drain: more than one, as a busy machine can leave the workers
// without a core for a span.
const (
	drainingWaits = 20
	idleWaits     = 3
)

// room returns how many more deliveries memory has room for, by count and
// by payload bytes. d.mu is held.
func (d *Dispatcher) room() int {
	return min(d.opts.MaxQueued-d.queued, d.payloads.room(d.opts.MaxHeldBytes))
}

// capacity returns how many deliveries memory has room for when it holds
// none. d.mu is held.
func (d *Dispatcher) capacity() int {
	return min(d.opts.MaxQueued, d.payloads.capacity(d.opts.MaxHeldBytes))
}

// Deliver takes tasks that a publish leased under a lease from Lease, as if
// a claim had returned them.
func (d *Dispatcher) Deliver(tasks []store.Task, until time.Time) {
	d.claimed.Add(int64(len(tasks)))
	d.enqueue(tasks, until)
}

// plan returns how many deliveries the next claim may take and which
// endpoints it must leave out because their queues are full. It returns a
// limit of 0 when memory has too little room for a worthwhile claim; the
// workers wake the claimer when room frees up.
func (d *Dispatcher) plan() (int, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	full := min(d.opts.ClaimBatch, d.capacity())
	limit := min(d.opts.ClaimBatch, d.room())
	if limit < max(1, full/4) {
		d.wantRoom = true
		return 0, nil
	}
	d.exclude = d.fullQueues(d.exclude[:0])
	return limit, d.exclude
}

// fullQueues appends to ids the endpoints whose queues are full, for a
// claim or a lease to leave out, and marks those queues full: the worker
// that drains one to half wakes the claimer for what was left pending.
// The caller holds mu.
func (d *Dispatcher) fullQueues(ids []string) []string {
	for id, q := range d.queues {
		if q.tasks.len() >= d.queueCap(q) {
			q.full = true
			ids = append(ids, id)
		}
	}
	return ids
}

// enqueue puts claimed tasks on their endpoints' queues. Tasks that need
// no request, because the endpoint or message is gone or the endpoint is
// disabled, are finished here without taking a worker.
func (d *Dispatcher) enqueue(tasks []store.Task, leaseUntil time.Time) {
	var now time.Time
	var skip []store.Result
	d.mu.Lock()
	if d.drained {
		// Handed over by a publish after shutdown emptied the queues: back
		// to the store, due at once.
		d.mu.Unlock()
		ids := make([]string, len(tasks))
		for i := range tasks {
			ids[i] = tasks[i].Delivery.ID
		}
		if err := d.release(ids); err != nil {
			d.log.Warn("release deliveries handed over at shutdown", "count", len(ids), "err", err,
				"detail", "they are due again when their lease lapses")
		}
		return
	}
	for i := range tasks {
		t := &tasks[i]
		id := t.Delivery.ID
		if _, ok := d.held[id]; ok {
			if t.Delivery.Trigger == hookline.TriggerManual && t.Delivery.Attempts == 0 {
				// Queued again while this process sends it: once that send
				// is written, it goes again.
				d.again[id] = againTask{task: *t, leaseUntil: leaseUntil}
			}
			continue
		}
		if t.Endpoint != nil && !t.Endpoint.Disabled && t.Message != nil && !d.payloads.fits(t.Message, d.opts.MaxHeldBytes) {
			d.payloads.refuse(t.Message)
			d.giveBack = append(d.giveBack, id)
			continue
		}
		d.held[id] = leaseUntil
		if t.Endpoint == nil || t.Endpoint.Disabled || t.Message == nil {
			if now.IsZero() {
				now = d.opts.Now()
			}
			res := store.Result{Delivery: t.Delivery}
			res.Delivery.Status = hookline.StatusFail
			res.Delivery.NextAttempt = time.Time{}
			res.Delivery.UpdatedAt = now
			skip = append(skip, res)
			continue
		}
		q := d.queues[t.Delivery.EndpointID]
		if q == nil {
			q = &endpointQueue{id: t.Delivery.EndpointID, conc: d.opts.PerEndpoint}
			d.queues[q.id] = q
		}
		q.setRateLimit(t.RateLimit)
		q.tasks.push(*t)
		d.payloads.hold(t.Message)
		if q.tasks.len() >= d.queueCap(q) {
			// Full: the next claim leaves the endpoint out, and the
			// worker that drains it to half wakes the claimer.
			q.full = true
		}
		d.queued++
		d.markReady(q)
	}
	givingBack := len(d.giveBack) > 0
	d.mu.Unlock()
	if givingBack {
		d.Wake()
	}
	for _, r := range skip {
		d.results <- r
	}
}

// leaseTooShort reports whether a held delivery's lease ends before a
// request started now could finish.
func (d *Dispatcher) leaseTooShort(id string) bool {
	d.mu.Lock()
	lease, ok := d.held[id]
	d.mu.Unlock()
	return ok && d.opts.Now().Add(d.opts.Timeout).After(lease)
}

// workLoop is one worker: it sends tasks until shutdown begins.
func (d *Dispatcher) workLoop() {
	defer d.workWG.Done()
	w := &worker{}
	for {
		t, q, ok := d.next()
		if !ok {
			return
		}
		if d.leaseTooShort(t.Delivery.ID) {
			// The task waited in memory until its lease nearly ran out (a
			// slow endpoint, an overloaded machine): sending now could
			// overlap with another node that claims it once the lease
			// lapses. Leave it to whoever claims it next.
			d.mu.Lock()
			delete(d.held, t.Delivery.ID)
			// A resend that came meanwhile is claimed again with it.
			delete(d.again, t.Delivery.ID)
			d.mu.Unlock()
			d.expired.Add(1)
			d.doneWith(q, t.Message, neutral, false)
			continue
		}
		res, h, sent := d.send(w, &t)
		d.doneWith(q, t.Message, h, sent && res.Attempt != nil)
		if !sent {
			d.mu.Lock()
			d.unsent = append(d.unsent, t.Delivery.ID)
			d.mu.Unlock()
			continue
		}
		if d.opts.Metrics != nil && res.Attempt != nil {
			d.opts.Metrics.Attempted(res.Delivery.Status, res.Attempt.Duration, res.Attempt.CreatedAt.Add(res.Attempt.Duration).Sub(t.Message.CreatedAt))
		}
		if res.Attempt != nil && res.Attempt.Status == hookline.StatusFail {
			d.fails.failed(d.ctx, &res)
		}
		if d.opts.Events != nil {
			d.noteEvents(&t, &res)
		}
		d.results <- res
	}
}
