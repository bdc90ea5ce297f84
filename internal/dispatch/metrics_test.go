package dispatch

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// fakeMetrics keeps what it is told.
type fakeMetrics struct {
	mu       sync.Mutex
	statuses []hookline.Status
	latency  []time.Duration
	timed    int
}

func (f *fakeMetrics) Attempted(status hookline.Status, took, latency time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, status)
	if status == hookline.StatusSuccess {
		f.latency = append(f.latency, latency)
	}
	if took > 0 {
		f.timed++
	}
}

// TestMetricsCountOutcomes checks that each attempt is counted by what
// becomes of its delivery: a 2xx is a success, timed from the publish; a
// failure with attempts left in the schedule is a retry; a failure on the
// last attempt is a failure.
func TestMetricsCountOutcomes(t *testing.T) {
	t.Parallel()
	ok, failing := newEndpoint("https://ok.example"), newEndpoint("https://failing.example")
	client := clientFunc(func(r *Request) (int, error) {
		if r.URL == ok.URL {
			return http.StatusOK, nil
		}
		return http.StatusInternalServerError, nil
	})
	published := testNow.Add(-10 * time.Second)
	first, last := newTask(failing, newMessage()), newTask(failing, newMessage())
	last.Delivery.Attempts = 1
	success := newTask(ok, newMessage())
	for _, task := range []*store.Task{&first, &last, &success} {
		task.Message.CreatedAt = published
	}
	st := newFakeStore(first, last, success)
	m := &fakeMetrics{}
	startDispatcher(t, st, Options{Client: client, Now: fixedNow, Schedule: []time.Duration{0, time.Hour}, Metrics: m})
	st.waitResults(t, 3)

	m.mu.Lock()
	defer m.mu.Unlock()
	got := slices.Clone(m.statuses)
	slices.Sort(got)
	want := []hookline.Status{hookline.StatusPending, hookline.StatusSuccess, hookline.StatusFail}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if m.timed != 3 {
		t.Errorf("%d attempts timed, want 3", m.timed)
	}
	if len(m.latency) != 1 || m.latency[0] < 10*time.Second || m.latency[0] > 11*time.Second {
		t.Errorf("latency of the success %v, want 10s after the publish", m.latency)
	}
}
