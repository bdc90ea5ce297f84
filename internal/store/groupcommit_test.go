package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// blockingCreator records batch sizes and holds the first commit until
// released, so that publishes pile up behind it.
type blockingCreator struct {
	mu      sync.Mutex
	batches []int
	first   chan struct{}
	release chan struct{}
	fail    error
}

func (c *blockingCreator) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	c.mu.Lock()
	n := len(c.batches)
	c.batches = append(c.batches, len(batch))
	c.mu.Unlock()
	if n == 0 {
		close(c.first)
		<-c.release
	}
	if c.fail != nil {
		return c.fail
	}
	for _, m := range batch {
		if m.Message.AppID == "missing" {
			m.Err = hookline.ErrNotFound
			continue
		}
		m.Deliveries = []hookline.Delivery{{ID: "dlv-" + m.Message.ID}}
		// Apps named "pending" keep their deliveries pending under a lease
		// too, as a full endpoint queue would.
		if m.Lease != nil && m.Message.AppID != "pending" {
			m.Tasks = []store.Task{{Delivery: m.Deliveries[0], Message: m.Message}}
		}
	}
	return nil
}

// deliverer records what a GroupCommit tells it.
type deliverer struct {
	lease *store.Lease

	mu     sync.Mutex
	wakes  int
	tasks  []store.Task
	leases []time.Time
}

func (d *deliverer) Lease() *store.Lease { return d.lease }

func (d *deliverer) Deliver(tasks []store.Task, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tasks = append(d.tasks, tasks...)
	d.leases = append(d.leases, until)
}

func (d *deliverer) Wake() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wakes++
}

func TestGroupCommitBatchesConcurrentPublishes(t *testing.T) {
	t.Parallel()
	c := &blockingCreator{first: make(chan struct{}), release: make(chan struct{})}
	to := &deliverer{}
	g := store.NewGroupCommit(c, 64, to)

	errs := make(chan error, 21)
	go func() {
		errs <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}})
	}()
	<-c.first // the first batch is committing; the next twenty queue
	var queued sync.WaitGroup
	for i := range 20 {
		queued.Add(1)
		app := "a"
		if i == 7 {
			app = "missing"
		}
		go func() {
			queued.Done()
			errs <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: app}})
		}()
	}
	queued.Wait()
	// The twenty goroutines only need to reach the channel send; give them
	// a bounded while to get there.
	deadline := time.Now().Add(10 * time.Second)
	for g.Queued() < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(c.release)
	var notFound, ok int
	for range 21 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, hookline.ErrNotFound):
			notFound++
		default:
			t.Fatalf("publish: %v", err)
		}
	}
	g.Stop()
	if ok != 20 || notFound != 1 {
		t.Errorf("ok=%d notFound=%d, want 20 and 1: each item gets its own result", ok, notFound)
	}
	if len(c.batches) != 2 || c.batches[1] != 20 {
		t.Errorf("batches = %v, want [1 20]: publishes queued behind a commit share the next one", c.batches)
	}
	if to.wakes != 2 || len(to.tasks) != 0 {
		t.Errorf("wakes = %d, tasks handed over = %d, want one wake per batch that created deliveries and no tasks without a lease", to.wakes, len(to.tasks))
	}
	if err := g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{}}); !errors.Is(err, store.ErrStopped) {
		t.Errorf("publish after stop = %v", err)
	}
}

func TestGroupCommitBatchError(t *testing.T) {
	t.Parallel()
	c := &blockingCreator{first: make(chan struct{}), release: make(chan struct{}), fail: errors.New("disk full")}
	close(c.release)
	g := store.NewGroupCommit(c, 8, nil)
	defer g.Stop()
	if err := g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}}); err == nil || err.Error() != "disk full" {
		t.Errorf("publish = %v, want the batch's error", err)
	}
}

func TestGroupCommitHandsOverLeasedDeliveries(t *testing.T) {
	t.Parallel()
	c := &blockingCreator{first: make(chan struct{}), release: make(chan struct{})}
	close(c.release)
	until := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	to := &deliverer{lease: &store.Lease{Until: until, Limit: 10}}
	g := store.NewGroupCommit(c, 8, to)
	defer g.Stop()

	leased := &store.MessageCreate{Message: &hookline.Message{ID: "m1", AppID: "a"}}
	if err := g.Publish(context.Background(), leased); err != nil {
		t.Fatal(err)
	}
	if leased.Lease != to.lease {
		t.Errorf("item lease = %v, want the deliverer's", leased.Lease)
	}
	to.mu.Lock()
	if len(to.tasks) != 1 || to.tasks[0].Delivery.ID != "dlv-m1" || len(to.leases) != 1 || !to.leases[0].Equal(until) || to.wakes != 0 {
		t.Errorf("after a leased publish: tasks %v, leases %v, wakes %d; want the one delivery handed over with the lease's end and no wake", to.tasks, to.leases, to.wakes)
	}
	to.mu.Unlock()

	if err := g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{ID: "m2", AppID: "pending"}}); err != nil {
		t.Fatal(err)
	}
	to.mu.Lock()
	defer to.mu.Unlock()
	if len(to.tasks) != 1 || to.wakes != 1 {
		t.Errorf("after a publish left pending: %d tasks, %d wakes; want no new task and one wake for the claimer", len(to.tasks), to.wakes)
	}
}

// flushingCreator is a Flusher whose first Flush holds until released, and
// which counts the batches committed before each Flush.
type flushingCreator struct {
	mu        sync.Mutex
	committed int   // batches committed so far
	flushes   []int // committed, as of each Flush
	plain     int   // calls of MessageCreate, which a Flusher should not get
	flushErr  error

	flushing chan struct{} // closed when the first Flush starts
	release  chan struct{}
}

func (c *flushingCreator) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plain++
	return nil
}

func (c *flushingCreator) MessageCreateUnflushed(ctx context.Context, batch []*store.MessageCreate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed++
	for _, m := range batch {
		m.Deliveries = []hookline.Delivery{{ID: "dlv"}}
		if m.Lease != nil {
			m.Tasks = []store.Task{{Delivery: m.Deliveries[0], Message: m.Message}}
		}
	}
	return nil
}

func (c *flushingCreator) Flush() error {
	c.mu.Lock()
	first := len(c.flushes) == 0
	c.flushes = append(c.flushes, c.committed)
	c.mu.Unlock()
	if first {
		close(c.flushing)
		<-c.release
	}
	return c.flushErr
}

func TestGroupCommitWritesWhileFlushing(t *testing.T) {
	t.Parallel()
	c := &flushingCreator{flushing: make(chan struct{}), release: make(chan struct{})}
	g := store.NewGroupCommit(c, 8, nil)
	defer g.Stop()

	first := make(chan error, 1)
	go func() {
		first <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}})
	}()
	<-c.flushing
	select {
	case err := <-first:
		t.Fatalf("publish answered (%v) before its batch was flushed", err)
	default:
	}
	// While the first batch is being flushed, the next one commits.
	second := make(chan error, 1)
	go func() {
		second <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		n := c.committed
		c.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second batch did not commit while the first was flushed")
		}
		time.Sleep(time.Millisecond)
	}
	close(c.release)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plain != 0 || len(c.flushes) != 2 || c.flushes[1] != 2 {
		t.Errorf("plain creates %d, flushes after %v commits; want none, and a second flush covering both batches", c.plain, c.flushes)
	}
}

func TestGroupCommitFlushError(t *testing.T) {
	t.Parallel()
	c := &flushingCreator{flushing: make(chan struct{}), release: make(chan struct{}), flushErr: errors.New("fsync: input/output error")}
	close(c.release)
	to := &deliverer{lease: &store.Lease{Until: time.Now().Add(time.Minute), Limit: 10}}
	g := store.NewGroupCommit(c, 8, to)
	defer g.Stop()
	if err := g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}}); err == nil || err.Error() != "fsync: input/output error" {
		t.Errorf("publish = %v, want the flush's error", err)
	}
	to.mu.Lock()
	defer to.mu.Unlock()
	if len(to.tasks) != 0 || to.wakes != 0 {
		t.Errorf("a batch not flushed was handed over: %d tasks, %d wakes", len(to.tasks), to.wakes)
	}
}

// roomWaiter is a deliverer whose memory is full until released: it
// offers no lease until then.
type roomWaiter struct {
	deliverer
	waiting chan struct{}
	room    chan struct{}
	needs   []int
	// asked are the needs HasRoom was asked about.
	asked []int
}

func (w *roomWaiter) Lease() *store.Lease {
	select {
	case <-w.room:
		return w.deliverer.Lease()
	default:
		return nil
	}
}

func (w *roomWaiter) HasRoom(need int) bool {
	w.mu.Lock()
	w.asked = append(w.asked, need)
	w.mu.Unlock()
	select {
	case <-w.room:
		return true
	default:
		return false
	}
}

func (w *roomWaiter) WaitRoom(ctx context.Context, need int, maxWait time.Duration) {
	w.mu.Lock()
	w.needs = append(w.needs, need)
	w.mu.Unlock()
	select {
	case w.waiting <- struct{}{}:
	default:
	}
	select {
	case <-w.room:
	case <-ctx.Done():
	}
}

// TestGroupCommitWaitsForRoom checks that a batch waits for the
// dispatcher to have room before it takes its publishes and its lease, and
// that the publishes arriving meanwhile join it.
func TestGroupCommitWaitsForRoom(t *testing.T) {
	t.Parallel()
	c := &blockingCreator{first: make(chan struct{}), release: make(chan struct{})}
	close(c.release)
	to := &roomWaiter{deliverer: deliverer{lease: &store.Lease{Limit: 100}}, waiting: make(chan struct{}, 1), room: make(chan struct{})}
	g := store.NewGroupCommit(c, 64, to)
	errs := make(chan error, 5)
	publish := func() {
		errs <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}})
	}
	go publish()
	// The first publish's batch waits for room; four more arrive.
	select {
	case <-to.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the batch did not wait for room")
	}
	for range 4 {
		go publish()
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.Queued() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(to.room)
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	g.Stop()
	if len(c.batches) != 1 || c.batches[0] != 5 {
		t.Errorf("batches = %v, want [5]: the publishes that came while the batch waited for room joined it", c.batches)
	}
	if len(to.tasks) != 5 {
		t.Errorf("%d deliveries handed over, want all 5 under the lease taken after the wait", len(to.tasks))
	}
	if len(to.needs) != 1 || to.needs[0] != 1 {
		t.Errorf("waited for room for %v deliveries, want [1]: one publish, and one delivery a message until a batch says otherwise", to.needs)
	}
}

// fanOutCreator gives each message three deliveries.
type fanOutCreator struct{}

func (fanOutCreator) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	for _, m := range batch {
		m.Deliveries = make([]hookline.Delivery, 3)
	}
	return nil
}

// TestGroupCommitForeseesRoom checks that a publish asks for as much room
// as the messages of the last batch created deliveries.
func TestGroupCommitForeseesRoom(t *testing.T) {
	t.Parallel()
	room := make(chan struct{})
	close(room)
	to := &roomWaiter{waiting: make(chan struct{}, 1), room: room}
	g := store.NewGroupCommit(fanOutCreator{}, 64, to)
	for range 2 {
		if err := g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}}); err != nil {
			t.Fatal(err)
		}
	}
	g.Stop()
	to.mu.Lock()
	defer to.mu.Unlock()
	if !slices.Equal(to.asked, []int{1, 3}) {
		t.Errorf("asked for room for %v, want [1 3]: the second publish's message foreseen to fan out as the first did", to.asked)
	}
}

// concurrentCreator is a blockingCreator that takes two batches at once.
type concurrentCreator struct{ blockingCreator }

func (c *concurrentCreator) Writers() int { return 2 }

// TestGroupCommitConcurrentWriters checks that a store that takes several
// writers gets a second batch while the first is still committing, and
// that Stop waits for both.
func TestGroupCommitConcurrentWriters(t *testing.T) {
	t.Parallel()
	c := &concurrentCreator{blockingCreator{first: make(chan struct{}), release: make(chan struct{})}}
	g := store.NewGroupCommit(c, 64, &deliverer{})
	first := make(chan error, 1)
	go func() {
		first <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}})
	}()
	<-c.first // the first batch holds its writer
	// The second publish commits with the first still held: bounded, as a
	// single writer would wait for the release forever.
	second := make(chan error, 1)
	go func() {
		second <- g.Publish(context.Background(), &store.MessageCreate{Message: &hookline.Message{AppID: "a"}})
	}()
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("second publish: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second batch waited for the first to commit")
	}
	select {
	case err := <-first:
		t.Fatalf("the first publish returned (%v) before its batch committed", err)
	default:
	}
	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	close(c.release)
	if err := <-first; err != nil {
		t.Fatalf("first publish: %v", err)
	}
	<-stopped
	if len(c.batches) != 2 {
		t.Errorf("batches = %v, want two of one", c.batches)
	}
}
