package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
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
type combiner struct {
	s    *Store
	jobs chan *writeJob
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startCombiner(s *Store) *combiner {
	c := &combiner{s: s, jobs: make(chan *writeJob, maxCombined), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

// close stops the combiner once the transaction in progress has ended.
// Writes still queued fail with errClosed.
func (c *combiner) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}

// do runs fn in the next shared transaction and returns its outcome: fn's
// error, or the commit's. ctx bounds the wait for the transaction to
// begin; once fn has started it runs to the end.
func (c *combiner) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	j := &writeJob{fn: fn, done: make(chan error, 1)}
	select {
	case c.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return errClosed
	}
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

func (c *combiner) run() {
	defer c.wg.Done()
	batch := make([]*writeJob, 0, maxCombined)
	for {
		select {
		case <-c.quit:
			return
		case j := <-c.jobs:
			batch = append(batch[:0], j)
		}
	more:
		for len(batch) < maxCombined {
			select {
			case j := <-c.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		c.runBatch(batch)
		clear(batch)
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
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return err
	}
	defer func() {
		// Back to flushing every commit; if even this fails, the
		// connection must not serve publishes unflushed.
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := j.fn(ctx, tx); err != nil {
			_ = tx.Rollback()
			s.tops.settle(tx, false)
			return err
		}
	}
	err = tx.Commit()
	s.tops.settle(tx, err == nil)
	s.committed()
	return err
}
