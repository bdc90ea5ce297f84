package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/ksuid"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// idClock hands out IDs as hookline.NewID does, but as of given times:
// each ID is a KSUID of its time, above every ID before it.
type idClock struct{ last ksuid.KSUID }

func (c *idClock) at(t *testing.T, prefix string, at time.Time) string {
	t.Helper()
	id, err := ksuid.NewRandomWithTime(at)
	must(t, err)
	if ksuid.Compare(id, c.last) <= 0 {
		id = c.last.Next()
	}
	c.last = id
	return prefix + id.String()
}

// windowTimes are the creation times of the rows of the window tests, 0.7 s
// apart, so that some seconds hold two rows and the rows cross second
// boundaries at different fractions.
func windowTimes() []time.Time {
	times := make([]time.Time, 8)
	for i := range times {
		times[i] = t0.Add(time.Duration(i) * 700 * time.Millisecond)
	}
	return times
}

// idLead is how long before its creation time the ID of every other row
// of the window tests was read: an ID may be read just before the time
// its row records, across a second boundary.
const idLead = 600 * time.Millisecond

// checkWindows lists, for a window starting just before each row's
// creation time, the rows created after it, newest first, and compares
// them with want: the IDs of the rows created at or after times[i].
func checkWindows(t *testing.T, what string, times []time.Time, ids []string, list func(store.Window) ([]string, error)) {
	t.Helper()
	for i, c := range times {
		after := c.Add(-time.Microsecond)
		got, err := list(store.Window{After: &after})
		must(t, err)
		want := slices.Clone(ids[i:])
		slices.Reverse(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s after %v (-want +got):\n%s", what, after, diff)
		}
	}
}

// testWindows checks that lists filtered by a window's start hold every
// row created after it, when each row's ID was read as it would have been
// as the row was made: at its creation time, just before it, or (for an
// attempt, named when its result is written) later. The first rows are
// written one at a time, the last ones in one write, so that a window
// may start within the IDs of one write.
func testWindows(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	e := newEndpoint(t, s, a.ID, nil)
	// Attempts are named seconds after their messages here, so each kind
	// keeps a clock of its own, as it would if the rows came in real time.
	var msgClock, attClock idClock
	times := windowTimes()
	var msgIDs, attIDs []string
	write := func(rows []int) {
		t.Helper()
		batch := make([]*store.MessageCreate, len(rows))
		for j, i := range rows {
			c, read := times[i], times[i]
			if i%2 == 1 {
				read = c.Add(-idLead)
			}
			batch[j] = &store.MessageCreate{Message: &hookline.Message{ID: msgClock.at(t, hookline.PrefixMessage, read), AppID: a.ID,
				EventType: "x", Payload: json.RawMessage(`{}`), CreatedAt: c}}
			msgIDs = append(msgIDs, batch[j].Message.ID)
		}
		must(t, s.MessageCreate(ctx, batch))
		last := times[rows[len(rows)-1]]
		tasks := claim(t, s, last, 10)
		if len(tasks) != len(rows) {
			t.Fatalf("%d deliveries due after publishing %d", len(tasks), len(rows))
		}
		results := make([]store.Result, len(tasks))
		for j, task := range tasks {
			d, c := task.Delivery, times[rows[j]]
			d.Status, d.Attempts, d.UpdatedAt = hookline.StatusSuccess, 1, last
			att := &hookline.Attempt{ID: attClock.at(t, hookline.PrefixAttempt, last.Add(2*time.Second)), DeliveryID: d.ID, AppID: a.ID,
				MessageID: d.MessageID, EndpointID: e.ID, URL: e.URL, Status: hookline.StatusSuccess, StatusCode: 200, CreatedAt: c}
			results[j] = store.Result{Delivery: d, Attempt: att}
			attIDs = append(attIDs, att.ID)
		}
		must(t, s.DeliveryFinish(ctx, results))
	}
	for i := range 4 {
		write([]int{i})
	}
	write([]int{4, 5, 6, 7})
	page := store.Page{Limit: 50, Desc: true}
	checkWindows(t, "messages", times, msgIDs, func(w store.Window) ([]string, error) {
		got, _, err := s.MessageList(ctx, a.ID, store.MessageFilter{Page: page, Window: w})
		return ids(got, func(m hookline.Message) string { return m.ID }), err
	})
	checkWindows(t, "endpoint messages", times, msgIDs, func(w store.Window) ([]string, error) {
		got, _, err := s.EndpointMessageList(ctx, a.ID, e.ID, store.EndpointMessageFilter{Page: page, Window: w})
		return ids(got, func(m store.MessageStatus) string { return m.Message.ID }), err
	})
	checkWindows(t, "endpoint attempts", times, attIDs, func(w store.Window) ([]string, error) {
		got, _, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: page, Window: w, EndpointID: e.ID})
		return ids(got, func(a hookline.Attempt) string { return a.ID }), err
	})
}

// testReceivedWindows is testWindows for a source's received requests.
func testReceivedWindows(t *testing.T, s FullStore) {
	src := newSource(t, s, "gh")
	var clock idClock
	times := windowTimes()
	var recIDs []string
	for i, c := range times {
		x := newReceived(src, "", true)
		read := c
		if i%2 == 1 {
			read = c.Add(-idLead)
		}
		x.ID, x.CreatedAt = clock.at(t, hookline.PrefixReceived, read), c
		must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x}))
		recIDs = append(recIDs, x.ID)
	}
	checkWindows(t, "received", times, recIDs, func(w store.Window) ([]string, error) {
		got, _, err := s.ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: store.Page{Limit: 50, Desc: true}, Window: w})
		return ids(got, func(x hookline.Received) string { return x.ID }), err
	})
}
