// Tests that statements find their rows through indexes rather than by
// reading whole tables or histories, whose size grows with every delivery
// ever made: those run where every write waits (start-up, deletes,
// recovery), and the lists by time window.

package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// TestOpenReleasesClaimsOfTheDead checks that opening a database makes the
// deliveries a process that died had claimed due at once, leaves retries
// due when they were, and finds the claims without reading every delivery.
func TestOpenReleasesClaimsOfTheDead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	f := newSpanFixture(t, path)
	f.publishAndFinish(t, 3)
	s, now := f.s, time.Now()
	publish := func(n int) {
		t.Helper()
		batch := make([]*store.MessageCreate, n)
		for i := range batch {
			batch[i] = &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: f.app.ID,
				EventType: "x", Payload: []byte(`{}`), CreatedAt: now}}
		}
		must(t, s.MessageCreate(ctx, batch))
	}
	claim := func(s *Store, at, until time.Time) []string {
		t.Helper()
		tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: at, Limit: 100, LeaseUntil: until})
		must(t, err)
		return idsOf(tasks, func(t store.Task) string { return t.Delivery.ID })
	}

	// Claimed under a lease of an hour: two of them come back as retries
	// due in an hour, the rest are held when the process dies.
	publish(4)
	held := claim(s, now, now.Add(time.Hour))
	if len(held) != 8 {
		t.Fatalf("claimed %d deliveries, want 8", len(held))
	}
	var retries []store.Result
	for _, id := range held[:2] {
		retries = append(retries, store.Result{Delivery: hookline.Delivery{ID: id, Status: hookline.StatusPending, Attempts: 1,
			NextAttempt: now.Add(time.Hour), UpdatedAt: now}})
	}
	must(t, s.DeliveryFinish(ctx, retries))
	held = held[2:]
	// Claimed under a lease that has lapsed: due already.
	publish(1)
	lapsed := claim(s, now, now.Add(-time.Second))
	must(t, s.Close())

	s, err := Open(ctx, path)
	must(t, err)
	defer s.Close()
	got := claim(s, time.Now(), time.Now().Add(time.Minute))
	want := append(slices.Clone(held), lapsed...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("due after the restart: %v, want the %d held and the %d lapsed: %v", got, len(held), len(lapsed), want)
	}

	plan := explain(t, s, releaseClaimsSQL, []any{hookline.StatusPending, time.Now().UnixMicro(), hookline.StatusSending})
	if strings.Contains(plan, "SCAN d") || !strings.Contains(plan, "deliveries_endpoint_due") {
		t.Errorf("releasing claims reads every delivery:\n%s", plan)
	}
}

// TestDeletesReadOnlyTheirOwn checks that deleting an app or a source
// finds its spans, attempts, deliveries and runs through indexes, not by
// reading every app's or source's rows while every write waits.
func TestDeletesReadOnlyTheirOwn(t *testing.T) {
	s := emptyStore(t)
	for _, q := range append(slices.Clone(appDeletes), sourceDeletes...) {
		plan := explain(t, s, q, []any{"x"})
		for line := range strings.Lines(plan) {
			if strings.HasPrefix(line, "SCAN ") {
				t.Errorf("%s\nreads a whole table:\n%s", q, plan)
			}
		}
	}
}

// TestRecoverReadsOnlyFailures checks that recovering an endpoint's failed
// deliveries walks the index of failed deliveries, not the endpoint's
// history.
func TestRecoverReadsOnlyFailures(t *testing.T) {
	s := emptyStore(t)
	plan := explain(t, s, recoverSQL+"t.app_id = ?6 AND t.created_at >= ?7)", []any{"ep_x", 1, 1, 0, 0, "app_x", 0})
	if !strings.Contains(plan, "USING INDEX deliveries_failed (endpoint_id=? AND created_at>?)") || strings.Contains(plan, "SCAN") {
		t.Errorf("recovery does not walk the failed deliveries of the endpoint in the window:\n%s", plan)
	}
}

// TestWindowListsStopAtTheirStart checks that the lists filtered by a
// window's start walk only the IDs the window can hold, newest first down
// to the window's least ID, rather than testing the creation time of
// every older row: a list whose filter matches fewer rows than a page
// would otherwise read the whole history of its app, endpoint or source.
func TestWindowListsStopAtTheirStart(t *testing.T) {
	s := emptyStore(t)
	after := time.Now().Add(-time.Minute)
	w := store.Window{After: &after}
	for _, p := range []store.Page{{Limit: 50, Desc: true}, {Limit: 50, Desc: true, Iterator: "msg_x"}, {Limit: 50}} {
		for _, l := range []struct {
			name  string
			build func() (string, []any)
			walk  string // the search of the plan's first step that bounds the walk
		}{
			{"messages", func() (string, []any) {
				q := dialect.Query()
				q.MessageListConds("app_x", store.MessageFilter{Page: p, Window: w})
				return q.SQL(messageCols, "messages", "id", p)
			}, "(app_id=? AND id>?"},
			{"endpoint messages", func() (string, []any) {
				q := dialect.Query()
				q.EndpointMessageConds("app_x", "ep_x", store.EndpointMessageFilter{Page: p, Window: w})
				throughSpans(&q, spanDeliveries, "ep_x", "d.msg_id", p)
				return q.SQL("m.id, d.id", endpointMessagesFrom, "d.msg_id", p)
			}, "(endpoint_id=? AND kind=? AND hi>?"},
			{"endpoint attempts", func() (string, []any) {
				q := dialect.Query()
				q.AttemptConds("app_x", store.AttemptFilter{Page: p, Window: w, EndpointID: "ep_x"})
				throughSpans(&q, spanAttempts, "ep_x", "a.id", p)
				return q.SQL("a.id", endpointAttemptsFrom, "a.id", p)
			}, "(endpoint_id=? AND kind=? AND hi>?"},
			{"received", func() (string, []any) {
				q := dialect.Query()
				q.ReceivedListConds("src_x", store.ReceivedFilter{Page: p, Window: w})
				return q.SQL(receivedCols, "received", "id", p)
			}, "(source_id=? AND id>?"},
		} {
			query, args := l.build()
			plan := explain(t, s, query, args)
			if first, _, _ := strings.Cut(plan, "\n"); !strings.Contains(first, l.walk) {
				t.Errorf("%s, page %+v: the walk is not bounded by the window's start, want %q in its first step:\n%s", l.name, p, l.walk, plan)
			}
		}
	}
}

// TestWindowListsStartAtTheirEnd checks that a message list filtered by a
// window's end walks the IDs from those the window's end allows down,
// rather than from the app's newest message down to the window, testing
// the creation time of every row on the way.
func TestWindowListsStartAtTheirEnd(t *testing.T) {
	s := emptyStore(t)
	before := time.Now().Add(-time.Hour)
	after := before.Add(-time.Hour)
	for _, tt := range []struct {
		w    store.Window
		walk string // the search of the plan's first step
	}{
		{store.Window{Before: &before}, "messages_app (app_id=? AND id<?)"},
		{store.Window{Before: &before, After: &after}, "messages_app (app_id=? AND id>? AND id<?)"},
	} {
		p := store.Page{Limit: 50, Desc: true}
		q := dialect.Query()
		q.MessageListConds("app_x", store.MessageFilter{Page: p, Window: tt.w})
		query, args := q.SQL(messageCols, "messages", "id", p)
		plan := explain(t, s, query, args)
		if first, _, _ := strings.Cut(plan, "\n"); !strings.Contains(first, tt.walk) {
			t.Errorf("window %+v: the walk is not bounded by the window's end, want %q in its first step:\n%s", tt.w, tt.walk, plan)
		}
	}
}

// TestEventTypeListsWalkTheirType checks that a message list of one event
// type walks the app's rows of that type in the order of their IDs,
// rather than the app's whole history for a type it rarely publishes:
// both queries of a list, the second bounded by the page's first and last
// IDs, which are far apart for a rare type.
func TestEventTypeListsWalkTheirType(t *testing.T) {
	s := emptyStore(t)
	for _, p := range []store.Page{{Limit: 50, Desc: true}, {Limit: 50, Desc: true, Iterator: "msg_x"}, {Limit: 50}} {
		for _, page := range []bool{false, true} {
			f := store.MessageFilter{Page: p, EventTypes: []string{"customer.deleted"}}
			q := dialect.Query()
			q.MessageListConds("app_x", f)
			if page {
				q.Add("id >= ?", "msg_a")
				q.Add("id <= ?", "msg_z")
			}
			query, args := q.SQL(messageCols, messagesFrom(f), "id", p)
			plan := explain(t, s, query, args)
			if !strings.Contains(plan, "USING INDEX messages_event_type (app_id=? AND event_type=?") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("page %+v, bounded by the page's IDs %v: the list does not walk the event type's index in order:\n%s", p, page, plan)
			}
		}
	}
}

// TestGaugesReadIndexes checks that the gauges a metrics scrape reads walk
// the partial indexes of pending deliveries and disabled endpoints, never
// the tables, which hold every delivery and endpoint ever made.
func TestGaugesReadIndexes(t *testing.T) {
	s := emptyStore(t)
	plan := explain(t, s, gaugesSQL, nil)
	for line := range strings.Lines(plan) {
		table := strings.HasPrefix(line, "SCAN deliveries") || strings.HasPrefix(line, "SCAN endpoints")
		if table && !strings.Contains(line, "INDEX deliveries_endpoint_due") && !strings.Contains(line, "INDEX endpoints_disabled") {
			t.Errorf("reading the gauges reads a whole table:\n%s", plan)
		}
	}
	for _, index := range []string{"deliveries_endpoint_due", "endpoints_disabled"} {
		if !strings.Contains(plan, "INDEX "+index) {
			t.Errorf("reading the gauges does not use %s:\n%s", index, plan)
		}
	}
}
