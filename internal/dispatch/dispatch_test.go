package dispatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/buildinfo"
	"github.com/hookline/hookline/internal/store"
)

// fakeStore is an in-memory queue: DeliveryClaim hands out the due tasks
// in order, DeliveryFinish records results and, when requeue is set, puts
// pending deliveries back as the real stores do.
type fakeStore struct {
	mu       sync.Mutex
	pending  []store.Task
	claims   []store.Claim
	results  []store.Result
	released []string
	// finishErrs makes that many DeliveryFinish calls fail first.
	finishErrs  int
	finishCalls int
	requeue     bool
	// all holds every task added, by delivery ID, to requeue from.
	all map[string]store.Task
	// changed gets a signal after every call, for waiters.
	changed chan struct{}
}

func newFakeStore(tasks ...store.Task) *fakeStore {
	s := &fakeStore{all: map[string]store.Task{}, changed: make(chan struct{}, 1)}
	s.add(tasks...)
	return s
}

func (s *fakeStore) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *fakeStore) add(tasks ...store.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, tasks...)
	for _, t := range tasks {
		s.all[t.Delivery.ID] = t
	}
}

func (s *fakeStore) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	c.Exclude = slices.Clone(c.Exclude) // the dispatcher reuses its buffer
	s.claims = append(s.claims, c)
	var got []store.Task
	rest := s.pending[:0]
	for _, t := range s.pending {
		if len(got) < c.Limit && !t.Delivery.NextAttempt.After(c.Now) && !slices.Contains(c.Exclude, t.Delivery.EndpointID) {
			t.Delivery.Status = hookline.StatusSending
			got = append(got, t)
			continue
		}
		rest = append(rest, t)
	}
	s.pending = rest
	return got, nil
}

func (s *fakeStore) DeliveryFinish(ctx context.Context, results []store.Result) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	s.finishCalls++
	if s.finishErrs > 0 {
		s.finishErrs--
		return errors.New("database is locked")
	}
	for _, r := range results {
		s.results = append(s.results, r)
		if s.requeue && r.Delivery.Status == hookline.StatusPending {
			s.pending = append(s.pending, s.taskFor(r))
		}
	}
	return nil
}

// taskFor rebuilds the task of a result to claim it again.
func (s *fakeStore) taskFor(r store.Result) store.Task {
	t, ok := s.all[r.Delivery.ID]
	if !ok {
		panic("unknown delivery " + r.Delivery.ID)
	}
	t.Delivery = r.Delivery
	return t
}

func (s *fakeStore) DeliveryRelease(ctx context.Context, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	s.released = append(s.released, ids...)
	return nil
}

// wait waits until cond, called with s locked, holds; at most 10 seconds.
func (s *fakeStore) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitResults waits for n results and returns a copy of all results.
func (s *fakeStore) waitResults(t *testing.T, n int) []store.Result {
	t.Helper()
	s.wait(t, fmt.Sprintf("%d results", n), func() bool { return len(s.results) >= n })
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.results)
}

func (s *fakeStore) snapshot() (results []store.Result, released []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.results), slices.Clone(s.released)
}

var (
	testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	testKey = []byte("0123456789abcdef0123456789abcdef")
)

func newEndpoint(url string) *hookline.Endpoint {
	return &hookline.Endpoint{
		ID:      hookline.NewID(hookline.PrefixEndpoint),
		AppID:   "app_test",
		URL:     url,
		Version: 1,
		Format:  hookline.FormatJSON,
		Secrets: []hookline.Secret{{Key: testKey}},
	}
}

func newMessage() *hookline.Message {
	return &hookline.Message{
		ID:        hookline.NewID(hookline.PrefixMessage),
		AppID:     "app_test",
		EventType: "invoice.paid",
		Payload:   []byte(`{"type":"invoice.paid","amount":10.00,"tags":["a","b"]}`),
	}
}

func newTask(ep *hookline.Endpoint, msg *hookline.Message) store.Task {
	epID := ""
	var rate *int
	if ep != nil {
		epID, rate = ep.ID, ep.RateLimit
	}
	return store.Task{
		RateLimit: rate,
		Delivery: hookline.Delivery{
			ID:         hookline.NewID(hookline.PrefixDelivery),
			AppID:      msg.AppID,
			MessageID:  msg.ID,
			EndpointID: epID,
			Status:     hookline.StatusPending,
		},
		Message:  msg,
		Endpoint: ep,
	}
}

// tasks returns n tasks of new messages to ep.
func tasks(ep *hookline.Endpoint, n int) []store.Task {
	ts := make([]store.Task, n)
	for i := range ts {
		ts[i] = newTask(ep, newMessage())
	}
	return ts
}

// startDispatcher starts a dispatcher on st with a plain client unless
// opts has one, and stops it when the test ends.
func startDispatcher(t *testing.T, st Store, opts Options) *Dispatcher {
	t.Helper()
	if opts.Client == nil {
		opts.Client = NewClient(nil, 10*time.Second)
	}
	d := New(st, opts)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return d
}

// fixedNow returns a clock stopped at testNow.
func fixedNow() time.Time { return testNow }

// clientFunc is a Client in memory, for tests in a synctest bubble,
// where real sockets do not block durably. It answers with the status
// code it returns, or with no response when that is 0.
type clientFunc func(*Request) (int, error)

func (f clientFunc) Do(req *Request, resp *Response) error {
	code, err := f(req)
	resp.StatusCode, resp.Header = code, http.Header{}
	return err
}

func (clientFunc) Close() {}

// tokenClient returns a Client whose every request takes a token from
// tokens before it is answered with 200, so that a test decides when each
// finishes.
func tokenClient() (clientFunc, chan struct{}) {
	tokens := make(chan struct{})
	return func(*Request) (int, error) {
		<-tokens
		return http.StatusOK, nil
	}, tokens
}

// answer is a clientFunc that answers every request with code.
func answer(code int) clientFunc {
	return func(*Request) (int, error) { return code, nil }
}

func TestWithDefaults(t *testing.T) {
	got := Options{}.WithDefaults()
	want := Options{
		Schedule:         DefaultSchedule,
		Jitter:           0.1,
		Timeout:          15 * time.Second,
		Lease:            2 * time.Minute,
		Workers:          256,
		PerEndpoint:      32,
		EndpointQueue:    128,
		EndpointQueueMax: 1024,
		ClaimBatch:       512,
		MaxQueued:        4096,
		MaxHeldBytes:     64 << 20,
		PollInterval:     time.Second,
		FlushBatch:       256,
		FlushWriters:     1,
		FlushDelay:       10 * time.Millisecond,
		DisableAfter:     5 * 24 * time.Hour,
		MaxResponse:      64 << 10,
		MaxRetryAfter:    time.Hour,
		UserAgent:        buildinfo.UserAgent(),
	}
	ignore := cmpopts.IgnoreFields(Options{}, "Rand", "Now", "Logger")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if got.Rand == nil || got.Now == nil || got.Logger == nil {
		t.Error("Rand, Now and Logger must have defaults")
	}

	tests := []struct {
		name  string
		in    Options
		check func(Options) bool
	}{
		{"lease covers the timeout", Options{Timeout: time.Minute, Lease: time.Minute}, func(o Options) bool { return o.Lease == 4*time.Minute }},
		{"per endpoint within workers", Options{Workers: 4, PerEndpoint: 32}, func(o Options) bool { return o.PerEndpoint == 4 }},
		{"negative jitter is none", Options{Jitter: -1}, func(o Options) bool { return o.Jitter == 0 }},
		{"jitter at most 1", Options{Jitter: 3}, func(o Options) bool { return o.Jitter == 1 }},
		{"queue follows lease", Options{PerEndpoint: 2, Timeout: time.Second, Lease: 10 * time.Second}, func(o Options) bool { return o.EndpointQueue == 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if o := tt.in.WithDefaults(); !tt.check(o) {
				t.Errorf("WithDefaults(%+v) = %+v", tt.in, o)
			}
		})
	}
}

func TestNewNeedsClient(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New without a client did not panic")
		}
	}()
	New(newFakeStore(), Options{})
}

func TestStartTwice(t *testing.T) {
	d := startDispatcher(t, newFakeStore(), Options{})
	if err := d.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
}

func TestStopWithoutStart(t *testing.T) {
	d := New(newFakeStore(), Options{Client: answer(200)})
	if err := d.Stop(context.Background()); err != nil {
		t.Errorf("Stop = %v", err)
	}
}
