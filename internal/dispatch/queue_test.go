package dispatch

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// blocker is a handler that holds every request until released, and
// counts how many it holds at once.
type blocker struct {
	release chan struct{}
	arrived chan struct{}

	mu              sync.Mutex
	active, maxSeen int
	total           int
}

func newBlocker() *blocker {
	return &blocker{release: make(chan struct{}), arrived: make(chan struct{}, 100)}
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.active++
	b.total++
	b.maxSeen = max(b.maxSeen, b.active)
	b.mu.Unlock()
	b.arrived <- struct{}{}
	select {
	case <-b.release:
	case <-r.Context().Done():
	}
	b.mu.Lock()
	b.active--
	b.mu.Unlock()
}

func (b *blocker) stats() (maxSeen, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.maxSeen, b.total
}

// waitArrivals waits for n requests to reach b, at most 10 seconds.
func (b *blocker) waitArrivals(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for range n {
		select {
		case <-b.arrived:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %d requests", n)
		}
	}
}

func count(results []store.Result, endpointID string, status hookline.Status) int {
	n := 0
	for _, r := range results {
		if r.Delivery.EndpointID == endpointID && r.Delivery.Status == status {
			n++
		}
	}
	return n
}

func TestSlowEndpointDoesNotHoldUpOthers(t *testing.T) {
	slow := newBlocker()
	slowSrv := newServer(t, slow)
	fastSrv := newServer(t, &recorder{})
	slowEp, fastEp := newEndpoint(slowSrv.URL), newEndpoint(fastSrv.URL)
	// The slow endpoint's deliveries come first, so a dispatcher that
	// sent in claim order alone would fill every worker with them.
	all := append(tasks(slowEp, 10), tasks(fastEp, 10)...)
	st := newFakeStore(all...)
	startDispatcher(t, st, Options{Workers: 4, PerEndpoint: 2})
	t.Cleanup(func() { close(slow.release) }) // before the dispatcher stops

	st.wait(t, "the fast endpoint's deliveries", func() bool {
		return count(st.results, fastEp.ID, hookline.StatusSuccess) == 10
	})
	maxSeen, _ := slow.stats()
	if maxSeen != 2 {
		t.Errorf("the slow endpoint held %d requests at once, want PerEndpoint = 2", maxSeen)
	}
	if n := count(st.results, slowEp.ID, hookline.StatusSuccess); n != 0 {
		t.Errorf("%d slow deliveries finished before the endpoint answered", n)
	}
}

func TestExcludeFullQueue(t *testing.T) {
	slow := newBlocker()
	slowSrv := newServer(t, slow)
	fastSrv := newServer(t, &recorder{})
	slowEp, fastEp := newEndpoint(slowSrv.URL), newEndpoint(fastSrv.URL)
	st := newFakeStore(tasks(slowEp, 5)...)
	d := startDispatcher(t, st, Options{Workers: 4, PerEndpoint: 1, EndpointQueue: 2, PollInterval: time.Hour})
	t.Cleanup(func() { close(slow.release) }) // before the dispatcher stops
	slow.waitArrivals(t, 1)

	// The slow endpoint has 4 deliveries waiting, over its queue of 2: the
	// next claim leaves it out, and the fast endpoint's are claimed.
	st.add(tasks(slowEp, 3)...)
	st.add(tasks(fastEp, 3)...)
	d.Wake()
	st.wait(t, "the fast endpoint's deliveries", func() bool {
		return count(st.results, fastEp.ID, hookline.StatusSuccess) == 3
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	last := st.claims[len(st.claims)-1]
	if !cmp.Equal(last.Exclude, []string{slowEp.ID}) {
		t.Errorf("claim excluded %q, want the slow endpoint %q", last.Exclude, slowEp.ID)
	}
	if len(st.pending) != 3 {
		t.Errorf("%d deliveries left in the store, want the slow endpoint's 3", len(st.pending))
	}
}

func TestDeliverLeasedAtPublish(t *testing.T) {
	slow := newBlocker()
	slowEp := newEndpoint(newServer(t, slow).URL)
	fastEp := newEndpoint(newServer(t, &recorder{}).URL)
	st := newFakeStore()
	d := New(st, Options{Client: NewClient(nil, 10*time.Second), Workers: 4, PerEndpoint: 1, EndpointQueue: 2,
		MaxQueued: 10, PollInterval: time.Hour, Now: fixedNow})
	if l := d.Lease(); l != nil {
		t.Fatalf("a dispatcher not started offered lease %+v", l)
	}
	d = startDispatcher(t, st, Options{Workers: 4, PerEndpoint: 1, EndpointQueue: 2, MaxQueued: 10, PollInterval: time.Hour, Now: fixedNow})
	t.Cleanup(func() { close(slow.release) }) // before the dispatcher stops

	l := d.Lease()
	if l == nil || l.Limit != 10 || len(l.Exclude) != 0 || !l.Until.Equal(testNow.Add(2*time.Minute)) {
		t.Fatalf("lease of an idle dispatcher = %+v, want room for MaxQueued, nothing excluded, until now + the lease", l)
	}
	// One request in flight to the slow endpoint and its queue of 2 full:
	// the next lease leaves it out and counts the room left.
	d.Deliver(tasks(slowEp, 3), l.Until)
	slow.waitArrivals(t, 1)
	l = d.Lease()
	if l == nil || l.Limit != 8 || !cmp.Equal(l.Exclude, []string{slowEp.ID}) {
		t.Fatalf("lease with a full queue = %+v, want limit 8 excluding %s", l, slowEp.ID)
	}
	// Tasks handed over go out, though the store has nothing to claim.
	d.Deliver(tasks(fastEp, 3), l.Until)
	st.wait(t, "the handed-over deliveries", func() bool { return count(st.results, fastEp.ID, hookline.StatusSuccess) == 3 })
	if s := d.Stats(); s.Claimed != 6 {
		t.Errorf("claimed %d, want the 6 handed over", s.Claimed)
	}
}

func TestDeliverAfterStopReleases(t *testing.T) {
	st := newFakeStore()
	d := startDispatcher(t, st, Options{PollInterval: time.Hour})
	l := d.Lease()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := d.Lease(); got != nil {
		t.Errorf("a stopped dispatcher offered lease %+v", got)
	}
	// A publish that took its lease before the stop commits after it.
	late := tasks(newEndpoint("http://127.0.0.1:1/"), 2)
	d.Deliver(late, l.Until)
	_, released := st.snapshot()
	want := []string{late[0].Delivery.ID, late[1].Delivery.ID}
	if !cmp.Equal(released, want) {
		t.Errorf("released %v, want the late deliveries %v back in the store", released, want)
	}
}

func TestWakeClaimsAtOnce(t *testing.T) {
	st := newFakeStore()
	d := startDispatcher(t, st, Options{PollInterval: time.Hour})
	st.wait(t, "the first claim", func() bool { return len(st.claims) == 1 })
	st.add(tasks(newEndpoint(newServer(t, &recorder{}).URL), 1)...)
	d.Wake()
	st.waitResults(t, 1)
}

func TestStopReleasesAndFlushes(t *testing.T) {
	slow := newBlocker()
	srv := newServer(t, slow)
	all := tasks(newEndpoint(srv.URL), 5)
	st := newFakeStore(all...)
	// No result would be written within the hour unless Stop writes it.
	d := startDispatcher(t, st, Options{Workers: 2, PerEndpoint: 1, FlushDelay: time.Hour})
	slow.waitArrivals(t, 1)

	d.beginStop()
	close(slow.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	results, released := st.snapshot()
	if len(results) != 1 || results[0].Delivery.Status != hookline.StatusSuccess {
		t.Fatalf("results %+v, want the one delivery in flight, succeeded", results)
	}
	var want []string
	for _, task := range all {
		if task.Delivery.ID != results[0].Delivery.ID {
			want = append(want, task.Delivery.ID)
		}
	}
	slices.Sort(want)
	slices.Sort(released)
	if diff := cmp.Diff(want, released); diff != "" {
		t.Errorf("released (-want +got):\n%s", diff)
	}
	if _, total := slow.stats(); total != 1 {
		t.Errorf("%d requests, want 1", total)
	}
	if s := d.Stats(); s.Queued != 0 || s.Written != 1 || s.Claimed != 5 {
		t.Errorf("stats %+v", s)
	}
}

func TestStopAbortsWhenContextEnds(t *testing.T) {
	slow := newBlocker()
	srv := newServer(t, slow)
	t.Cleanup(func() { close(slow.release) })
	st := newFakeStore(tasks(newEndpoint(srv.URL), 1)...)
	d := New(st, Options{Client: NewClient(nil, time.Minute)})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	slow.waitArrivals(t, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- d.Stop(ctx) }()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("stop = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after its context ended")
	}
	// The request cut off is no attempt: nothing is recorded, and the
	// delivery is due again when its lease lapses.
	if results, _ := st.snapshot(); len(results) != 0 {
		t.Errorf("results %+v, want none", results)
	}
}

func TestStartContextCanceled(t *testing.T) {
	st := newFakeStore(tasks(newEndpoint(newServer(t, &recorder{}).URL), 1)...)
	d := New(st, Options{Client: NewClient(nil, time.Minute)})
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st.waitResults(t, 1)
	cancel()
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatcher did not shut down when its context ended")
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func TestWriteRetried(t *testing.T) {
	st := newFakeStore(tasks(newEndpoint(newServer(t, &recorder{}).URL), 1)...)
	st.finishErrs = 2
	startDispatcher(t, st, Options{})
	st.waitResults(t, 1)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.finishCalls != 3 {
		t.Errorf("%d writes, want 2 failed and 1 that worked", st.finishCalls)
	}
}

func TestClaimedTwiceSentOnce(t *testing.T) {
	rec := &recorder{}
	task := newTask(newEndpoint(newServer(t, rec).URL), newMessage())
	// A lease that lapses while the delivery waits lets a claim take it
	// again; the dispatcher still holds it and must not send it twice.
	st := newFakeStore(task, task)
	d := startDispatcher(t, st, Options{})
	st.waitResults(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	results, _ := st.snapshot()
	if n := len(rec.requests()); n != 1 || len(results) != 1 {
		t.Errorf("%d requests and %d results, want 1 of each", n, len(results))
	}
}

// failingClient returns a client whose every request gets a 500, and a
// func that lists when each request was made.
func failingClient() (Client, func() []time.Time) {
	var mu sync.Mutex
	var sent []time.Time
	client := clientFunc(func(*Request) (int, error) {
		mu.Lock()
		sent = append(sent, time.Now())
		mu.Unlock()
		return 500, nil
	})
	return client, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}

func TestRetriesFollowSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		schedule := []time.Duration{0, time.Second, 10 * time.Second, time.Minute}
		const poll = 100 * time.Millisecond
		client, sentAt := failingClient()
		st := newFakeStore(tasks(newEndpoint("http://receiver.test/hook"), 1)...)
		st.requeue = true
		d := startDispatcher(t, st, Options{Client: client, Schedule: schedule, Jitter: -1, PollInterval: poll})
		// Fake time: the whole schedule passes at once.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if err := d.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}

		results, _ := st.snapshot()
		sent := sentAt()
		if len(results) != len(schedule) || len(sent) != len(schedule) {
			t.Fatalf("%d results of %d requests, want %d", len(results), len(sent), len(schedule))
		}
		for i := 1; i < len(sent); i++ {
			// A retry goes out at its due time, or at the next poll after it.
			gap := sent[i].Sub(sent[i-1])
			if gap < schedule[i] || gap > schedule[i]+poll {
				t.Errorf("attempt %d came %v after the one before, want %v (poll %v)", i+1, gap, schedule[i], poll)
			}
			if got, want := results[i-1].Delivery.NextAttempt, sent[i-1].Add(schedule[i]); !got.Equal(want) {
				t.Errorf("result %d: next attempt %v, want %v", i, got, want)
			}
		}
		for i, r := range results {
			if r.Delivery.Attempts != i+1 {
				t.Errorf("result %d counts %d attempts", i+1, r.Delivery.Attempts)
			}
		}
	})
}

func TestRetryClaimedWhenDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		schedule := []time.Duration{0, 300 * time.Millisecond, 2 * time.Second}
		client, sentAt := failingClient()
		st := newFakeStore(tasks(newEndpoint("http://receiver.test/hook"), 1)...)
		st.requeue = true
		// Nothing publishes and the poll is an hour away: only the due
		// time of each retry written can bring it back.
		d := startDispatcher(t, st, Options{Client: client, Schedule: schedule, Jitter: -1, PollInterval: time.Hour})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if err := d.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		sent := sentAt()
		if len(sent) != len(schedule) {
			t.Fatalf("%d requests, want %d", len(sent), len(schedule))
		}
		for i := 1; i < len(sent); i++ {
			if gap := sent[i].Sub(sent[i-1]); gap < schedule[i] || gap > schedule[i]+10*time.Millisecond {
				t.Errorf("attempt %d came %v after the one before, want %v", i+1, gap, schedule[i])
			}
		}
	})
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perSecond = 5
		limit := perSecond
		limited := newEndpoint("http://limited.test/hook")
		limited.RateLimit = &limit
		free := newEndpoint("http://free.test/hook")

		start := time.Now()
		var mu sync.Mutex
		sent := map[string][]time.Duration{}
		client := clientFunc(func(r *Request) (int, error) {
			u, err := url.Parse(r.URL)
			if err != nil {
				return 0, err
			}
			mu.Lock()
			sent[u.Host] = append(sent[u.Host], time.Since(start))
			mu.Unlock()
			return 200, nil
		})
		var all []store.Task
		for range 40 {
			all = append(all, newTask(limited, newMessage()), newTask(free, newMessage()))
		}
		st := newFakeStore(all...)
		// One worker: were it to wait for the limited endpoint's tokens,
		// the free endpoint's deliveries would wait with it.
		d := startDispatcher(t, st, Options{Client: client, Workers: 1})
		const window = 2 * time.Second
		time.Sleep(window)
		synctest.Wait()

		mu.Lock()
		limitedAt, freeAt := slices.Clone(sent["limited.test"]), slices.Clone(sent["free.test"])
		mu.Unlock()
		// With a burst of 1, any window of t seconds sees at most 1 + r·t.
		if n, most := len(limitedAt), 1+perSecond*int(window/time.Second); n > most || n < most-1 {
			t.Errorf("%d deliveries to the limited endpoint in %v, want %d (at most %d)", n, window, most, most)
		}
		for i := 1; i < len(limitedAt); i++ {
			if gap := limitedAt[i] - limitedAt[i-1]; gap < time.Second/perSecond {
				t.Errorf("deliveries %d and %d to the limited endpoint %v apart", i, i+1, gap)
			}
		}
		if len(freeAt) != 40 || freeAt[len(freeAt)-1] != 0 {
			t.Errorf("free endpoint: %d deliveries, the last at %v; want 40 at once", len(freeAt), freeAt[len(freeAt)-1:])
		}

		if err := d.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		results, released := st.snapshot()
		if len(results)+len(released) != len(all) {
			t.Errorf("%d results and %d released of %d deliveries", len(results), len(released), len(all))
		}
	})
}

func TestRateLimitChange(t *testing.T) {
	q := &endpointQueue{}
	five, ten := 5, 10
	q.setRateLimit(&five)
	lim := q.lim
	if lim == nil || lim.Limit() != 5 {
		t.Fatalf("limiter %v for 5/s", lim)
	}
	q.setRateLimit(&five)
	if q.lim != lim {
		t.Error("an unchanged limit made a new limiter")
	}
	q.setRateLimit(&ten)
	if q.lim == nil || q.lim.Limit() != 10 {
		t.Errorf("limiter %v after a change to 10/s", q.lim)
	}
	q.setRateLimit(nil)
	if q.lim != nil {
		t.Error("limiter kept after the limit was removed")
	}
}

func TestFIFO(t *testing.T) {
	var f fifo[int]
	next := 0
	for round := range 50 {
		for i := range 100 {
			f.push(round*100 + i)
		}
		for range 60 {
			v, ok := f.pop()
			if !ok || v != next {
				t.Fatalf("pop = %d, %v; want %d", v, ok, next)
			}
			next++
		}
	}
	for f.len() > 0 {
		v, _ := f.pop()
		if v != next {
			t.Fatalf("pop = %d, want %d", v, next)
		}
		next++
	}
	if next != 5000 {
		t.Errorf("popped %d values, want 5000", next)
	}
	if _, ok := f.pop(); ok {
		t.Error("pop from an empty fifo")
	}
}

func TestIdleQueuesForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := answer(200)
		one := 1
		limited := newEndpoint("http://limited.test/hook")
		limited.RateLimit = &one
		st := newFakeStore(newTask(limited, newMessage()), newTask(newEndpoint("http://free.test/hook"), newMessage()))
		d := startDispatcher(t, st, Options{Client: client, PollInterval: 100 * time.Millisecond})
		synctest.Wait()
		d.mu.Lock()
		n := len(d.queues)
		d.mu.Unlock()
		if n != 1 {
			t.Errorf("%d queues kept right after sending, want the limited endpoint's", n)
		}
		// Once the limiter has refilled, the queue is no different from a
		// new one, and the next sweep drops it.
		time.Sleep(2 * time.Second)
		synctest.Wait()
		d.mu.Lock()
		n = len(d.queues)
		d.mu.Unlock()
		if n != 0 {
			t.Errorf("%d queues kept after the endpoints went idle", n)
		}
	})
}

func TestDeadEndpointHoldsOneWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = time.Second
		start := time.Now()
		var mu sync.Mutex
		active, peak := 0, 0 // peak counts from the first timeouts on
		client := clientFunc(func(r *Request) (int, error) {
			mu.Lock()
			active++
			if time.Since(start) >= timeout {
				peak = max(peak, active)
			}
			mu.Unlock()
			time.Sleep(time.Until(r.Deadline))
			mu.Lock()
			active--
			mu.Unlock()
			return 0, context.DeadlineExceeded
		})
		st := newFakeStore(tasks(newEndpoint("http://dead.test/hook"), 20)...)
		startDispatcher(t, st, Options{Client: client, Workers: 8, PerEndpoint: 4, Timeout: timeout})
		time.Sleep(10*timeout + timeout/2)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		if peak != 1 {
			t.Errorf("%d requests at once to the dead endpoint after its first timeouts, want 1", peak)
		}
		// 4 time out together at 1s, then one a second.
		if results, _ := st.snapshot(); len(results) != 4+9 {
			t.Errorf("%d attempts in 10s, want 13", len(results))
		}
	})
}

func TestConcurrencyAdjust(t *testing.T) {
	q := &endpointQueue{conc: 8}
	steps := []struct {
		h    health
		want int
	}{
		{strained, 4}, {neutral, 4}, {strained, 2}, {strained, 1}, {strained, 1},
		{healthy, 2}, {healthy, 3}, {neutral, 3}, {healthy, 4},
	}
	for i, s := range steps {
		q.adjust(s.h, 4)
		if q.conc != s.want {
			t.Fatalf("step %d: concurrency %d, want %d", i+1, q.conc, s.want)
		}
	}
	for code, want := range map[int]health{200: healthy, 204: healthy, 301: neutral, 404: neutral, 410: neutral, 429: strained, 500: strained, 503: strained} {
		if got := healthOf(code); got != want {
			t.Errorf("healthOf(%d) = %v, want %v", code, got, want)
		}
	}
}

// TestQueueCapFollowsThroughput checks that an endpoint's queue grows past
// EndpointQueue only as far as it drains within a quarter of the lease at
// the pace its attempts have been finishing, and never past
// EndpointQueueMax or what its rate limit lets through.
func TestQueueCapFollowsThroughput(t *testing.T) {
	d := New(newFakeStore(), Options{Client: NewClient(nil, time.Second), PerEndpoint: 4, EndpointQueue: 10,
		EndpointQueueMax: 100, Lease: 40 * time.Second, Timeout: time.Second})
	t0 := time.Now()
	tests := []struct {
		name string
		gaps []time.Duration // between finished attempts
		rate int
		want int
	}{
		{"nothing observed", nil, 0, 10},
		{"one attempt: no pace yet", []time.Duration{0}, 0, 10},
		{"slow: 10 s / 2 s", []time.Duration{0, 2 * time.Second}, 0, 10},
		{"fast: 10 s / 250 ms", []time.Duration{0, 250 * time.Millisecond}, 0, 40},
		{"very fast: at most EndpointQueueMax", []time.Duration{0, time.Millisecond}, 0, 100},
		{"rate limit: 2/s × 20 s", []time.Duration{0, time.Millisecond}, 2, 40},
		// From 1 ms, 32 gaps of 2 s bring the average past 1 s.
		{"slowed down", append([]time.Duration{0, time.Millisecond}, slices.Repeat([]time.Duration{2 * time.Second}, 32)...), 0, 10},
	}
	for _, tt := range tests {
		q := &endpointQueue{conc: 4}
		at := t0
		for _, g := range tt.gaps {
			at = at.Add(g)
			q.observe(at)
		}
		if tt.rate > 0 {
			q.setRateLimit(&tt.rate)
		}
		if got := d.queueCap(q); got != tt.want {
			t.Errorf("%s: queue cap %d (gap %v), want %d", tt.name, got, q.gap, tt.want)
		}
	}
}

// TestLeaseRunsShort checks that a task whose lease would end before its
// request could finish is not sent: once the lease lapses another node may
// claim it, and the two must not both send.
func TestLeaseRunsShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		sent := 0
		client := clientFunc(func(*Request) (int, error) {
			time.Sleep(900 * time.Millisecond) // a slow receiver, on the fake clock
			mu.Lock()
			sent++
			mu.Unlock()
			return 200, nil
		})
		ep := newEndpoint("http://slow.test/hook")
		st := newFakeStore(tasks(ep, 8)...)
		// One request at a time, each 0.9 s, within a 4 s lease and a 1 s
		// timeout: requests start at 0, 0.9, 1.8 and 2.7 s; at 3.6 s a
		// request could outlast the lease, so the rest stay unsent.
		d := startDispatcher(t, st, Options{Client: client, PerEndpoint: 1, Timeout: time.Second, Lease: 4 * time.Second, PollInterval: time.Hour})
		time.Sleep(3950 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if sent != 4 {
			t.Errorf("sent %d requests, want 4: those that could finish within the lease", sent)
		}
		if got := d.Stats().Expired; got != 4 {
			t.Errorf("Expired = %d, want the 4 left unsent", got)
		}
	})
}

// TestWaitRoom checks that a publish waiting for room in memory is let go
// as soon as the workers free some, and that once a wait ran out with the
// queues not draining, publishes stop waiting until they drain again.
func TestWaitRoom(t *testing.T) {
	client, tokens := tokenClient()
	st := newFakeStore()
	d := startDispatcher(t, st, Options{Client: client, Workers: 1, PerEndpoint: 1, EndpointQueue: 8,
		EndpointQueueMax: 8, MaxQueued: 8, PollInterval: time.Hour, Now: fixedNow})
	t.Cleanup(func() { close(tokens) }) // before the dispatcher stops
	ep := newEndpoint("http://127.0.0.1:9/hook")
	// Publishes here need room for two deliveries.
	waitRoomFor := func(need int, max time.Duration) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.WaitRoom(context.Background(), need, max)
		}()
		return done
	}
	waitRoom := func(max time.Duration) <-chan struct{} { return waitRoomFor(2, max) }
	returns := func(what string, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: WaitRoom did not return", what)
		}
	}
	locked := func(f func()) {
		d.mu.Lock()
		defer d.mu.Unlock()
		f()
	}
	// poll waits, a bounded while, until cond holds with d locked.
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok := false
			locked(func() { ok = cond() })
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}

	returns("with room", waitRoom(time.Hour))

	// One delivery in flight and seven queued leave room for one.
	d.Deliver(tasks(ep, 8), testNow.Add(time.Hour))
	poll("seven queued", func() bool { return d.queued == 7 })
	returns("a publish that fits", waitRoomFor(1, time.Hour))
	done := waitRoom(time.Hour)
	poll("a publish waiting for room", func() bool { return d.roomFreed != nil })
	tokens <- struct{}{} // the worker takes the next: six queued
	returns("once room freed", done)
	// Back to full (a publish's deliveries took the room): it waits again.
	d.Deliver(tasks(ep, 1), testNow.Add(time.Hour))
	poll("seven queued again", func() bool { return d.queued == 7 })

	// Draining, but slower than a span of the wait: it waits on. The
	// spans are long enough that the first token is taken within the
	// first; the sleep lets that span end before the room is there.
	d.Deliver(tasks(ep, 1), testNow.Add(time.Hour))
	poll("eight queued", func() bool { return d.queued == 8 })
	const span = 500 * time.Millisecond
	done = waitRoom(span)
	poll("a publish waiting for room", func() bool { return d.roomFreed != nil })
	tokens <- struct{}{} // room for one: the queues drain
	poll("seven queued", func() bool { return d.queued == 7 })
	time.Sleep(span + span/2)
	select {
	case <-done:
		t.Fatal("a publish stopped waiting while the queues drained")
	default:
	}
	tokens <- struct{}{} // room for two
	returns("once room freed after a span", done)
	stuck := false
	locked(func() { stuck = d.roomStuck })
	if stuck {
		t.Fatal("a wait that saw the queues drain marked them stuck")
	}
	d.Deliver(tasks(ep, 1), testNow.Add(time.Hour))
	poll("seven queued once more", func() bool { return d.queued == 7 })

	// The queues stop draining: a wait runs out, and the next does not
	// wait at all.
	returns("running out", waitRoom(10*time.Millisecond))
	locked(func() { stuck = d.roomStuck })
	if !stuck {
		t.Fatal("a wait that ran out did not mark the queues stuck")
	}
	returns("while stuck", waitRoom(time.Hour))
	// Room for what a publish needs is not enough to wait again: only half
	// of memory is.
	tokens <- struct{}{}
	poll("six queued", func() bool { return d.queued == 6 })
	locked(func() { stuck = d.roomStuck })
	if !stuck {
		t.Error("room for a publish's need cleared the stuck mark; want half of memory")
	}
	// Publishes refill what the workers take: memory stays short of half
	// free, but the workers taking half of it since clears the mark.
	d.Deliver(tasks(ep, 3), testNow.Add(time.Hour))
	poll("nine queued", func() bool { return d.queued == 9 })
	for range 2 {
		tokens <- struct{}{}
	}
	poll("seven queued", func() bool { return d.queued == 7 })
	locked(func() { stuck = d.roomStuck })
	if !stuck {
		t.Error("three of eight taken since cleared the stuck mark; want half")
	}
	tokens <- struct{}{}
	poll("six queued", func() bool { return d.queued == 6 })
	locked(func() { stuck = d.roomStuck })
	if stuck {
		t.Error("the workers took half of memory since the wait gave up, but publishes still would not wait")
	}
	for range 7 {
		tokens <- struct{}{}
	}
	st.wait(t, "all fourteen delivered", func() bool { return count(st.results, ep.ID, hookline.StatusSuccess) == 14 })
	locked(func() { stuck = d.roomStuck })
	if stuck {
		t.Error("the queues drained but publishes still would not wait")
	}
}

func TestAttemptIDsFollowWriteOrder(t *testing.T) {
	slow := newBlocker()
	slowEp := newEndpoint(newServer(t, slow).URL)
	fastEp := newEndpoint(newServer(t, &recorder{}).URL)
	st := newFakeStore(tasks(slowEp, 1)...)
	d := startDispatcher(t, st, Options{Workers: 4})
	released := false
	t.Cleanup(func() {
		if !released {
			close(slow.release)
		}
	})

	// The slow request starts first and is written last.
	slow.waitArrivals(t, 1)
	st.add(tasks(fastEp, 5)...)
	d.Wake()
	st.wait(t, "the fast endpoint's deliveries", func() bool {
		return count(st.results, fastEp.ID, hookline.StatusSuccess) == 5
	})
	close(slow.release)
	released = true
	results := st.waitResults(t, 6)

	if got := results[len(results)-1].Delivery.EndpointID; got != slowEp.ID {
		t.Fatalf("last result is for %s, want the slow endpoint", got)
	}
	for i, r := range results {
		if !hookline.IsID(hookline.PrefixAttempt, r.Attempt.ID) {
			t.Fatalf("result %d: attempt ID %q", i, r.Attempt.ID)
		}
		if i > 0 && r.Attempt.ID <= results[i-1].Attempt.ID {
			t.Errorf("result %d: attempt ID %s not above the one written before it, %s", i, r.Attempt.ID, results[i-1].Attempt.ID)
		}
	}
}
