package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAPI answers publishes as hookline does, 202, except every nth with
// 503, and checks that each body is a message with the payload's fields.
func fakeAPI(t *testing.T, failEvery int64) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			EventType string          `json:"eventType"`
			Payload   json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.EventType == "" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, _, ok := ParsePayload(in.Payload); !ok || len(in.Payload) != 256 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		if failEvery > 0 && n.Add(1)%failEvery == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestClosedLoopStopsAtCount(t *testing.T) {
	t.Parallel()
	for name, client := range map[string]Poster{"fasthttp": NewLoadClient(8), "net/http": NetClient{NewClient(8)}} {
		t.Run(name, func(t *testing.T) {
			srv, _ := fakeAPI(t, 10)
			accepted := &SeqSet{}
			l := &Load{URL: srv.URL, Token: "tok", PayloadSize: 256, Concurrency: 8, Count: 200, Duration: time.Minute,
				Client: client, Accepted: accepted}
			res := l.Run(context.Background())
			if res.Sent != 200 || res.Accepted != 180 || res.Errors["503"] != 20 || len(res.Errors) != 1 {
				t.Errorf("sent %d accepted %d errors %v; want 200, 180, 503:20", res.Sent, res.Accepted, res.Errors)
			}
			if accepted.Len() != 180 || res.Ack.Count() != 180 {
				t.Errorf("accepted set %d, ack samples %d; want 180", accepted.Len(), res.Ack.Count())
			}
			var perSecond int64
			for _, n := range res.PerSecond {
				perSecond += n
			}
			if perSecond != 180 || !res.End.After(res.Start) {
				t.Errorf("per-second counts sum to %d, phase %s to %s", perSecond, res.Start, res.End)
			}
		})
	}
}

func TestOpenLoopSendsOnSchedule(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, 0)
	accepted := &SeqSet{}
	// 50 messages at 1,000/s: the count ends the run, not the duration.
	l := &Load{URL: srv.URL, Token: "tok", PayloadSize: 256, Concurrency: 4, Rate: 1000, Count: 50, Duration: time.Minute,
		Client: NewLoadClient(4), Accepted: accepted}
	res := l.Run(context.Background())
	if res.Sent != 50 || res.Accepted != 50 {
		t.Fatalf("sent %d accepted %d, want 50", res.Sent, res.Accepted)
	}
	for seq := range int64(50) {
		if !accepted.Has(seq) {
			t.Fatalf("message %d not accepted", seq)
		}
	}
}

func TestLoadEndsWithContext(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, rate := range []float64{0, 100} {
		l := &Load{URL: srv.URL, Token: "tok", PayloadSize: 256, Concurrency: 2, Rate: rate, Duration: time.Hour, Client: NewLoadClient(2)}
		if res := l.Run(ctx); res.Accepted != 0 {
			t.Errorf("rate %g: accepted %d after the context ended", rate, res.Accepted)
		}
	}
}
