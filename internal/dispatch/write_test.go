package dispatch

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
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

// TestLazyResults checks how results reach a store whose results can join
// its next transaction: a result that comes alone after a quiet spell is
// handed over at once, lazily, without waiting FlushDelay for others;
// results that follow it closely wait for company, and as many as need a
// transaction of their own are written eagerly.
func TestLazyResults(t *testing.T) {
	const delay = time.Second
	tests := []struct {
		name       string
		then       int
		lazy, eagr []int
	}{
		{"a lone result", 0, []int{1}, nil},
		{"a few results that follow", 3, []int{1, 3}, nil},
		{"more than a transaction of their own needs", lazyResults + 4, []int{1}, []int{lazyResults + 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ep := newEndpoint("http://receiver.test/hook")
				st := &lazyStore{fakeStore: newFakeStore(tasks(ep, 1)...)}
				d := startDispatcher(t, st, Options{Client: answer(http.StatusOK), FlushDelay: delay, FlushBatch: 256, Now: fixedNow})
				d.Wake()
				synctest.Wait()
				st.mu.Lock()
				first := slices.Clone(st.lazy)
				st.mu.Unlock()
				if !slices.Equal(first, []int{1}) {
					t.Fatalf("lazy writes %v at once, want [1]: a lone result must not wait %v", first, delay)
				}
				if tt.then > 0 {
					time.Sleep(time.Millisecond)
					st.add(tasks(ep, tt.then)...)
					d.Wake()
					synctest.Wait()
					st.mu.Lock()
					early := len(st.lazy) + len(st.eager)
					st.mu.Unlock()
					if early != 1 {
						t.Errorf("%d writes before FlushDelay passed, want 1: results that follow closely wait for company", early)
					}
					time.Sleep(delay)
					synctest.Wait()
				}
				if err := d.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				st.mu.Lock()
				defer st.mu.Unlock()
				if !slices.Equal(st.lazy, tt.lazy) || !slices.Equal(st.eager, tt.eagr) {
					t.Errorf("lazy writes %v, others %v; want %v and %v", st.lazy, st.eager, tt.lazy, tt.eagr)
				}
				if n := count(st.results, ep.ID, hookline.StatusSuccess); n != 1+tt.then {
					t.Errorf("%d results written, want %d", n, 1+tt.then)
				}
			})
		})
	}
}

// TestResultsWaitForCompanyWithoutLazyStore checks that a store whose
// results cannot join its next transaction still has a lone result wait
// FlushDelay for others, as each of its writes is a transaction of its own.
func TestResultsWaitForCompanyWithoutLazyStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = time.Second
		ep := newEndpoint("http://receiver.test/hook")
		st := newFakeStore(tasks(ep, 1)...)
		d := startDispatcher(t, st, Options{Client: answer(http.StatusOK), FlushDelay: delay, FlushBatch: 256, Now: fixedNow})
		d.Wake()
		synctest.Wait()
		if results, _ := st.snapshot(); len(results) != 0 {
			t.Fatalf("%d results written at once, want none before FlushDelay", len(results))
		}
		time.Sleep(delay)
		synctest.Wait()
		if results, _ := st.snapshot(); len(results) != 1 {
			t.Errorf("%d results written after FlushDelay, want 1", len(results))
		}
		if err := d.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
