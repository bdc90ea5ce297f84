package dispatch

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
)

// events records operational events.
type events struct {
	mu  sync.Mutex
	got []opwebhook.Event
}

func (r *events) Emit(ev opwebhook.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
}

func (r *events) all() []opwebhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]opwebhook.Event(nil), r.got...)
}

// TestOperationalEvents checks which attempts tell the operator what: a
// delivery's fourth failure, its last one, a success after failing, and
// an endpoint disabled, each once its result is written.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// codes are the answers to the attempts, in turn; the last one
		// repeats.
		codes    []int
		attempts int
		app      string
		want     []string
	}{
		{"success", []int{200}, 5, "", nil},
		{"retried and delivered early", []int{500, 500, 200}, 5, "", nil},
		{"failing then exhausted", []int{500}, 5, "", []string{opwebhook.MessageAttemptFailing, opwebhook.MessageAttemptExhausted}},
		{"exhausted before failing", []int{500}, 3, "", []string{opwebhook.MessageAttemptExhausted}},
		{"failing then recovered", []int{500, 500, 500, 500, 503, 200}, 8, "",
			[]string{opwebhook.MessageAttemptFailing, opwebhook.MessageAttemptRecovered}},
		{"gone", []int{410}, 5, "", []string{opwebhook.MessageAttemptExhausted, opwebhook.EndpointDisabled}},
		{"the operator's own endpoint", []int{500}, 5, opwebhook.AppID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ep := newEndpoint("http://hooks.test/")
			ep.UID = "main"
			msg := newMessage()
			msg.EventID = "evt-1"
			if tc.app != "" {
				ep.AppID, msg.AppID = tc.app, tc.app
			}
			task := newTask(ep, msg)
			st := newFakeStore(task)
			st.requeue = true
			var n atomic.Int32
			client := clientFunc(func(*Request) (int, error) {
				i := int(n.Add(1)) - 1
				return tc.codes[min(i, len(tc.codes)-1)], nil
			})
			rec := &events{}
			d := startDispatcher(t, st, Options{Client: client, Now: fixedNow, Schedule: make([]time.Duration, tc.attempts),
				Events: rec})
			st.wait(t, "the delivery to finish", func() bool {
				return len(st.results) > 0 && st.results[len(st.results)-1].Delivery.Status != hookline.StatusPending
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			got := rec.all()
			var types []string
			for _, ev := range got {
				types = append(types, ev.Type)
			}
			if !cmp.Equal(types, tc.want) {
				t.Fatalf("events %v, want %v", types, tc.want)
			}
			results, _ := st.snapshot()
			for _, ev := range got {
				switch data := ev.Data.(type) {
				case *opwebhook.AttemptData:
					// The attempt named is the one written last.
					last := results[len(results)-1].Attempt
					if ev.Type == opwebhook.MessageAttemptFailing {
						last = results[opwebhook.FailingAfter-1].Attempt
					}
					want := &opwebhook.AttemptData{
						AppRef:     opwebhook.AppRef{AppID: msg.AppID},
						MsgID:      msg.ID,
						MsgEventID: new("evt-1"),
						EndpointID: ep.ID,
						LastAttempt: opwebhook.LastAttempt{ID: last.ID, ResponseStatusCode: last.StatusCode,
							Timestamp: testNow},
					}
					if diff := cmp.Diff(want, data); diff != "" {
						t.Errorf("%s data (-want +got):\n%s", ev.Type, diff)
					}
				case *opwebhook.EndpointDisabledData:
					if data.Trigger != "automatic" || data.EndpointID != ep.ID || *data.EndpointUID != "main" ||
						data.FailSince == nil || !data.FailSince.Equal(testNow) {
						t.Errorf("endpoint.disabled data %+v", data)
					}
				default:
					t.Errorf("%s data of type %T", ev.Type, ev.Data)
				}
			}
		})
	}
}
