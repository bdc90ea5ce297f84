package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// deliverAll claims every due delivery through the store, as the
// dispatcher would, and finishes each with one attempt answered by code
// (0 for no response). A failure is final, so the delivery stays failed.
func deliverAll(t *testing.T, st store.Store, now time.Time, code int) []hookline.Attempt {
	t.Helper()
	ctx := context.Background()
	tasks, err := st.DeliveryClaim(ctx, store.Claim{Now: now, Limit: 100, LeaseUntil: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var results []store.Result
	var attempts []hookline.Attempt
	for _, task := range tasks {
		d := task.Delivery
		status := hookline.StatusSuccess
		if code == 0 || code >= 300 {
			status = hookline.StatusFail
		}
		d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = status, d.Attempts+1, time.Time{}, now
		a := hookline.Attempt{
			ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: d.AppID, MessageID: d.MessageID,
			EndpointID: d.EndpointID, URL: task.Endpoint.URL, Status: status, Trigger: d.Trigger, StatusCode: code,
			Response: `{"ok":true}`, Duration: 42 * time.Millisecond, CreatedAt: now,
		}
		if code == 0 {
			a.Response, a.Error = "", "dial tcp: connection refused"
		}
		results = append(results, store.Result{Delivery: d, Attempt: &a})
		attempts = append(attempts, a)
	}
	if err := st.DeliveryFinish(ctx, results); err != nil {
		t.Fatal(err)
	}
	return attempts
}

func TestAttempts(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.createApp("A", "a")
		e.createEventType("order.paid")
		ep1 := e.createEndpoint("a", map[string]any{"url": "https://one.test", "uid": "one"})
		ep2 := e.createEndpoint("a", map[string]any{"url": "https://two.test", "uid": "two", "eventTypes": []string{"order.paid"}})
		m1 := e.createMessage("a", map[string]any{"eventType": "order.paid", "eventId": "first", "channels": []string{"x"},
			"payload": map[string]any{"n": 1}})
		now := time.Now().UTC().Truncate(time.Millisecond)
		failed := deliverAll(t, st, now.Add(time.Second), 500)
		if len(failed) != 2 {
			t.Fatalf("%d attempts, want 2", len(failed))
		}
		m2 := e.createMessage("a", map[string]any{"eventType": "other", "payload": map[string]any{"n": 2}})
		ok := deliverAll(t, st, now.Add(2*time.Second), 200)
		if len(ok) != 1 || ok[0].EndpointID != ep1.ID {
			t.Fatalf("second message attempts %+v, want one to %s", ok, ep1.ID)
		}

		// By endpoint, by ID or uid, newest first.
		var l listOut[attemptOut]
		e.do("GET", "/api/v1/app/a/attempt/endpoint/one", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 2 || l.Data[0].MsgID != m2.ID || l.Data[1].MsgID != m1.ID {
			t.Fatalf("attempts to one: %+v", l.Data)
		}
		got := l.Data[1]
		if got.EndpointID != ep1.ID || got.URL != "https://one.test" || got.ResponseStatusCode != 500 ||
			got.Status != 2 || got.StatusText != "fail" || got.TriggerType != 0 || got.ResponseDurationMs != 42 ||
			got.Response != `{"ok":true}` || got.Timestamp.IsZero() {
			t.Errorf("attempt %+v", got)
		}
		for _, tc := range []struct {
			query string
			want  int
		}{
			{"status=0", 1},
			{"status=2", 1},
			{"status_code_class=500", 1},
			{"status_code_class=200", 1},
			{"status_code_class=400", 0},
			{"event_types=order.paid", 1},
			{"channel=x", 1},
			{"with_content=false", 2},
		} {
			var l listOut[attemptOut]
			e.do("GET", "/api/v1/app/a/attempt/endpoint/"+ep1.ID+"?"+tc.query, nil).want(http.StatusOK).decode(&l)
			if len(l.Data) != tc.want {
				t.Errorf("%s: %d attempts, want %d", tc.query, len(l.Data), tc.want)
			}
			if tc.query == "with_content=false" && l.Data[0].Response != "{}" {
				t.Errorf("without content, response %q", l.Data[0].Response)
			}
		}
		e.do("GET", "/api/v1/app/a/attempt/endpoint/one?status=9", nil).wantInvalid("query", "status")
		e.do("GET", "/api/v1/app/a/attempt/endpoint/one?status_code_class=250", nil).wantInvalid("query", "status_code_class")
		e.do("GET", "/api/v1/app/a/attempt/endpoint/nope", nil).wantError(http.StatusNotFound, "not_found")

		// By message, by ID or eventId, optionally to one endpoint.
		e.do("GET", "/api/v1/app/a/attempt/msg/first", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 2 {
			t.Errorf("attempts of first: %d, want 2", len(l.Data))
		}
		e.do("GET", "/api/v1/app/a/attempt/msg/"+m1.ID+"?endpoint_id=two", nil).want(http.StatusOK).decode(&l)
		if len(l.Data) != 1 || l.Data[0].EndpointID != ep2.ID {
			t.Errorf("attempts of first to two: %+v", l.Data)
		}
		e.do("GET", "/api/v1/app/a/attempt/msg/first?endpoint_id=nope", nil).wantError(http.StatusNotFound, "not_found")
		e.do("GET", "/api/v1/app/a/attempt/msg/nope", nil).wantError(http.StatusNotFound, "not_found")

		// One attempt.
		var one attemptOut
		e.do("GET", "/api/v1/app/a/msg/first/attempt/"+failed[0].ID, nil).want(http.StatusOK).decode(&one)
		if one.ID != failed[0].ID {
			t.Errorf("got attempt %s, want %s", one.ID, failed[0].ID)
		}
		e.do("GET", "/api/v1/app/a/msg/"+m2.ID+"/attempt/"+failed[0].ID, nil).wantError(http.StatusNotFound, "not_found")

		// Messages sent to an endpoint, with the delivery's state.
		var msgs listOut[endpointMessageOut]
		r := e.do("GET", "/api/v1/app/a/endpoint/one/msg", nil).want(http.StatusOK)
		r.decode(&msgs)
		if len(msgs.Data) != 2 || msgs.Data[0].ID != m2.ID || msgs.Data[0].StatusText != "success" ||
			msgs.Data[1].StatusText != "fail" || msgs.Data[1].NextAttempt != nil {
			t.Errorf("messages to one: %+v", msgs.Data)
		}
		if !strings.Contains(string(r.Body), `"payload":{"n":1}`) {
			t.Errorf("endpoint messages lack payloads: %s", r.Body)
		}
		e.do("GET", "/api/v1/app/a/endpoint/one/msg?status=2", nil).want(http.StatusOK).decode(&msgs)
		if len(msgs.Data) != 1 || msgs.Data[0].ID != m1.ID {
			t.Errorf("failed messages to one: %+v", msgs.Data)
		}

		// Resend queues a manual delivery, due now, and wakes the dispatcher.
		wakes := e.wakes.Load()
		r = e.do("POST", "/api/v1/app/a/msg/first/endpoint/two/resend", nil).want(http.StatusAccepted)
		if string(r.Body) != "{}" {
			t.Errorf("resend body %s, want {}", r.Body)
		}
		if e.wakes.Load() != wakes+1 {
			t.Error("resend did not wake the dispatcher")
		}
		var dests listOut[messageEndpointOut]
		e.do("GET", "/api/v1/app/a/msg/first/endpoint", nil).want(http.StatusOK).decode(&dests)
		for _, d := range dests.Data {
			if d.ID == ep2.ID && d.StatusText != "pending" {
				t.Errorf("after resend, delivery to two is %s", d.StatusText)
			}
		}
		retry := deliverAll(t, st, time.Now().Add(time.Minute), 200)
		if len(retry) != 1 || retry[0].EndpointID != ep2.ID || retry[0].Trigger != hookline.TriggerManual {
			t.Errorf("after resend, attempts %+v", retry)
		}
		e.do("POST", "/api/v1/app/a/msg/first/endpoint/nope/resend", nil).wantError(http.StatusNotFound, "not_found")
		e.do("POST", "/api/v1/app/a/msg/nope/endpoint/two/resend", nil).wantError(http.StatusNotFound, "not_found")
	})
}

func TestRecover(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.createApp("A", "a")
		e.createEndpoint("a", map[string]any{"url": "https://one.test", "uid": "one"})
		e.createMessage("a", map[string]any{"eventType": "e", "payload": map[string]any{}})
		deliverAll(t, st, time.Now().Add(time.Second), 0)

		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		wakes := e.wakes.Load()
		var out recoverOut
		e.do("POST", "/api/v1/app/a/endpoint/one/recover", map[string]any{"since": since}).want(http.StatusAccepted).decode(&out)
		if !strings.HasPrefix(out.ID, "qtask_") || out.Status != "running" || out.Task != "endpoint.recover" || out.UpdatedAt.IsZero() {
			t.Errorf("recover answered %+v", out)
		}
		if e.wakes.Load() != wakes+1 {
			t.Error("recover did not wake the dispatcher")
		}
		again := deliverAll(t, st, time.Now().Add(time.Minute), 200)
		if len(again) != 1 || again[0].Trigger != hookline.TriggerManual {
			t.Errorf("after recover, attempts %+v", again)
		}

		old := time.Now().Add(-15 * 24 * time.Hour).UTC().Format(time.RFC3339)
		e.do("POST", "/api/v1/app/a/endpoint/one/recover", map[string]any{"since": old}).wantInvalid("body", "since")
		e.do("POST", "/api/v1/app/a/endpoint/one/recover", map[string]any{}).wantInvalid("body", "since")
		e.do("POST", "/api/v1/app/a/endpoint/one/recover", map[string]any{"since": "last week"}).wantInvalid("body", "since")
		e.do("POST", "/api/v1/app/a/endpoint/one/recover", map[string]any{"since": since, "until": old}).wantInvalid("body", "since")
		e.do("POST", "/api/v1/app/a/endpoint/nope/recover", map[string]any{"since": since}).wantError(http.StatusNotFound, "not_found")
	})
}
