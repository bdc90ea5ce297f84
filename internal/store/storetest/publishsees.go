package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// testPublishSeesChanges checks that each publish fans out to the app's
// endpoints as they are at that moment, whatever changed them in between:
// a store that keeps them in memory must not serve a publish from before
// the change.
func testPublishSeesChanges(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	fanOut := func(step string, want int) {
		t.Helper()
		m := &store.MessageCreate{Message: &hookline.Message{
			ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "order.paid",
			Payload: []byte(`{"n":1}`), CreatedAt: t0,
		}}
		must(t, s.MessageCreate(ctx, []*store.MessageCreate{m}))
		if want < 0 {
			if !errors.Is(m.Err, hookline.ErrNotFound) {
				t.Fatalf("%s: publish err = %v, want not found", step, m.Err)
			}
			return
		}
		must(t, m.Err)
		if len(m.Deliveries) != want {
			t.Fatalf("%s: %d deliveries, want %d", step, len(m.Deliveries), want)
		}
	}
	fanOut("no endpoint", 0)
	e1 := newEndpoint(t, s, a.ID, nil)
	fanOut("one endpoint created", 1)
	e2 := newEndpoint(t, s, a.ID, nil)
	fanOut("a second endpoint created", 2)

	e2.EventTypes, e2.UpdatedAt = []string{"order.refunded"}, t0.Add(time.Minute)
	must(t, s.EndpointUpdate(ctx, e2))
	fanOut("the second endpoint filtered to another event type", 1)

	if m, ok := s.(store.Maintainer); ok {
		failing := t0.Add(-30 * 24 * time.Hour)
		e1.FailingSince, e1.UpdatedAt = &failing, t0.Add(2*time.Minute)
		must(t, s.EndpointUpdate(ctx, e1))
		fanOut("the first endpoint failing", 1)
		_, err := m.EndpointDisableFailing(ctx, t0.Add(-24*time.Hour), "failing")
		must(t, err)
		fanOut("the first endpoint disabled by the upkeep", 0)
		e1.Disabled, e1.DisabledReason, e1.FailingSince, e1.UpdatedAt = false, "", nil, t0.Add(3*time.Minute)
		must(t, s.EndpointUpdate(ctx, e1))
		fanOut("the first endpoint enabled again", 1)
	}

	must(t, s.EndpointDelete(ctx, a.ID, e1.ID))
	fanOut("the first endpoint deleted", 0)
	must(t, s.AppDelete(ctx, a.ID))
	fanOut("the app deleted", -1)

	// An app created after a publish found it missing.
	must(t, s.AppCreate(ctx, a))
	newEndpoint(t, s, a.ID, nil)
	fanOut("the app created again", 1)
}
