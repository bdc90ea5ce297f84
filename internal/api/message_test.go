package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/storetest"
)

func TestMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.createApp("Acme", "acme")
		e.createEventType("invoice.paid")
		e.createEndpoint("acme", map[string]any{"url": "https://x.test", "eventTypes": []string{"invoice.paid"}})
		e.createEndpoint("acme", map[string]any{"url": "https://y.test", "channels": []string{"eu"}})

		// The payload is stored and returned byte for byte, odd spacing
		// and key order included.
		payload := `{"b":1, "a":  [1,2],"html":"<b>&amp;</b>"}`
		r := e.do("POST", "/api/v1/app/acme/msg",
			`{"eventType": "invoice.paid", "eventId": "evt-1", "channels": ["eu"], "payload": `+payload+`}`).
			want(http.StatusAccepted)
		if !bytes.Contains(r.Body, []byte(`"payload":`+payload)) {
			t.Fatalf("create response does not hold the payload as sent: %s", r.Body)
		}
		var m msgOut
		r.decode(&m)
		if !strings.HasPrefix(m.ID, "msg_") || m.EventType != "invoice.paid" || deref(m.EventID) != "evt-1" ||
			!slices.Equal(m.Channels, []string{"eu"}) {
			t.Fatalf("created %+v", m)
		}
		if n := e.wakes.Load(); n != 1 {
			t.Errorf("dispatcher woken %d times, want 1", n)
		}
		stored, err := st.MessageGet(context.Background(), a.ID, m.ID)
		if err != nil || string(stored.Payload) != payload {
			t.Fatalf("stored payload %q (%v), want %q", stored.Payload, err, payload)
		}
		// Both endpoints accept it: one by event type, one by channel.
		var dests listOut[messageEndpointOut]
		e.do("GET", "/api/v1/app/acme/msg/"+m.ID+"/endpoint", nil).want(http.StatusOK).decode(&dests)
		if len(dests.Data) != 2 || dests.Data[0].StatusText != "pending" || dests.Data[0].NextAttempt == nil {
			t.Errorf("destinations %+v", dests.Data)
		}

		for _, path := range []string{"/api/v1/app/acme/msg/" + m.ID, "/api/v1/app/" + a.ID + "/msg/evt-1"} {
			r := e.do("GET", path, nil).want(http.StatusOK)
			if !bytes.Contains(r.Body, []byte(`"payload":`+payload)) {
				t.Errorf("GET %s: %s", path, r.Body)
			}
		}
		r = e.do("GET", "/api/v1/app/acme/msg/"+m.ID+"?with_content=false", nil).want(http.StatusOK)
		if !bytes.Contains(r.Body, []byte(`"payload":{}`)) {
			t.Errorf("without content: %s", r.Body)
		}
		r = e.do("POST", "/api/v1/app/acme/msg?with_content=false", map[string]any{"eventType": "invoice.paid",
			"payload": map[string]any{"x": 1}}).want(http.StatusAccepted)
		if !bytes.Contains(r.Body, []byte(`"payload":{}`)) {
			t.Errorf("create without content: %s", r.Body)
		}

		// A repeated eventId is a conflict naming the first message.
		b := e.do("POST", "/api/v1/app/acme/msg", `{"eventType": "invoice.paid", "eventId": "evt-1", "payload": {}}`).
			wantError(http.StatusConflict, "conflict")
		if !strings.Contains(b.Detail, m.ID) {
			t.Errorf("conflict detail %q does not name %s", b.Detail, m.ID)
		}
		// The same eventId in another app is another message.
		e.createApp("Other", "other")
		e.createMessage("other", map[string]any{"eventType": "invoice.paid", "eventId": "evt-1", "payload": map[string]any{}})

		e.do("GET", "/api/v1/app/acme/msg/nope", nil).wantError(http.StatusNotFound, "not_found")
		e.do("POST", "/api/v1/app/nope/msg", map[string]any{"eventType": "a", "payload": map[string]any{}}).
			wantError(http.StatusNotFound, "not_found")
	})
}

func TestMessageValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	e.createApp("A", "a")
	for _, tc := range []struct {
		name string
		body string
		loc  []string
	}{
		{"array payload", `{"eventType": "a", "payload": [1]}`, []string{"body", "payload"}},
		{"no payload", `{"eventType": "a"}`, []string{"body", "payload"}},
		{"null payload", `{"eventType": "a", "payload": null}`, []string{"body", "payload"}},
		{"bad event type", `{"eventType": "a b", "payload": {}}`, []string{"body", "eventType"}},
		{"bad event id", `{"eventType": "a", "eventId": "a/b", "payload": {}}`, []string{"body", "eventId"}},
		{"six channels", `{"eventType": "a", "channels": ["1","2","3","4","5","6"], "payload": {}}`, []string{"body", "channels"}},
		{"retention", `{"eventType": "a", "payloadRetentionPeriod": 1, "payload": {}}`, []string{"body", "payloadRetentionPeriod"}},
		{"application without uid", `{"eventType": "a", "payload": {}, "application": {"name": "B"}}`,
			[]string{"body", "application", "uid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v1/app/a/msg"
			if strings.Contains(tc.name, "application") {
				path = "/api/v1/app/b/msg"
			}
			e.in(t).do("POST", path, tc.body).wantInvalid(tc.loc...)
		})
	}
}

func TestMessageCreatesApplication(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		body := map[string]any{"eventType": "a", "payload": map[string]any{},
			"application": map[string]any{"name": "Lazy", "uid": "lazy"}}
		e.createMessage("lazy", body)
		var a applicationOut
		e.do("GET", "/api/v1/app/lazy", nil).want(http.StatusOK).decode(&a)
		if a.Name != "Lazy" {
			t.Errorf("created app %+v", a)
		}
		// Once it exists, application is ignored.
		body["application"] = map[string]any{"name": "Renamed", "uid": "lazy"}
		e.createMessage("lazy", body)
		e.do("GET", "/api/v1/app/lazy", nil).want(http.StatusOK).decode(&a)
		if a.Name != "Lazy" {
			t.Errorf("app renamed to %q by a message", a.Name)
		}
		e.do("POST", "/api/v1/app/elsewhere/msg", body).wantInvalid("body", "application", "uid")
		body["application"] = map[string]any{"name": "", "uid": "blank"}
		e.do("POST", "/api/v1/app/blank/msg", body).wantInvalid("body", "application", "name")
	})
}

func TestMessageList(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.createApp("A", "a")
		var ids []string
		for i := range 5 {
			typ, ch := "even", "c0"
			if i%2 == 1 {
				typ, ch = "odd", "c1"
			}
			m := e.createMessage("a", map[string]any{"eventType": typ, "channels": []string{ch},
				"payload": json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))})
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		slices.Reverse(ids) // newest first

		pages, _ := pageThrough[msgOut](e, "/api/v1/app/a/msg", 2)
		var got []string
		for _, p := range pages {
			for _, m := range p {
				got = append(got, m.ID)
				if isNull(m.Payload) || m.Payload[0] != '{' {
					t.Errorf("message %s has payload %s", m.ID, m.Payload)
				}
			}
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("paging forward got %v, want %v", got, ids)
		}

		// prevIterator walks back towards newer messages.
		var second, back listOut[msgOut]
		e.do("GET", "/api/v1/app/a/msg?limit=2&iterator="+ids[1], nil).want(http.StatusOK).decode(&second)
		e.do("GET", "/api/v1/app/a/msg?limit=2&iterator="+*second.PrevIterator, nil).want(http.StatusOK).decode(&back)
		if len(back.Data) != 2 || back.Data[0].ID != ids[0] || back.Data[1].ID != ids[1] {
			t.Errorf("prev page %+v, want %v", back.Data, ids[:2])
		}

		var l listOut[msgOut]
		e.do("GET", "/api/v1/app/a/msg?event_types=odd", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 2 {
			t.Errorf("event_types=odd: %d messages, want 2", len(l.Data))
		}
		e.do("GET", "/api/v1/app/a/msg?event_types=odd,even", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 5 {
			t.Errorf("event_types=odd,even: %d messages, want 5", len(l.Data))
		}
		e.do("GET", "/api/v1/app/a/msg?event_types[]=odd&event_types[]=even", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 5 {
			t.Errorf("event_types[]: %d messages, want 5", len(l.Data))
		}
		e.do("GET", "/api/v1/app/a/msg?channel=c0", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 3 {
			t.Errorf("channel=c0: %d messages, want 3", len(l.Data))
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		e.do("GET", "/api/v1/app/a/msg?after="+future, nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 0 {
			t.Errorf("after the future: %d messages", len(l.Data))
		}
		e.do("GET", "/api/v1/app/a/msg?before="+future+"&with_content=false", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 5 || string(l.Data[0].Payload) != "{}" {
			t.Errorf("before the future without content: %+v", l.Data)
		}
	})
}

// recordingPublisher publishes through the store, counting calls, as the
// group committer does.
type recordingPublisher struct {
	st    store.Store
	calls atomic.Int32
}

func (p *recordingPublisher) Publish(ctx context.Context, m *store.MessageCreate) error {
	p.calls.Add(1)
	return p.st.MessageCreate(ctx, []*store.MessageCreate{m})
}

func TestMessagePublisher(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	pub := &recordingPublisher{st: st}
	e := newEnv(t, st, func(o *Options) { o.Publisher = pub })
	e.createApp("A", "a")
	e.createEndpoint("a", map[string]any{"url": "https://x.test"})
	e.createMessage("a", map[string]any{"eventType": "a", "eventId": "once", "payload": map[string]any{}})
	e.do("POST", "/api/v1/app/a/msg", map[string]any{"eventType": "a", "eventId": "once", "payload": map[string]any{}}).
		wantError(http.StatusConflict, "conflict")
	if n := pub.calls.Load(); n != 2 {
		t.Errorf("publisher called %d times, want 2", n)
	}
	if n := e.wakes.Load(); n != 0 {
		t.Errorf("woken %d times; the publisher's owner wakes the dispatcher", n)
	}
}

// TestPublishAfterAppChanges checks that the app lookup cache of the
// publish path never outlives a change made through the API: a deleted
// app's path answers 404, and a new app under the same uid takes the next
// message at once.
func TestPublishAfterAppChanges(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		publish := func() *response {
			return e.do("POST", "/api/v1/app/shop/msg", `{"eventType":"a.b","payload":{"n":1}}`)
		}
		e.do("POST", "/api/v1/app", `{"name":"one","uid":"shop"}`).want(http.StatusCreated)
		publish().want(http.StatusAccepted)
		e.do("DELETE", "/api/v1/app/shop", nil).want(http.StatusNoContent)
		publish().wantError(http.StatusNotFound, "not_found")
		var second struct{ ID string }
		e.do("POST", "/api/v1/app", `{"name":"two","uid":"shop"}`).want(http.StatusCreated).decode(&second)
		publish().want(http.StatusAccepted)
		var list struct{ Data []struct{ ID string } }
		e.do("GET", "/api/v1/app/"+second.ID+"/msg", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 1 {
			t.Errorf("the new app holds %d messages, want the one published after it was made", len(list.Data))
		}

		// The uid moves to a third app while the second still exists.
		e.do("PATCH", "/api/v1/app/shop", `{"uid":"shop-old"}`).want(http.StatusOK)
		var third struct{ ID string }
		e.do("POST", "/api/v1/app", `{"name":"three","uid":"shop"}`).want(http.StatusCreated).decode(&third)
		publish().want(http.StatusAccepted)
		e.do("GET", "/api/v1/app/"+third.ID+"/msg", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 1 {
			t.Errorf("after the uid moved, its app holds %d messages, want 1", len(list.Data))
		}
	})
}

// TestMessageDepth checks that JSON nested deeper than encoding/json
// allows is refused with a 422 saying so, and that what is accepted is
// shown back in answers that encoding/json decodes.
func TestMessageDepth(t *testing.T) {
	nested := func(depth int) string { // an object depth levels deep
		return `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
	}
	publish := func(payload string) string { return `{"eventType":"deep","payload":` + payload + `}` }
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.createApp("Acme", "acme")

		it := e.do("POST", "/api/v1/app/acme/msg", publish(nested(500000))).wantInvalid("body")
		if !strings.Contains(it.Msg, "10000 levels") {
			t.Errorf("refusal says %q, want the limit", it.Msg)
		}
		e.do("POST", "/api/v1/app/acme/msg", publish(nested(hookline.MaxPayloadDepth+1))).wantInvalid("body", "payload")
		e.do("POST", "/api/v1/event-type", `{"name":"deep","description":"d","schemas":`+nested(hookline.MaxPayloadDepth+1)+`}`).
			wantInvalid("body", "schemas")

		// The deepest payload and schemas accepted come back in lists
		// that encoding/json, and so the SDKs, decode.
		e.do("POST", "/api/v1/app/acme/msg", publish(nested(hookline.MaxPayloadDepth))).want(http.StatusAccepted)
		e.do("POST", "/api/v1/event-type", `{"name":"deep","description":"d","schemas":`+nested(hookline.MaxPayloadDepth)+`}`).
			want(http.StatusCreated)
		for _, path := range []string{"/api/v1/app/acme/msg", "/api/v1/event-type"} {
			var page struct {
				Data []map[string]any `json:"data"`
			}
			e.do("GET", path, nil).want(http.StatusOK).decode(&page)
			if len(page.Data) != 1 {
				t.Errorf("GET %s: %d items, want 1", path, len(page.Data))
			}
		}
	})
}

// TestMessageIDsWithinLag checks that every message the API makes is named
// within hookline.IDLag of its creation time, which lists with a before
// bound rely on to start their walk below it (see hookline.IDCeiling).
func TestMessageIDsWithinLag(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st)
	e.createApp("Acme", "acme")
	e.createEventType("invoice.paid")
	ep := e.createEndpoint("acme", map[string]any{"url": "https://x.test"})
	for _, tt := range []struct {
		name, path string
		body       map[string]any
	}{
		{"publish", "/api/v1/app/acme/msg", map[string]any{"eventType": "invoice.paid", "payload": map[string]any{"a": 1}}},
		{"publish creating the app", "/api/v1/app/beta/msg",
			map[string]any{"eventType": "invoice.paid", "payload": map[string]any{}, "application": map[string]any{"name": "Beta", "uid": "beta"}}},
		{"send example", "/api/v1/app/acme/endpoint/" + ep.ID + "/send-example", map[string]any{"eventType": "invoice.paid"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			var m msgOut
			e.do("POST", tt.path, tt.body).want(http.StatusAccepted).decode(&m)
			mf, ok := st.(store.MessageFinder)
			if !ok {
				t.Fatal("the SQLite store finds no message by ID alone")
			}
			stored, err := mf.MessageFind(context.Background(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			storetest.WantIDLag(t, hookline.PrefixMessage, stored.ID, stored.CreatedAt)
		})
	}
}
