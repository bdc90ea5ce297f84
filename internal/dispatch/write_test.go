package dispatch

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// heldFinish is a fakeStore whose first DeliveryFinish waits for release.
type heldFinish struct {
	*fakeStore
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (s *heldFinish) DeliveryFinish(ctx context.Context, results []store.Result) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.held)
		<-s.release
	}
	return s.fakeStore.DeliveryFinish(ctx, results)
}

// TestFlushWriters checks that with two write loops a batch of results is
// written while another is still being written, and with one it waits.
func TestFlushWriters(t *testing.T) {
	tests := []struct {
		name    string
		writers int
		// want is how many results are written while the first batch is
		// held.
		want int
	}{
		{"one writer", 1, 0},
		{"two writers", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := newEndpoint("http://127.0.0.1:9/hook")
			all := tasks(ep, 2)
			st := &heldFinish{fakeStore: newFakeStore(all[0]), held: make(chan struct{}), release: make(chan struct{})}
			released := false
			release := func() {
				if !released {
					released = true
					close(st.release)
				}
			}
			t.Cleanup(release)
			d := startDispatcher(t, st, Options{Client: answer(http.StatusOK), FlushWriters: tt.writers, FlushBatch: 1, Now: fixedNow})
			d.Wake()
			<-st.held // the first result's write holds its loop
			st.add(all[1])
			d.Wake()
			if tt.want > 0 {
				st.wait(t, "the second result written", func() bool { return len(st.results) == 1 })
			}
			st.mu.Lock()
			got := len(st.results)
			st.mu.Unlock()
			if got != tt.want {
				t.Errorf("%d results written while the first was held, want %d", got, tt.want)
			}
			release()
			st.wait(t, "both results written", func() bool {
				return count(st.results, ep.ID, hookline.StatusSuccess) == 2
			})
		})
	}
}

// lazyStore is a fakeStore that records which way each batch of results
// was written and with how many results.
type lazyStore struct {
	*fakeStore
	mu          sync.Mutex
	lazy, eager []int
}

func (s *lazyStore) DeliveryFinishLazy(ctx context.Context, results []store.Result, wait time.Duration) error {
	s.mu.Lock()
	s.lazy = append(s.lazy, len(results))
	s.mu.Unlock()
	if wait <= 0 {
		return errors.New("no wait given")
	}
	return s.fakeStore.DeliveryFinish(ctx, results)
}

func (s *lazyStore) DeliveryFinish(ctx context.Context, results []store.Result) error {
	s.mu.Lock()
	s.eager = append(s.eager, len(results))
	s.mu.Unlock()
	return s.fakeStore.DeliveryFinish(ctx, results)
}

// TestLazyResults checks that a small batch of results, with none behind
// it, waits to share the store's next transaction, and that a full batch
// is written at once.
func TestLazyResults(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		wantLazy  bool
		wantCalls int
	}{
		{"a few results", 3, true, 1},
		{"more than a transaction of their own needs", lazyResults + 4, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := newEndpoint("http://127.0.0.1:9/hook")
			st := &lazyStore{fakeStore: newFakeStore(tasks(ep, tt.n)...)}
			d := startDispatcher(t, st, Options{Client: answer(http.StatusOK), FlushDelay: time.Second, FlushBatch: 256, Now: fixedNow})
			d.Wake()
			st.wait(t, "every result written", func() bool {
				return count(st.results, ep.ID, hookline.StatusSuccess) == tt.n
			})
			st.mu.Lock()
			defer st.mu.Unlock()
			calls := st.eager
			if tt.wantLazy {
				calls = st.lazy
			}
			if len(calls) != tt.wantCalls || len(st.lazy)+len(st.eager) != tt.wantCalls || calls[0] != tt.n {
				t.Errorf("lazy writes %v, others %v; want one %s write of %d", st.lazy, st.eager, map[bool]string{true: "lazy", false: "eager"}[tt.wantLazy], tt.n)
			}
		})
	}
}
