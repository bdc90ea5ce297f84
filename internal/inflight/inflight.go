// Package inflight bounds the bytes that requests in progress hold in
// memory. A request reserves what it may hold (the body it is about to
// read, the page it is about to build) before it holds it; past the bound
// it waits a moment for others to finish, then is refused with a status
// that tells the client to retry. A flood of large requests then slows to
// what memory allows instead of taking all of it, and small requests still
// pass between the large ones.
package inflight

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy is returned by Acquire when the bytes could not be reserved in
// time: the server holds as much as it may, and the client should retry.
var ErrBusy = errors.New("the server is holding as many request bytes as it may; retry shortly")

// Limiter bounds the bytes reserved at once. A nil Limiter bounds nothing.
type Limiter struct {
	sem     *semaphore.Weighted
	max     int64
	wait    time.Duration
	refused atomic.Int64
}

// New returns a Limiter of max bytes whose Acquire waits at most wait for
// room.
func New(max int64, wait time.Duration) *Limiter {
	return &Limiter{sem: semaphore.NewWeighted(max), max: max, wait: wait}
}

// Acquire reserves n bytes, waiting up to the Limiter's wait (or until ctx
// is done) for room, and returns the function that gives them back. A
// request larger than the whole bound reserves the whole bound, so it runs
// alone rather than never. It returns ErrBusy when there was no room in
// time, or ctx's error.
func (l *Limiter) Acquire(ctx context.Context, n int64) (release func(), err error) {
	if l == nil || n <= 0 {
		return func() {}, nil
	}
	n = min(n, l.max)
	if !l.sem.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, l.wait)
		err := l.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			l.refused.Add(1)
			return nil, ErrBusy
		}
	}
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			l.sem.Release(n)
		}
	}, nil
}

// Refused counts the requests refused with ErrBusy since the Limiter was
// made.
func (l *Limiter) Refused() int64 {
	if l == nil {
		return 0
	}
	return l.refused.Load()
}
