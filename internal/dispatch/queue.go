package dispatch

import (
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// endpointQueue holds the claimed tasks of one endpoint, in claim order,
// and what limits their sending. The Dispatcher's mu guards every field.
type endpointQueue struct {
	id    string
	tasks fifo[store.Task]
	// active counts the workers sending to this endpoint now.
	active int
	// conc is how many workers may send to this endpoint at once, up to
	// Options.PerEndpoint. It halves on each attempt that suggests the
	// endpoint is down or overloaded and grows by one on each success, so a
	// dead endpoint soon holds a single worker, waiting out its timeouts,
	// instead of PerEndpoint of them.
	conc int
	// gap is a moving average of the time between the endpoint's finished
	// attempts, set once two have finished (paced): the queue drains at
	// 1/gap under the load of the moment. It sizes the queue (queueCap).
	gap      time.Duration
	paced    bool
	lastDone time.Time
	// inReady is set while the queue is on the ready list.
	inReady bool
	// full is set when a claim left the endpoint out; the queue then wakes
	// the claimer once it has drained to half.
	full bool

	// rateLimit is the endpoint's limit that lim was made for; 0 for none.
	rateLimit int
	lim       *rate.Limiter
	// reserved is set while the queue holds a limiter token reserved for
	// its next send; waiting while a timer runs until that token is due.
	reserved, waiting bool
	timer             *time.Timer
}

// ready reports whether a worker may take the queue's next task now.
func (q *endpointQueue) ready() bool {
	return q.tasks.len() > 0 && q.active < q.conc && !q.waiting
}

// idle reports whether the queue holds nothing worth keeping apart from
// its limiter and concurrency.
func (q *endpointQueue) idle() bool {
	return q.tasks.len() == 0 && q.active == 0 && !q.inReady && !q.reserved && !q.waiting
}

// health says what an attempt tells about its endpoint's capacity.
type health int

const (
	neutral  health = iota // a response that says nothing of load, such as 404
	healthy                // a 2xx
	strained               // no response, a 5xx or a 429
)

// healthOf classifies the status code of a response.
func healthOf(code int) health {
	switch {
	case code >= 200 && code < 300:
		return healthy
	case code >= 500 || code == http.StatusTooManyRequests:
		return strained
	}
	return neutral
}

// observe records that an attempt finished at now, for the queue's drain
// rate: an exponentially weighted average of the gaps between finished
// attempts, over about the last sixteen.
func (q *endpointQueue) observe(now time.Time) {
	if !q.lastDone.IsZero() {
		g := now.Sub(q.lastDone)
		if q.paced {
			q.gap += (g - q.gap) / 16
		} else {
			q.gap, q.paced = g, true
		}
	}
	q.lastDone = now
}

// adjust changes the queue's concurrency after an attempt.
func (q *endpointQueue) adjust(h health, perEndpoint int) {
	switch h {
	case healthy:
		q.conc = min(perEndpoint, q.conc+1)
	case strained:
		q.conc = max(1, q.conc/2)
	}
}

// setRateLimit makes the limiter fit the endpoint's current limit, taken
// from the newest claimed task, so an edited limit applies within a claim.
func (q *endpointQueue) setRateLimit(limit *int) {
	n := 0
	if limit != nil && *limit > 0 {
		n = *limit
	}
	if n == q.rateLimit {
		return
	}
	q.rateLimit = n
	q.lim = nil
	if n > 0 {
		// A burst of 1 spaces the sends evenly: over any window of t
		// seconds the endpoint receives at most 1 + n·t deliveries.
		q.lim = rate.NewLimiter(rate.Limit(n), 1)
	}
}

// queueCap is how many tasks q may hold before claims leave it out:
// Options.EndpointQueue, or, for an endpoint that has been sending faster,
// what it sends in a quarter of the lease at the rate its queue has been
// draining, up to Options.EndpointQueueMax. The rate is measured under the
// load of the moment, so a task waits about a quarter of its lease at
// most, and the rest of the lease covers its request and the write of its
// result. Holding more than the rate limit lets through within half the
// lease would let leases lapse while tasks wait.
func (d *Dispatcher) queueCap(q *endpointQueue) int {
	c := d.opts.EndpointQueue
	if q.paced && d.opts.EndpointQueueMax > c {
		sendable := float64(d.opts.Lease/4) / float64(max(q.gap, time.Microsecond))
		c = max(c, int(min(sendable, float64(d.opts.EndpointQueueMax))))
	}
	if q.rateLimit > 0 {
		c = min(c, max(1, int(float64(q.rateLimit)*(d.opts.Lease/2).Seconds())))
	}
	return c
}

// markReady puts q on the ready list if a worker may take from it and it
// is not there yet. The caller holds mu.
func (d *Dispatcher) markReady(q *endpointQueue) {
	if q.inReady || !q.ready() {
		return
	}
	q.inReady = true
	d.ready.push(q)
	d.cond.Signal()
}

// next waits for a task a worker may send now and takes it, with its
// queue. It returns false once shutdown has begun. Endpoints take turns: a
// queue that still has work goes to the back of the ready list.
//
// A queue whose rate limit has no token now is taken off the ready list
// and put back by a timer when its token is due, so waiting for the limit
// holds no worker.
func (d *Dispatcher) next() (store.Task, *endpointQueue, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if d.closing {
			return store.Task{}, nil, false
		}
		q, ok := d.ready.pop()
		if !ok {
			d.cond.Wait()
			continue
		}
		q.inReady = false
		if !q.ready() {
			continue
		}
		if q.lim != nil && !q.reserved {
			now := time.Now()
			r := q.lim.ReserveN(now, 1)
			if delay := r.DelayFrom(now); delay > 0 {
				q.reserved, q.waiting = true, true
				d.timerWG.Add(1)
				q.timer = time.AfterFunc(delay, func() {
					defer d.timerWG.Done()
					d.mu.Lock()
					defer d.mu.Unlock()
					q.waiting, q.timer = false, nil
					d.markReady(q)
				})
				continue
			}
		}
		q.reserved = false
		t, _ := q.tasks.pop()
		q.active++
		d.queued--
		d.taken++
		if q.full && q.tasks.len() <= d.queueCap(q)/2 {
			q.full = false
			d.Wake()
		}
		d.noticeRoom()
		d.markReady(q)
		return t, q, true
	}
}

// noticeRoom wakes what waits for room in memory once there is enough: the
// claimer for a worthwhile claim, a publish for its batch. The caller
// holds mu.
func (d *Dispatcher) noticeRoom() {
	if d.wantRoom && d.room() >= max(1, min(d.opts.ClaimBatch, d.capacity())/2) {
		d.wantRoom = false
		d.Wake()
	}
	if d.roomFreed != nil && d.room() >= d.roomNeed {
		close(d.roomFreed)
		d.roomFreed = nil
	}
	if d.roomStuck && (d.room() >= max(1, d.capacity()/2) || d.taken-d.stuckAt >= uint64(max(1, d.capacity()/2))) {
		// Clearly draining again: publishes may wait again. Half, more
		// than any publish waits for, so that room hovering around what
		// publishes need does not stall them time after time.
		d.roomStuck = false
	}
}

// doneWith records that a worker has finished with one of q's tasks, of
// message m, with what the attempt said of the endpoint; sent is false for
// a task left unsent, which says nothing of the endpoint's pace.
func (d *Dispatcher) doneWith(q *endpointQueue, m *hookline.Message, h health, sent bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.payloads.drop(m)
	d.noticeRoom()
	q.active--
	q.adjust(h, d.opts.PerEndpoint)
	if sent {
		q.observe(time.Now())
	}
	d.markReady(q)
	d.forget(q, time.Now())
}

// forget drops an idle queue that is in the state a new one would be in:
// its limiter full and its concurrency whole. Queues of endpoints no
// longer sent to so do not pile up. The caller holds mu.
func (d *Dispatcher) forget(q *endpointQueue, now time.Time) {
	if q.idle() && q.conc == d.opts.PerEndpoint && (q.lim == nil || q.lim.TokensAt(now) >= 1) && d.queues[q.id] == q {
		delete(d.queues, q.id)
	}
}

// sweep forgets the idle queues that doneWith had to keep. An idle queue's
// concurrency doubles on each sweep: nothing was learned of the endpoint
// while nothing was sent, and its next attempts will teach afresh.
func (d *Dispatcher) sweep() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	for _, q := range d.queues {
		if q.idle() {
			q.conc = min(d.opts.PerEndpoint, 2*q.conc)
		}
		d.forget(q, now)
	}
}

// drain empties every queue at shutdown and returns the IDs of the
// deliveries that were claimed but not sent. It stops the rate limit
// timers; timerWG then covers those already firing.
func (d *Dispatcher) drain() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drained = true
	ids := append(d.unsent, d.giveBack...)
	d.unsent, d.giveBack = nil, nil
	for _, q := range d.queues {
		for {
			t, ok := q.tasks.pop()
			if !ok {
				break
			}
			ids = append(ids, t.Delivery.ID)
			d.queued--
			d.payloads.drop(t.Message)
		}
		if q.timer != nil && q.timer.Stop() {
			d.timerWG.Done()
		}
		q.timer = nil
	}
	return ids
}

// fifo is a first-in, first-out queue on a slice that reuses its space.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) len() int { return len(f.items) - f.head }

func (f *fifo[T]) push(v T) { f.items = append(f.items, v) }

func (f *fifo[T]) pop() (T, bool) {
	var zero T
	if f.head == len(f.items) {
		return zero, false
	}
	v := f.items[f.head]
	f.items[f.head] = zero
	f.head++
	switch {
	case f.head == len(f.items):
		f.items, f.head = f.items[:0], 0
	case f.head >= 64 && 2*f.head >= len(f.items):
		// Move the rest to the front so the slice does not grow without
		// end under steady traffic; the copy is paid for by the pops.
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return v, true
}
