package dispatch

import (
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// writeLoop writes results in batches: a result waits up to FlushDelay
// for others to share its store call, and a batch that reaches FlushBatch
// goes at once. While one batch is written the next gathers, so the batch
// size grows with the load and the store sees few, larger transactions.
// FlushWriters loops share the results.
//
// A result that comes more than half a FlushDelay after the last one, to
// a store whose results can join its next transaction (store.LazyFinisher),
// goes without waiting, with those already queued: at such rates no other
// would come in time to share its call, and the store's next transaction,
// a publish's, gathers it anyway. The wait would only cost a wake-up of
// its own for each result.
func (d *Dispatcher) writeLoop() {
	defer d.writeWG.Done()
	batch := make([]store.Result, 0, d.opts.FlushBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	_, lazy := d.st.(store.LazyFinisher)
	var last time.Time
	for {
		r, ok := <-d.results
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		now := time.Now()
		wait := !lazy || now.Sub(last) < d.opts.FlushDelay/2
		last = now
		if wait {
			timer.Reset(d.opts.FlushDelay)
			batch, ok = d.gather(batch, timer.C, &last)
			timer.Stop()
		} else {
			batch, ok = d.gather(batch, nil, nil)
		}
		d.nameMu.Lock()
		nameAttempts(batch)
		d.nameMu.Unlock()
		d.flush(batch)
		clear(batch)
		if !ok {
			return
		}
	}
}

// gather adds results to batch until it is full, or reports false once
// the results have ended. With timeout it waits for more until timeout
// fires, setting last to when the latest came; without, it takes only
// those already queued.
func (d *Dispatcher) gather(batch []store.Result, timeout <-chan time.Time, last *time.Time) ([]store.Result, bool) {
	for len(batch) < d.opts.FlushBatch {
		if timeout == nil {
			select {
			case r, ok := <-d.results:
				if !ok {
					return batch, false
				}
				batch = append(batch, r)
				continue
			default:
				return batch, true
			}
		}
		select {
		case r, ok := <-d.results:
			if !ok {
				return batch, false
			}
			batch = append(batch, r)
			*last = time.Now()
		case <-timeout:
			return batch, true
		}
	}
	return batch, true
}

// nameAttempts gives the attempts of a batch about to be written their
// IDs. IDs from one process only grow, so each attempt this dispatcher
// writes has an ID above those it wrote before, whatever order their
// requests started in. A list of attempts by ID then follows the order in
// which they were recorded, and the SQLite store covers an endpoint's
// attempts in a batch with one range of IDs: an attempt named when its
// request started, and written after a faster one started later, would
// fall below that range and take one of its own (about one attempt in
// seven at fan-out 10).
func nameAttempts(batch []store.Result) {
	for i := range batch {
		if a := batch[i].Attempt; a != nil {
			a.ID = hookline.NewID(hookline.PrefixAttempt)
		}
	}
}

// flush writes one batch of results, retrying with backoff for as long as
// the store refuses: a result not written would have its delivery sent
// again once the lease lapses. It gives up only when the dispatcher is
// aborted.
func (d *Dispatcher) flush(batch []store.Result) {
	d.mu.Lock()
	for i := range batch {
		if _, ok := d.again[batch[i].Delivery.ID]; ok {
			batch[i].Superseded = true
		}
	}
	d.mu.Unlock()
	backoff := 10 * time.Millisecond
	written := false
	lazy, _ := d.st.(store.LazyFinisher)
	if len(batch) > lazyResults || len(d.results) > 0 {
		// Results keep coming: a transaction of their own is soon full,
		// and results that waited for another would hold up those
		// behind them.
		lazy = nil
	}
	for try := 1; ; try++ {
		var err error
		if lazy != nil && try == 1 {
			err = lazy.DeliveryFinishLazy(d.ctx, batch, lazyWait)
		} else {
			err = d.st.DeliveryFinish(d.ctx, batch)
		}
		if err == nil {
			d.written.Add(int64(len(batch)))
			written = true
			break
		}
		if d.ctx.Err() != nil {
			d.log.Error("write results", "count", len(batch), "err", err,
				"detail", "not written; their deliveries are due again when the lease lapses")
			break
		}
		d.log.Warn("write results", "count", len(batch), "try", try, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-d.ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	var (
		due    time.Time
		events []opwebhook.Event
		again  []againTask
	)
	d.mu.Lock()
	for i := range batch {
		dl := &batch[i].Delivery
		delete(d.held, dl.ID)
		if a, ok := d.again[dl.ID]; ok {
			delete(d.again, dl.ID)
			again = append(again, a)
		}
		if dl.Status == hookline.StatusPending && (due.IsZero() || dl.NextAttempt.Before(due)) {
			due = dl.NextAttempt
		}
	}
	if len(d.notes) > 0 {
		events = d.tell(batch)
		if !written {
			// Sent again once the lease lapses: the events come then.
			events = nil
		}
	}
	d.mu.Unlock()
	for _, a := range again {
		d.enqueue([]store.Task{a.task}, a.leaseUntil)
	}
	for _, ev := range events {
		d.opts.Events.Emit(ev)
	}
	if !due.IsZero() {
		d.wakeAt(due)
	}
}

// At everyday rates a batch of results is small and no other waits behind
// it: up to lazyResults of them wait up to lazyWait for the store's next
// transaction, such as a publish's, to join it (see store.LazyFinisher),
// rather than wake the writer for a transaction of their own.
const (
	lazyResults = 8
	lazyWait    = 50 * time.Millisecond
)

// wakeAt has the claimer claim at t, when a retry just written falls due,
// rather than at its next poll.
func (d *Dispatcher) wakeAt(t time.Time) {
	d.mu.Lock()
	earlier := d.nextDue.IsZero() || t.Before(d.nextDue)
	if earlier {
		d.nextDue = t
	}
	d.mu.Unlock()
	if earlier {
		select {
		case d.rearm <- struct{}{}:
		default:
		}
	}
}

// againTask is a delivery claimed again while this process was sending it
// (see Dispatcher.again).
type againTask struct {
	task       store.Task
	leaseUntil time.Time
}
