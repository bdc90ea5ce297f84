package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// pageBytes is the byte cap the tests of capped pages set, and sizes are
// the sizes of the bodies, payloads or responses of their items, in
// order: together far over the cap, with items that fill a page alone and
// one over the cap by itself.
const pageBytes = 5000

var sizes = []int{3000, 500, 3000, 2900, 100, 6000, 200, 1200, 4000}

// filler returns a JSON object of exactly n bytes.
func filler(n int) json.RawMessage {
	return json.RawMessage(`{"p":"` + strings.Repeat("x", n-8) + `"}`)
}

// checkCapped checks a list whose items weigh what weight says: a page
// of up to MaxLimit items stops at the byte cap (cut short and not done
// where the items of the first page outweigh it, yet never empty), and
// walking it every way yields every item once.
func checkCapped(t *testing.T, what string, list func(store.Page) ([]string, bool, error), want []string, weight map[string]int) {
	t.Helper()
	capped := func(p store.Page) ([]string, bool, error) {
		p.Limit, p.MaxBytes = store.MaxLimit, pageBytes
		page, done, err := list(p)
		sum := 0
		for _, id := range page {
			sum += weight[id]
		}
		if err == nil && len(page) > 1 && sum > pageBytes {
			t.Errorf("%s: a page of %d items holds %d bytes, over the cap of %d", what, len(page), sum, pageBytes)
		}
		return page, done, err
	}
	first, done, err := capped(store.Page{})
	must(t, err)
	if len(first) == 0 || len(first) == len(want) || done {
		t.Errorf("%s: the first page holds %d of %d items (done %v); want it cut short by the byte cap, not done",
			what, len(first), len(want), done)
	}
	checkWalks(t, what, capped, want)
}

func testPageBytes(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	e := newEndpoint(t, s, a.ID, nil)
	var msgIDs []string
	weight := map[string]int{}
	for i, n := range sizes {
		m := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID,
			EventType: "x", Payload: filler(n), CreatedAt: t0.Add(time.Duration(i) * time.Second)}}
		must(t, s.MessageCreate(ctx, []*store.MessageCreate{m}))
		msgIDs = append(msgIDs, m.Message.ID)
		weight[m.Message.ID] = n
	}
	checkCapped(t, "messages", func(p store.Page) ([]string, bool, error) {
		got, done, err := s.MessageList(ctx, a.ID, store.MessageFilter{Page: p})
		return ids(got, func(m hookline.Message) string { return m.ID }), done, err
	}, msgIDs, weight)
	checkCapped(t, "messages of an endpoint", func(p store.Page) ([]string, bool, error) {
		got, done, err := s.EndpointMessageList(ctx, a.ID, e.ID, store.EndpointMessageFilter{Page: p})
		return ids(got, func(m store.MessageStatus) string { return m.Message.ID }), done, err
	}, msgIDs, weight)

	// Attempts weigh their responses: one per message, in message order.
	tasks := claim(t, s, t0.Add(time.Hour), 100)
	index := map[string]int{}
	for i, id := range msgIDs {
		index[id] = i
	}
	attIDs := make([]string, len(tasks))
	for i := range attIDs {
		attIDs[i] = hookline.NewID(hookline.PrefixAttempt)
	}
	results := make([]store.Result, len(tasks))
	for j, task := range tasks {
		i := index[task.Delivery.MessageID]
		d := task.Delivery
		d.Status, d.Attempts, d.UpdatedAt = hookline.StatusSuccess, 1, t0
		results[j] = store.Result{Delivery: d, Attempt: &hookline.Attempt{ID: attIDs[i], DeliveryID: d.ID, AppID: a.ID,
			MessageID: d.MessageID, EndpointID: e.ID, URL: e.URL, Status: hookline.StatusSuccess, StatusCode: 200,
			Response: strings.Repeat("r", sizes[i]), CreatedAt: t0}}
		weight[attIDs[i]] = sizes[i]
	}
	must(t, s.DeliveryFinish(ctx, results))
	checkCapped(t, "attempts of an endpoint", func(p store.Page) ([]string, bool, error) {
		got, done, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: p, EndpointID: e.ID})
		return ids(got, func(a hookline.Attempt) string { return a.ID }), done, err
	}, attIDs, weight)
}

func testReceivedPageBytes(t *testing.T, s FullStore) {
	src := newSource(t, s, "capped")
	var want []string
	weight := map[string]int{}
	for i, n := range sizes {
		x := newReceived(src, "", true)
		x.Body, x.View = filler(n), nil
		x.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x}))
		want = append(want, x.ID)
		weight[x.ID] = n
	}
	checkCapped(t, "received requests", func(p store.Page) ([]string, bool, error) {
		got, done, err := s.ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: p})
		return ids(got, func(x hookline.Received) string { return x.ID }), done, err
	}, want, weight)
}
