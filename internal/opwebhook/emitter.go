package opwebhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Store is the part of store.Store the Emitter uses.
type Store interface {
	AppGet(ctx context.Context, idOrUID string) (*hookline.App, error)
	MessageCreate(ctx context.Context, batch []*store.MessageCreate) error
}

// Options configure an Emitter.
type Options struct {
	// Store is where events are published. Required.
	Store Store
	// Wake tells the dispatcher that deliveries were committed; nil for
	// none (a node whose dispatcher hears of commits from the database).
	Wake func()
	// Queue is how many events may wait to be published; an event that
	// finds the queue full is dropped and logged. Default 4096.
	Queue int
	// Now tells the time of the messages. Default time.Now.
	Now func() time.Time
	// Logger receives events dropped and failed publishes. Default:
	// discard.
	Logger *slog.Logger
}

// Emitter publishes operational events to the reserved application. Emit
// never blocks: events wait in a bounded queue for a goroutine that
// publishes them in batches, one store transaction each. Make one with
// New, run it with Start and end it with Stop.
type Emitter struct {
	st    Store
	wake  func()
	now   func() time.Time
	log   *slog.Logger
	queue chan Event

	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	started  atomic.Bool

	published, dropped atomic.Int64
}

// New returns an Emitter over opts.Store.
func New(opts Options) *Emitter {
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Wake == nil {
		opts.Wake = func() {}
	}
	return &Emitter{
		st:       opts.Store,
		wake:     opts.Wake,
		now:      opts.Now,
		log:      opts.Logger,
		queue:    make(chan Event, opts.Queue),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// Emit queues ev to be published. It never blocks: when the queue is full,
// or the Emitter is stopping, ev is dropped and logged. A nil Emitter
// drops every event.
func (e *Emitter) Emit(ev Event) {
	if e == nil {
		return
	}
	select {
	case <-e.stopping:
		e.drop(ev, "the server is shutting down")
		return
	default:
	}
	select {
	case e.queue <- ev:
	default:
		e.drop(ev, "too many events waiting to be published")
	}
}

func (e *Emitter) drop(ev Event, why string) {
	e.dropped.Add(1)
	e.log.Warn("operational event dropped", "type", ev.Type, "reason", why)
}

// Published returns how many events were published, and Dropped how many
// were dropped, since the Emitter was made.
func (e *Emitter) Published() int64 { return e.published.Load() }

// Dropped returns how many events were dropped since the Emitter was made.
func (e *Emitter) Dropped() int64 { return e.dropped.Load() }

// Start starts publishing in the background and returns at once.
func (e *Emitter) Start(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("opwebhook: already started")
	}
	go e.run(context.WithoutCancel(ctx))
	return nil
}

// Stop publishes the events already queued and ends the Emitter; if ctx
// ends first, the events left are dropped and Stop returns ctx's error.
// Events emitted once Stop has begun are dropped.
func (e *Emitter) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() { close(e.stopping) })
	if !e.started.Load() {
		return nil
	}
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run publishes queued events until Stop, then what is left in the queue.
func (e *Emitter) run(ctx context.Context) {
	defer close(e.done)
	batch := make([]Event, 0, maxBatch)
	for {
		select {
		case ev := <-e.queue:
			e.publish(ctx, e.gather(append(batch[:0], ev)))
		case <-e.stopping:
			for {
				if batch = e.gather(batch[:0]); len(batch) == 0 {
					return
				}
				e.publish(ctx, batch)
			}
		}
	}
}

// gather adds to batch the events waiting, up to maxBatch.
func (e *Emitter) gather(batch []Event) []Event {
	for len(batch) < maxBatch {
		select {
		case ev := <-e.queue:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

// maxBatch is the most events one transaction publishes.
const maxBatch = 64

// publish writes a batch of events as messages of the reserved
// application, after filling in the uids of the applications they name.
func (e *Emitter) publish(ctx context.Context, batch []Event) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	uids := map[string]*string{}
	now := e.now().UTC().Truncate(time.Microsecond)
	items := make([]*store.MessageCreate, 0, len(batch))
	for _, ev := range batch {
		if r, ok := ev.Data.(interface{ ref() *AppRef }); ok {
			ref := r.ref()
			uid, seen := uids[ref.AppID]
			if !seen {
				uid = e.appUID(ctx, ref.AppID)
				uids[ref.AppID] = uid
			}
			ref.AppUID = uid
		}
		payload, err := json.Marshal(struct {
			Type string `json:"type"`
			Data any    `json:"data"`
		}{ev.Type, ev.Data})
		if err != nil {
			e.drop(ev, err.Error())
			continue
		}
		items = append(items, &store.MessageCreate{Message: &hookline.Message{
			ID:        hookline.NewID(hookline.PrefixMessage),
			AppID:     AppID,
			EventType: ev.Type,
			Payload:   payload,
			CreatedAt: now,
		}})
	}
	if err := e.st.MessageCreate(ctx, items); err != nil {
		e.dropped.Add(int64(len(items)))
		e.log.Warn("publish operational events", "count", len(items), "err", err)
		return
	}
	deliveries := 0
	for _, it := range items {
		switch {
		case errors.Is(it.Err, hookline.ErrNotFound):
			// No operator endpoint was ever made, so neither was the
			// reserved application: nobody listens.
		case it.Err != nil:
			e.dropped.Add(1)
			e.log.Warn("publish operational event", "type", it.Message.EventType, "err", it.Err)
		default:
			e.published.Add(1)
			deliveries += len(it.Deliveries)
		}
	}
	if deliveries > 0 {
		e.wake()
	}
}

// appUID returns the uid of the application id, nil when it has none or
// cannot be read (it may have been deleted since).
func (e *Emitter) appUID(ctx context.Context, id string) *string {
	a, err := e.st.AppGet(ctx, id)
	if err != nil {
		return nil
	}
	return ptr(a.UID)
}
