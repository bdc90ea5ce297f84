package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

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
}

type pending struct {
	m   *MessageCreate
	err chan error
}

var pendingPool = sync.Pool{New: func() any { return &pending{err: make(chan error, 1)} }}

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

// NewGroupCommit returns a GroupCommit that writes batches of up to max
// messages to st and tells to (if not nil) of the deliveries each batch
// creates.
func NewGroupCommit(st MessageCreator, max int, to Deliverer) *GroupCommit {
	if max < 1 {
		max = 1
	}
	g := &GroupCommit{st: st, max: max, to: to, timeout: 30 * time.Second,
		reqs: make(chan *pending, max), done: make(chan struct{})}
	go g.run()
	return g
}

// Publish stores m in the next batch and returns once that batch is
// durable: nil if m was stored (or found by its event ID), else the error.
// It waits for the commit even if ctx ends first, as the message may be
// stored by then.
func (g *GroupCommit) Publish(ctx context.Context, m *MessageCreate) error {
	p := pendingPool.Get().(*pending)
	p.m = m
	g.mu.RLock()
	if g.stopped {
		g.mu.RUnlock()
		pendingPool.Put(p)
		return ErrStopped
	}
	select {
	case g.reqs <- p:
	case <-ctx.Done():
		g.mu.RUnlock()
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
func (g *GroupCommit) Queued() int { return len(g.reqs) }

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

func (g *GroupCommit) run() {
	defer close(g.done)
	batch := make([]*pending, 0, g.max)
	items := make([]*MessageCreate, 0, g.max)
	for p := range g.reqs {
		batch, items = append(batch[:0], p), append(items[:0], p.m)
	fill:
		for len(batch) < g.max {
			select {
			case q, ok := <-g.reqs:
				if !ok {
					break fill
				}
				batch, items = append(batch, q), append(items, q.m)
			default:
				break fill
			}
		}
		var lease *Lease
		if g.to != nil {
			lease = g.to.Lease()
		}
		for _, m := range items {
			m.Lease = lease
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		err := g.st.MessageCreate(ctx, items)
		cancel()
		if err == nil && g.to != nil {
			g.handOver(items, lease)
		}
		for _, q := range batch {
			if err != nil {
				q.err <- err
			} else {
				q.err <- q.m.Err
			}
		}
		clear(items)
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
