package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/internal/store"
)

// maxCombined is the most callers' writes one transaction takes.
const maxCombined = 16

// errClosed fails writes made after Close.
var errClosed = errors.New("sqlite store closed")

// writeJob is one caller's part of a shared write transaction.
type writeJob struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
	// state is jobQueued until the combiner starts the job or its caller
	// gives up on it, whichever comes first.
	state atomic.Int32
	// due is when a rider stops waiting for another write's transaction
	// (see ride).
	due time.Time
}

const (
	jobQueued int32 = iota
	jobStarted
	jobAbandoned
)

// combiner runs the writes that arrive while the writer is busy (publishes,
// claims, results, received inbound requests) in one transaction: one commit then writes the
// pages they share (the tail of deliveries, the indexes on it) once
// instead of once per caller. A job may run twice (see runBatch), so its
// function must set its results afresh each time it runs.
//
// A write that comes alone (store.Alone) and finds the writer free runs at
// once on its caller's goroutine: at everyday rates handing each write to
// another goroutine and back would cost two wake-ups of an idle thread,
// more CPU than many a transaction. Other writes queue, and the combiner's
// own goroutine runs them as one transaction.
type combiner struct {
	s *Store

	mu sync.Mutex
	// queue holds the jobs waiting for the writer; running is set while a
	// transaction runs, on a caller's goroutine or on run's. A queue that
	// is not empty always has running set: whoever ends the transaction
	// passes the queue on to run.
	queue   []*writeJob
	running bool
	closed  bool
	// riders are jobs that wait to join the next transaction (see ride).
	riders []*writeJob
	// riderTimer queues the riders that are due; riderAt is when it fires,
	// zero while it is stopped. One timer serves every rider: arming one
	// per ride would wake an idle thread to take each new timer in.
	riderTimer *time.Timer
	riderAt    time.Time

	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startCombiner(s *Store) *combiner {
	c := &combiner{s: s, kick: make(chan struct{}, 1), quit: make(chan struct{})}
	c.riderTimer = time.AfterFunc(time.Hour, c.ridersDue)
	c.riderTimer.Stop()
	c.wg.Add(1)
	go c.run()
	return c
}

// close stops the combiner once the transactions in progress have ended.
// Writes still queued fail with errClosed.
func (c *combiner) close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.riderTimer.Stop()
		c.mu.Unlock()
		close(c.quit)
	})
	c.wg.Wait()
}

// queued returns how many writes wait for the writer.
func (c *combiner) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// do runs fn in the next shared transaction and returns its outcome: fn's
// error, or the commit's. ctx bounds the wait for the transaction to
// begin; once fn has started it runs to the end.
func (c *combiner) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return c.enter(ctx, &writeJob{fn: fn, done: make(chan error, 1)}, store.Alone(ctx))
}

// enter queues j for run, or, with now and the writer free, runs it at
// once on the caller's goroutine with the riders waiting then. Only writes
// that come alone run at once: under load a write run at once would take
// a transaction of its own where the queue would have shared one.
func (c *combiner) enter(ctx context.Context, j *writeJob, now bool) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return errClosed
	case now && !c.running:
		c.running = true
		c.wg.Add(1)
		batch := c.takeRiders(append(make([]*writeJob, 0, 1+len(c.riders)), j))
		c.mu.Unlock()
		c.runBatch(batch)
		c.ended()
		c.wg.Done()
		return <-j.done
	}
	c.queue = append(c.queue, j)
	if !c.running {
		c.running = true
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	return c.wait(ctx, j)
}

// wait waits for the outcome of a job queued or riding.
func (c *combiner) wait(ctx context.Context, j *writeJob) error {
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return ctx.Err()
		}
	case <-c.quit:
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return errClosed
		}
	}
	return <-j.done
}

// ride runs fn in the next transaction that begins for other writes, or
// in one of its own once wait has passed with none: for writes that need
// not be on disk soon, such as the results of deliveries, so that at
// everyday rates they share the next publish's transaction instead of
// waking the writer for one of their own. While the writer is busy, fn
// queues as do's writes do: under load transactions follow one another,
// and a write held back would only hold the memory of what it records.
func (c *combiner) ride(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, wait time.Duration) error {
	j := &writeJob{fn: fn, done: make(chan error, 1), due: time.Now().Add(wait)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	if c.running {
		// The writer is busy: the job queues as any other, and so
		// shares a transaction soon without waiting.
		c.mu.Unlock()
		return c.enter(ctx, j, false)
	}
	c.riders = append(c.riders, j)
	if c.riderAt.IsZero() || j.due.Before(c.riderAt) {
		c.armRiders(j.due)
	}
	c.mu.Unlock()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			c.dropRider(j)
			return ctx.Err()
		}
		return <-j.done
	case <-c.quit:
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			c.dropRider(j)
			return errClosed
		}
		return <-j.done
	}
}

// armRiders has the rider timer fire at at. c.mu is held.
func (c *combiner) armRiders(at time.Time) {
	c.riderAt = at
	c.riderTimer.Reset(time.Until(at))
}

// ridersDue runs when the rider timer fires: the riders that have waited
// their time with no other write come alone, queued for run, and the timer
// is armed again for the next rider due, if any. A timer that fires late
// for riders a transaction already took finds none due.
func (c *combiner) ridersDue() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.riderAt = time.Time{}
	if c.closed {
		return
	}
	now := time.Now()
	var next time.Time
	kept := c.riders[:0]
	for _, j := range c.riders {
		switch {
		case !j.due.After(now):
			c.queue = append(c.queue, j)
		default:
			kept = append(kept, j)
			if next.IsZero() || j.due.Before(next) {
				next = j.due
			}
		}
	}
	clear(c.riders[len(kept):])
	c.riders = kept
	if !next.IsZero() {
		c.armRiders(next)
	}
	if len(c.queue) > 0 && !c.running {
		c.running = true
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// dropRider takes j off the riders, and reports whether it was there.
func (c *combiner) dropRider(j *writeJob) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.riders, j)
	if i < 0 {
		return false
	}
	c.riders = slices.Delete(c.riders, i, i+1)
	return true
}

// takeRiders appends to batch the riders it has room for. c.mu is held.
func (c *combiner) takeRiders(batch []*writeJob) []*writeJob {
	n := min(len(c.riders), max(0, maxCombined-len(batch)))
	batch = append(batch, c.riders[:n]...)
	rest := copy(c.riders, c.riders[n:])
	clear(c.riders[rest:])
	c.riders = c.riders[:rest]
	return batch
}

// ended is called when a transaction run on a caller's goroutine has
// ended: the writes queued meanwhile go to run.
func (c *combiner) ended() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.running = false
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// next takes up to maxCombined queued jobs into batch, or clears running
// when none wait.
func (c *combiner) next(batch []*writeJob) []*writeJob {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), maxCombined)
	batch = append(batch[:0], c.queue[:n]...)
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	if n == 0 {
		c.running = false
		return batch
	}
	return c.takeRiders(batch)
}

func (c *combiner) run() {
	defer c.wg.Done()
	batch := make([]*writeJob, 0, maxCombined)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		for {
			select {
			case <-c.quit:
				return
			default:
			}
			batch = c.next(batch)
			if len(batch) == 0 {
				break
			}
			c.runBatch(batch)
			clear(batch)
		}
	}
}

// runBatch runs the jobs their callers still wait for in one transaction
// and answers each. When one of several fails, the transaction is rolled
// back and each job runs again in a transaction of its own, so that one
// caller's failure undoes only its own writes. (A savepoint per job would
// do the same without running any twice, but makes SQLite copy every page
// a job touches into a statement journal: 15% more CPU per message.)
func (c *combiner) runBatch(batch []*writeJob) {
	// Filtered in place: run clears the whole batch afterwards.
	jobs := batch[:0]
	for _, j := range batch {
		if j.state.CompareAndSwap(jobQueued, jobStarted) {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return
	}
	err := c.s.runJobs(jobs)
	if err != nil && len(jobs) > 1 {
		for _, j := range jobs {
			j.done <- c.s.runJobs([]*writeJob{j})
		}
		return
	}
	for _, j := range jobs {
		j.done <- err
	}
}

// runJobs runs jobs in one write transaction whose commit is not flushed
// to disk (see lazyTx). It stops at the first job that fails and rolls
// back.
func (s *Store) runJobs(jobs []*writeJob) error {
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := j.fn(ctx, tx); err != nil {
			_ = tx.Rollback()
			s.tops.settle(tx, false)
			s.apps.forget()
			return err
		}
	}
	err = tx.Commit()
	s.tops.settle(tx, err == nil)
	if err != nil {
		s.apps.forget()
	}
	s.committed()
	return err
}
