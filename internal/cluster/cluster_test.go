package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// fakeMaintainer records the upkeep asked of it.
type fakeMaintainer struct {
	mu        sync.Mutex
	lead      bool
	disableAt []time.Time
	reasons   []string
	prunes    []time.Time
	expires   int
	// tokenCutoffs are the cutoffs TokenPrune was given.
	tokenCutoffs []time.Time
	// pruneLeft is how many rows RetentionPrune still has to change.
	pruneLeft int
}

func (f *fakeMaintainer) TryLead(ctx context.Context) (bool, error) { return f.lead, nil }

func (f *fakeMaintainer) EndpointDisableFailing(ctx context.Context, before time.Time, reason string) ([]hookline.Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disableAt, f.reasons = append(f.disableAt, before), append(f.reasons, reason)
	since := before.Add(-time.Hour)
	return []hookline.Endpoint{
		{ID: "ep_1", AppID: "app_1", UID: "main", FailingSince: &since, Disabled: true, DisabledReason: reason},
		{ID: "ep_2", AppID: opwebhook.AppID, FailingSince: &since, Disabled: true, DisabledReason: reason},
	}, nil
}

// events records operational events.
type events []opwebhook.Event

func (e *events) Emit(ev opwebhook.Event) { *e = append(*e, ev) }

func (f *fakeMaintainer) RetentionPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prunes = append(f.prunes, before)
	n := min(f.pruneLeft, 2*limit)
	f.pruneLeft -= n
	return n, nil
}

func (f *fakeMaintainer) IdempotencyExpire(ctx context.Context, now time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expires++
	return 0, nil
}

func (f *fakeMaintainer) TokenPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCutoffs = append(f.tokenCutoffs, before)
	return 0, nil
}

func TestFollowerDoesNothing(t *testing.T) {
	f := &fakeMaintainer{}
	h := NewHousekeeper(f, HousekeeperOptions{Retention: time.Hour})
	h.Round(context.Background())
	if h.Leading() || len(f.disableAt) != 0 || len(f.prunes) != 0 || f.expires != 0 || len(f.tokenCutoffs) != 0 {
		t.Errorf("a follower did upkeep: %+v", f)
	}
}

func TestLeaderRound(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := &fakeMaintainer{lead: true, pruneLeft: 4500}
	evs := &events{}
	h := NewHousekeeper(f, HousekeeperOptions{
		Retention: 720 * time.Hour, DisableAfter: 5 * 24 * time.Hour, Batch: 1000, Pause: time.Millisecond,
		Now: func() time.Time { return now }, Events: evs,
	})
	h.Round(context.Background())
	if !h.Leading() {
		t.Error("the leader does not say it leads")
	}
	if diff := cmp.Diff([]time.Time{now.Add(-5 * 24 * time.Hour)}, f.disableAt); diff != "" {
		t.Errorf("disable cutoff (-want +got):\n%s", diff)
	}
	if f.reasons[0] != "no successful delivery for more than 5 days" {
		t.Errorf("reason = %q", f.reasons[0])
	}
	// The operator hears of the app's endpoint, not of its own.
	since := now.Add(-5*24*time.Hour - time.Hour)
	wantEvents := events{{Type: opwebhook.EndpointDisabled, Data: &opwebhook.EndpointDisabledData{
		EndpointData: opwebhook.EndpointData{AppRef: opwebhook.AppRef{AppID: "app_1"}, EndpointID: "ep_1", EndpointUID: new("main")},
		FailSince:    &since, Trigger: "automatic",
	}}}
	if diff := cmp.Diff(wantEvents, *evs); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// 4500 rows at up to 2000 a batch: 2000, 2000, 500, then caught up.
	if len(f.prunes) != 3 || f.pruneLeft != 0 || !f.prunes[0].Equal(now.Add(-720*time.Hour)) {
		t.Errorf("prunes = %v, left %d", f.prunes, f.pruneLeft)
	}
	if f.expires != 1 {
		t.Errorf("expired keys %d times", f.expires)
	}
	if diff := cmp.Diff([]time.Time{now.Add(-EndedTokensKept)}, f.tokenCutoffs); diff != "" {
		t.Errorf("token prune cutoff (-want +got):\n%s", diff)
	}
}

func TestNoRetention(t *testing.T) {
	f := &fakeMaintainer{lead: true, pruneLeft: 10}
	NewHousekeeper(f, HousekeeperOptions{}).Round(context.Background())
	if len(f.prunes) != 0 {
		t.Error("pruned with retention 0 (keep for ever)")
	}
}

func TestStartStop(t *testing.T) {
	f := &fakeMaintainer{lead: true}
	h := NewHousekeeper(f, HousekeeperOptions{Interval: time.Hour})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := f.expires
		f.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first round did not run at start")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

type fakeCluster struct {
	mu     sync.Mutex
	count  int
	beats  int
	leaves []string
	err    error
}

func (f *fakeCluster) NodeBeat(ctx context.Context, n store.Node, now time.Time, ttl time.Duration) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beats++
	return f.count, f.err
}

func (f *fakeCluster) NodeLeave(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leaves = append(f.leaves, id)
	return nil
}

func TestHeartbeat(t *testing.T) {
	f := &fakeCluster{count: 3}
	h := NewHeartbeat(f, HeartbeatOptions{Node: store.Node{ID: "n1", Worker: true}, Interval: time.Millisecond})
	if h.Workers() != 1 {
		t.Errorf("before a beat: %d workers", h.Workers())
	}
	if err := h.Beat(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.Workers() != 3 {
		t.Errorf("after a beat: %d workers, want 3", h.Workers())
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.beats < 2 || !cmp.Equal(f.leaves, []string{"n1"}) {
		t.Errorf("beats %d, leaves %v", f.beats, f.leaves)
	}
}

type fakeQueue struct{ tasks []store.Task }

func (f *fakeQueue) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	out := make([]store.Task, len(f.tasks))
	copy(out, f.tasks)
	return out, nil
}
func (f *fakeQueue) DeliveryFinish(ctx context.Context, results []store.Result) error { return nil }
func (f *fakeQueue) DeliveryRelease(ctx context.Context, ids []string) error          { return nil }

func TestShareRateLimits(t *testing.T) {
	ten, two := 10, 2
	q := &fakeQueue{tasks: []store.Task{{RateLimit: &ten}, {RateLimit: &two}, {}}}
	tests := []struct {
		name    string
		workers int
		want    []*int
	}{
		{"alone", 1, []*int{&ten, &two, nil}},
		{"three nodes", 3, []*int{ptr(3), ptr(1), nil}},
		{"more nodes than the limit", 5, []*int{ptr(2), ptr(1), nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tasks, err := ShareRateLimits(q, func() int { return tt.workers }).DeliveryClaim(context.Background(), store.Claim{})
			if err != nil {
				t.Fatal(err)
			}
			var got []*int
			for _, task := range tasks {
				got = append(got, task.RateLimit)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if *q.tasks[0].RateLimit != 10 {
		t.Error("sharing changed the store's own value")
	}
}

type deliveries struct {
	got   []store.Task
	waits int
}

func (d *deliveries) Lease() *store.Lease                                           { return nil }
func (d *deliveries) Deliver(tasks []store.Task, until time.Time)                   { d.got = append(d.got, tasks...) }
func (d *deliveries) Wake()                                                         {}
func (d *deliveries) WaitRoom(ctx context.Context, need int, maxWait time.Duration) { d.waits++ }

// HasRoom reports no room, so that a wait shows.
func (d *deliveries) HasRoom(int) bool { return false }

func TestShareDeliveries(t *testing.T) {
	ten := 10
	to := &deliveries{}
	ShareDeliveries(to, func() int { return 3 }).Deliver([]store.Task{{RateLimit: &ten}, {}}, time.Now())
	if len(to.got) != 2 || to.got[0].RateLimit == nil || *to.got[0].RateLimit != 3 || to.got[1].RateLimit != nil {
		t.Errorf("handed over %+v, want the limit of 10 shared by 3 nodes (3) and no limit left as none", to.got)
	}
	if ten != 10 {
		t.Error("sharing changed the publisher's own value")
	}
}

// TestShareDeliveriesWaitRoom checks that a publish waits for room in this
// node's memory only while no other worker could claim what it leaves
// pending.
func TestShareDeliveriesWaitRoom(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		waits   int
	}{
		{"alone", 1, 1},
		{"no heartbeat yet", 0, 1},
		{"with other workers", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := &deliveries{}
			w, ok := ShareDeliveries(to, func() int { return tt.workers }).(store.RoomWaiter)
			if !ok {
				t.Fatal("the shared deliverer of a dispatcher that can wait for room cannot")
			}
			w.WaitRoom(context.Background(), 10, time.Millisecond)
			if to.waits != tt.waits {
				t.Errorf("waited %d times, want %d", to.waits, tt.waits)
			}
			if room := w.HasRoom(10); room != (tt.waits == 0) {
				t.Errorf("HasRoom = %v, want %v: a publish that would wait goes to the queue", room, tt.waits == 0)
			}
		})
	}
	type plain struct{ store.Deliverer }
	if _, ok := ShareDeliveries(plain{&deliveries{}}, func() int { return 1 }).(store.RoomWaiter); ok {
		t.Error("the shared deliverer waits for room where the dispatcher cannot")
	}
}

func ptr(n int) *int { return &n }

func TestLastBeat(t *testing.T) {
	f := &fakeCluster{count: 1}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := NewHeartbeat(f, HeartbeatOptions{Node: store.Node{ID: "n1"}, Now: func() time.Time { return now }})
	if !h.LastBeat().IsZero() {
		t.Errorf("LastBeat before a beat = %v, want zero", h.LastBeat())
	}
	if err := h.Beat(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !h.LastBeat().Equal(now) {
		t.Errorf("LastBeat = %v, want %v", h.LastBeat(), now)
	}
	first := now
	now = now.Add(time.Minute)
	f.err = errors.New("connection refused")
	if err := h.Beat(context.Background()); err == nil {
		t.Fatal("a failed beat returned nil")
	}
	if !h.LastBeat().Equal(first) {
		t.Errorf("LastBeat after a failed beat = %v, want the last that succeeded, %v", h.LastBeat(), first)
	}
	if h.TTL() != 20*time.Second {
		t.Errorf("TTL = %v, want 4 x the default interval", h.TTL())
	}
}
