package store

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

type aloneKey struct{}

// WithAlone marks a write as one that comes alone, with no other write
// queued behind it: a store may then do it on the caller's goroutine
// rather than hand it to a writer that shares transactions.
func WithAlone(ctx context.Context) context.Context {
	return context.WithValue(ctx, aloneKey{}, true)
}

// Alone reports whether ctx marks a write that comes alone (see WithAlone).
func Alone(ctx context.Context) bool {
	alone, _ := ctx.Value(aloneKey{}).(bool)
	return alone
}

// ErrStopped is returned by GroupCommit.Publish after Stop.
var ErrStopped = errors.New("publisher stopped")

// MessageCreator is the part of Store that GroupCommit writes through.
type MessageCreator interface {
	MessageCreate(ctx context.Context, batch []*MessageCreate) error
}

// GroupCommit lets concurrent publishes share transactions: while one batch
// commits, the publishes that arrive queue up and commit together next, so
// a burst costs a few fsyncs instead of one each, and a lone publish waits
// for no timer.
type GroupCommit struct {
	st      MessageCreator
	max     int
	to      Deliverer
	timeout time.Duration

	mu      sync.RWMutex
	stopped bool
	reqs    chan *pending
	done    chan struct{}

	// slots holds a token for each batch being written; a publish that
	// finds one free and no publish queued writes itself (see Publish).
	slots chan struct{}
	// fl is st as a Flusher, when it is one.
	fl Flusher
	// perMessage is how many deliveries each message of the last batch
	// created (as math.Float64bits), to foresee the room the next needs.
	perMessage atomic.Uint64
	// held counts the publishes taken off reqs that wait for a slot.
	held atomic.Int32
	// busy counts the batches begun and not yet answered: a publish
	// writes itself only when there are none, as under load the next
	// batch gathers more publishes while the last one commits and
	// flushes.
	busy atomic.Int32
}

type pending struct {
	m   *MessageCreate
	err chan error
}

var pendingPool = sync.Pool{New: func() any { return &pending{err: make(chan error, 1)} }}

// Flusher is a MessageCreator that can leave a batch's durability to a
// later Flush: MessageCreateUnflushed commits a batch as MessageCreate does
// but may return before it is on disk, and Flush puts every batch
// committed so far on disk. GroupCommit then writes the next batch while
// the last one is flushed, and answers a publish only once it is flushed.
type Flusher interface {
	MessageCreateUnflushed(ctx context.Context, batch []*MessageCreate) error
	Flush() error
}

// ConcurrentCreator is a MessageCreator that takes several batches at
// once, as a database with many writers does: Writers says how many.
// GroupCommit then commits up to that many batches at the same time, so
// that the time one batch spends in round trips and in its commit's wait
// for the disk is not time every publish waits for.
type ConcurrentCreator interface {
	MessageCreator
	Writers() int
}

// Deliverer is told of the deliveries that each batch creates: the
// dispatcher, which so learns of new work without polling, and may take it
// leased straight from the publish instead of claiming it back.
type Deliverer interface {
	// Lease returns the lease for the deliveries of the next batch, nil to
	// lease none.
	Lease() *Lease
	// Deliver hands over the deliveries a committed batch leased.
	Deliver(tasks []Task, until time.Time)
	// Wake says that a committed batch created pending deliveries.
	Wake()
}

// RoomWaiter is a Deliverer that can have a batch wait a little for room
// to take its need deliveries, rather than leave them pending to be
// claimed back (see dispatch.Dispatcher.WaitRoom).
type RoomWaiter interface {
	WaitRoom(ctx context.Context, need int, maxWait time.Duration)
	// HasRoom reports whether WaitRoom would return at once.
	HasRoom(need int) bool
}

// roomWait is how long a batch waits for the dispatcher to have room for
// its deliveries while the dispatcher's queues do not drain; it waits
// longer while they do (see dispatch.Dispatcher.WaitRoom).
const roomWait = 50 * time.Millisecond

// NewGroupCommit returns a GroupCommit that writes batches of up to max
// messages to st and tells to (if not nil) of the deliveries each batch
// creates.
func NewGroupCommit(st MessageCreator, max int, to Deliverer) *GroupCommit {
	if max < 1 {
		max = 1
	}
	g := &GroupCommit{st: st, max: max, to: to, timeout: 30 * time.Second,
		reqs: make(chan *pending, max), done: make(chan struct{})}
	g.fl, _ = st.(Flusher)
	writers := 1
	if cc, ok := st.(ConcurrentCreator); ok && g.fl == nil && cc.Writers() > 1 {
		writers = cc.Writers()
	}
	g.slots = make(chan struct{}, writers)
	g.perMessage.Store(math.Float64bits(1))
	go g.run(writers)
	return g
}

// Publish stores m in the next batch and returns once that batch is
// durable: nil if m was stored (or found by its event ID), else the error.
// It waits for the commit even if ctx ends first, as the message may be
// stored by then.
//
// A publish that finds no other queued and a writer free is a batch of
// its own, written on the caller's goroutine: alone, it would wait for no
// one, and handing it to the writing goroutine and back would cost wake-ups
// of idle threads, more CPU at everyday rates than its transaction.
func (g *GroupCommit) Publish(ctx context.Context, m *MessageCreate) error {
	g.mu.RLock()
	if g.stopped {
		g.mu.RUnlock()
		return ErrStopped
	}
	if len(g.reqs) == 0 && g.busy.Load() == 0 && g.hasRoom() {
		select {
		case g.slots <- struct{}{}:
			// Stop waits for the read lock, and so for this batch.
			err := g.publishNow(m)
			g.mu.RUnlock()
			return err
		default:
		}
	}
	p := pendingPool.Get().(*pending)
	p.m = m
	select {
	case g.reqs <- p:
	case <-ctx.Done():
		g.mu.RUnlock()
		p.m = nil
		pendingPool.Put(p)
		return ctx.Err()
	}
	g.mu.RUnlock()
	err := <-p.err
	p.m = nil
	pendingPool.Put(p)
	return err
}

// Queued returns how many publishes wait for the next batch.
func (g *GroupCommit) Queued() int { return len(g.reqs) + int(g.held.Load()) }

// Stop refuses new publishes, commits those already queued, and returns
// when the last batch is written.
func (g *GroupCommit) Stop() {
	g.mu.Lock()
	if !g.stopped {
		g.stopped = true
		close(g.reqs)
	}
	g.mu.Unlock()
	<-g.done
}

// committed is a batch whose transaction has ended, with its error.
type committed struct {
	batch []*pending
	items []*MessageCreate
	lease *Lease
	err   error
}

func (g *GroupCommit) run(writers int) {
	defer close(g.done)
	if writers == 1 {
		g.write(g.fl, g.fl != nil)
		return
	}
	// Each writer takes the publishes queued when it is free: while one
	// commits, the next batch gathers and goes to another.
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { g.write(nil, false) })
	}
	wg.Wait()
}

// hasRoom reports whether the dispatcher has room for one message's
// deliveries now: a publish that would wait for room goes to the queue,
// so that the publishes that come while it waits share its batch.
func (g *GroupCommit) hasRoom() bool {
	waiter, ok := g.to.(RoomWaiter)
	return !ok || waiter.HasRoom(int(math.Ceil(math.Float64frombits(g.perMessage.Load()))))
}

// publishNow writes m as a batch of its own, holding a slot that it
// releases once the batch has committed, and answers once it is durable.
func (g *GroupCommit) publishNow(m *MessageCreate) error {
	g.busy.Add(1)
	defer g.busy.Add(-1)
	c := &committed{items: []*MessageCreate{m}}
	if g.to != nil {
		c.lease = g.to.Lease()
	}
	m.Lease = c.lease
	ctx, cancel := context.WithTimeout(WithAlone(context.Background()), g.timeout)
	defer cancel()
	if g.fl != nil {
		c.err = g.fl.MessageCreateUnflushed(ctx, c.items)
		<-g.slots
		if c.err == nil {
			c.err = g.fl.Flush()
		}
	} else {
		c.err = g.st.MessageCreate(ctx, c.items)
		<-g.slots
	}
	g.noteDeliveries(c)
	if c.err == nil && g.to != nil {
		g.handOver(c.items, c.lease)
	}
	if c.err != nil {
		return c.err
	}
	return m.Err
}

// prepare waits for the dispatcher to have room for a batch's deliveries
// and gives its items their lease.
func (g *GroupCommit) prepare(c *committed) {
	if waiter, ok := g.to.(RoomWaiter); ok {
		// Publishes that arrive meanwhile join the batch.
		per := math.Float64frombits(g.perMessage.Load())
		waiter.WaitRoom(context.Background(), int(math.Ceil(per*float64(len(c.items)+len(g.reqs)))), roomWait)
	}
	if g.to != nil {
		c.lease = g.to.Lease()
	}
	for _, m := range c.items {
		m.Lease = c.lease
	}
}

// noteDeliveries keeps how many deliveries each message of batch c
// created, unless it failed.
func (g *GroupCommit) noteDeliveries(c *committed) {
	if c.err != nil || len(c.items) == 0 {
		return
	}
	n := 0
	for _, m := range c.items {
		n += len(m.Deliveries)
	}
	g.perMessage.Store(math.Float64bits(float64(n) / float64(len(c.items))))
}

// write commits batches of the queued publishes until Stop; with
// pipelined, through fl, flushing each while it writes the next.
func (g *GroupCommit) write(fl Flusher, pipelined bool) {
	var flushes chan *committed
	var flushed chan struct{}
	if pipelined {
		// One batch is flushed while the next is written; a third waits.
		flushes, flushed = make(chan *committed, 1), make(chan struct{})
		go g.flushLoop(fl, flushes, flushed)
	}
	for p := range g.reqs {
		g.busy.Add(1)
		g.held.Add(1)
		g.slots <- struct{}{}
		g.held.Add(-1)
		c := &committed{batch: make([]*pending, 0, min(g.max, 1+len(g.reqs)))}
		c.batch = append(c.batch, p)
		// The items are listed before the wait for room so that it
		// counts them; publishes that arrive meanwhile join after it.
		c.items = append(make([]*MessageCreate, 0, cap(c.batch)), p.m)
		g.prepare(c)
	fill:
		for len(c.batch) < g.max {
			select {
			case q, ok := <-g.reqs:
				if !ok {
					break fill
				}
				c.batch = append(c.batch, q)
				q.m.Lease = c.lease
				c.items = append(c.items, q.m)
			default:
				break fill
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		if pipelined {
			c.err = fl.MessageCreateUnflushed(ctx, c.items)
			cancel()
			<-g.slots
			g.noteDeliveries(c)
			flushes <- c
			continue
		}
		c.err = g.st.MessageCreate(ctx, c.items)
		cancel()
		<-g.slots
		g.noteDeliveries(c)
		g.finish(c)
	}
	if pipelined {
		close(flushes)
		<-flushed
	}
}

// flushLoop makes committed batches durable, as many as have committed
// by then with one Flush, and answers their publishes.
func (g *GroupCommit) flushLoop(fl Flusher, flushes <-chan *committed, flushed chan<- struct{}) {
	defer close(flushed)
	var group []*committed
	for c := range flushes {
		group = append(group[:0], c)
	more:
		for {
			select {
			case c, ok := <-flushes:
				if !ok {
					break more
				}
				group = append(group, c)
			default:
				break more
			}
		}
		var err error
		for _, c := range group {
			if c.err == nil {
				err = fl.Flush()
				break
			}
		}
		for _, c := range group {
			if c.err == nil && err != nil {
				c.err = err
			}
			g.finish(c)
		}
		clear(group)
	}
}

// finish hands a durable batch's deliveries over and answers its
// publishes.
func (g *GroupCommit) finish(c *committed) {
	defer g.busy.Add(-1)
	if c.err == nil && g.to != nil {
		g.handOver(c.items, c.lease)
	}
	for _, q := range c.batch {
		if c.err != nil {
			q.err <- c.err
		} else {
			q.err <- q.m.Err
		}
	}
}

// handOver gives the dispatcher the deliveries a committed batch leased,
// and wakes it for those left pending.
func (g *GroupCommit) handOver(items []*MessageCreate, lease *Lease) {
	var tasks []Task
	pending := false
	for _, m := range items {
		tasks = append(tasks, m.Tasks...)
		pending = pending || len(m.Deliveries) > len(m.Tasks)
		m.Tasks = nil
	}
	if len(tasks) > 0 {
		g.to.Deliver(tasks, lease.Until)
	}
	if pending {
		g.to.Wake()
	}
}
