package store_test

import (
	"context"
	"errors"
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
		m.Deliveries = []hookline.Delivery{{ID: "dlv"}}
	}
	return nil
}

func TestGroupCommitBatchesConcurrentPublishes(t *testing.T) {
	t.Parallel()
	c := &blockingCreator{first: make(chan struct{}), release: make(chan struct{})}
	var wakes int
	var wakeMu sync.Mutex
	g := store.NewGroupCommit(c, 64, func() { wakeMu.Lock(); wakes++; wakeMu.Unlock() })

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
	if wakes != 2 {
		t.Errorf("wakes = %d, want one per batch that created deliveries", wakes)
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
