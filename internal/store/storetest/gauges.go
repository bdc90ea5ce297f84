package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// testGauges checks the counts a metrics scrape reads: deliveries pending
// until they finish, the earliest time one is due (a claim's lease end
// while it is sent, a retry's time while it waits), and the disabled
// endpoints.
func testGauges(t *testing.T, s store.Store) {
	g, ok := s.(store.Gauger)
	if !ok {
		t.Fatalf("%T does not implement store.Gauger", s)
	}
	read := func() store.Gauges {
		t.Helper()
		got, err := g.GaugesRead(ctx)
		must(t, err)
		return got
	}
	check := func(step string, want store.Gauges) {
		t.Helper()
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("%s: gauges (-want +got):\n%s", step, diff)
		}
	}
	check("empty", store.Gauges{})

	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	b := newApp(t, s, "b")
	off := newEndpoint(t, s, b.ID, func(e *hookline.Endpoint) { e.Disabled, e.DisabledReason = true, "gone" })
	newEndpoint(t, s, b.ID, func(e *hookline.Endpoint) { e.Disabled = true })
	publish(t, s, a.ID, "x")
	publish(t, s, a.ID, "x")
	check("published", store.Gauges{Pending: 2, OldestDue: t0, EndpointsDisabled: 2})

	// One is claimed and succeeds: the other is still due since t0.
	tasks := claim(t, s, t0, 1)
	finish(t, s, tasks[0], hookline.StatusSuccess, t0.Add(time.Millisecond), time.Time{})
	check("one delivered", store.Gauges{Pending: 1, OldestDue: t0, EndpointsDisabled: 2})

	// The other is claimed: due again when its lease ends; then it fails
	// and waits for its retry.
	claimedAt := t0.Add(time.Second)
	tasks = claim(t, s, claimedAt, 10)
	if len(tasks) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(tasks))
	}
	check("one being sent", store.Gauges{Pending: 1, OldestDue: claimedAt.Add(time.Minute), EndpointsDisabled: 2})
	retryAt := t0.Add(time.Hour)
	finish(t, s, tasks[0], hookline.StatusPending, claimedAt.Add(time.Millisecond), retryAt)
	check("one waiting for a retry", store.Gauges{Pending: 1, OldestDue: retryAt, EndpointsDisabled: 2})

	tasks = claim(t, s, retryAt, 10)
	finish(t, s, tasks[0], hookline.StatusFail, retryAt.Add(time.Millisecond), time.Time{})
	off.Disabled = false
	off.UpdatedAt = t0.Add(time.Hour)
	must(t, s.EndpointUpdate(ctx, off))
	check("all finished, one endpoint enabled", store.Gauges{EndpointsDisabled: 1})
}
