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
	after   func()
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

// NewGroupCommit returns a GroupCommit that writes batches of up to max
// messages to st and calls after (if not nil) once a batch that created
// deliveries has committed, which is how the dispatcher learns of new work
// without polling.
func NewGroupCommit(st MessageCreator, max int, after func()) *GroupCommit {
	if max < 1 {
		max = 1
	}
	g := &GroupCommit{st: st, max: max, after: after, timeout: 30 * time.Second,
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
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		err := g.st.MessageCreate(ctx, items)
		cancel()
		created := false
		for _, q := range batch {
			switch {
			case err != nil:
				q.err <- err
			default:
				created = created || len(q.m.Deliveries) > 0
				q.err <- q.m.Err
			}
		}
		if created && g.after != nil {
			g.after()
		}
		clear(items)
	}
}
