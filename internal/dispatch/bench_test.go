package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// benchStore hands out a fixed set of tasks, each endpoint's in order, and
// counts the results: the cheapest store, so the benchmark measures the
// dispatcher and HTTP.
type benchStore struct {
	mu     sync.Mutex
	queues [][]store.Task // per endpoint
	turn   int
	total  int64
	done   atomic.Int64
	all    chan struct{} // closed when every result is in
}

func (s *benchStore) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Each endpoint gets an even share, and what is left of the limit goes
	// to whichever has more: a claim comes back short only when no more is
	// due, as the real stores' claims do.
	var got []store.Task
	share := max(1, c.Limit/len(s.queues))
	for _, each := range []int{share, c.Limit} {
		for i := range s.queues {
			k := (s.turn + i) % len(s.queues)
			q := s.queues[k]
			if len(got) >= c.Limit || len(q) == 0 || slices.Contains(c.Exclude, q[0].Delivery.EndpointID) {
				continue
			}
			n := min(len(q), each, c.Limit-len(got))
			got = append(got, q[:n]...)
			s.queues[k] = q[n:]
		}
	}
	s.turn = (s.turn + 1) % len(s.queues)
	return got, nil
}

func (s *benchStore) DeliveryFinish(ctx context.Context, results []store.Result) error {
	if s.done.Add(int64(len(results))) == s.total {
		close(s.all)
	}
	return nil
}

func (s *benchStore) DeliveryRelease(ctx context.Context, ids []string) error { return nil }

func BenchmarkDispatch(b *testing.B) {
	for _, endpoints := range []int{1, 16} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			client := NewClient(nil, 15*time.Second)
			defer client.Close()

			st := &benchStore{total: int64(b.N), all: make(chan struct{}), queues: make([][]store.Task, endpoints)}
			eps := make([]*hookline.Endpoint, endpoints)
			for i := range eps {
				eps[i] = newEndpoint(fmt.Sprintf("%s/hook/%d", srv.URL, i))
			}
			msg := newMessage()
			for i := range b.N {
				ep := eps[i%endpoints]
				st.queues[i%endpoints] = append(st.queues[i%endpoints], newTask(ep, msg))
			}

			// As the server runs it: told of failing deliveries, of which
			// there are none here.
			d := New(st, Options{Client: client, Events: &events{}})
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if err := d.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			select {
			case <-st.all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("%d of %d results after 5 minutes", st.done.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Stop(ctx); err != nil {
				b.Fatal(err)
			}
			if s := d.Stats(); s.Succeeded != int64(b.N) {
				b.Fatalf("%d of %d deliveries succeeded", s.Succeeded, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
		})
	}
}
