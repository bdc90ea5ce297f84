package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/ksuid"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// benchPayload is a 1 KiB message payload, the size `hookline bench`
// publishes by default.
var benchPayload = json.RawMessage(`{"seq":1,"pad":"` + strings.Repeat("x", 1024-len(`{"seq":1,"pad":""}`)) + `"}`)

// benchApp opens a store on a fresh file with one app and one endpoint
// that accepts every message, as the harness's max scenario has.
func benchApp(b *testing.B) (*sqlite.Store, *hookline.App) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookline.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	now := time.Now()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), Name: "bench", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	if err := s.AppCreate(ctx, a); err != nil {
		b.Fatal(err)
	}
	benchEndpoint(b, s, a.ID)
	return s, a
}

// benchEndpoint adds an endpoint that accepts every message to app appID.
func benchEndpoint(b *testing.B, s *sqlite.Store, appID string) {
	b.Helper()
	now := time.Now()
	e := &hookline.Endpoint{
		ID: hookline.NewID(hookline.PrefixEndpoint), AppID: appID, URL: "http://127.0.0.1:9/hook", Version: 1,
		Format: hookline.FormatJSON, Metadata: map[string]string{}, Headers: map[string]string{},
		Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef01234567")}}, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.EndpointCreate(context.Background(), e); err != nil {
		b.Fatal(err)
	}
}

func benchBatch(appID string, n int) []*store.MessageCreate {
	now := time.Now()
	batch := make([]*store.MessageCreate, n)
	for i := range batch {
		batch[i] = &store.MessageCreate{Message: &hookline.Message{
			ID: hookline.NewID(hookline.PrefixMessage), AppID: appID, EventType: "bench.event", Payload: benchPayload, CreatedAt: now,
		}}
	}
	return batch
}

// BenchmarkMessageCreate measures the publish path's write: a batch of
// 1 KiB messages, each with its delivery, in one transaction (one fsync).
// Group commit makes concurrent publishes share such batches, so the
// batch size the server reaches decides its ceiling.
func BenchmarkMessageCreate(b *testing.B) {
	for _, n := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			s, a := benchApp(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				batch := benchBatch(a.ID, n)
				b.StartTimer()
				if err := s.MessageCreate(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkDeliveryClaimFinish measures the dispatcher's two store calls
// for 500 deliveries: one claim, then one write of 500 successful
// attempts, as the dispatcher's result writer batches them.
func BenchmarkDeliveryClaimFinish(b *testing.B) {
	const n = 500
	s, a := benchApp(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := s.MessageCreate(ctx, benchBatch(a.ID, n)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		now := time.Now()
		tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: now, Limit: n, LeaseUntil: now.Add(time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
		if len(tasks) != n {
			b.Fatalf("claimed %d deliveries, want %d", len(tasks), n)
		}
		results := make([]store.Result, len(tasks))
		for i, t := range tasks {
			d := t.Delivery
			d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = hookline.StatusSuccess, d.Attempts+1, time.Time{}, now
			results[i] = store.Result{Delivery: d, Attempt: &hookline.Attempt{
				ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: d.AppID, MessageID: d.MessageID,
				EndpointID: d.EndpointID, URL: t.Endpoint.URL, Status: hookline.StatusSuccess, StatusCode: 200,
				ResponseHeaders: map[string][]string{"Content-Length": {"0"}}, Duration: time.Millisecond, CreatedAt: now,
			}}
		}
		if err := s.DeliveryFinish(ctx, results); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkClaimPastExcludedBacklog measures a claim while one endpoint,
// left out because its queue is full (a slow or dead receiver), has a
// backlog of 100,000 due deliveries and another endpoint has work: the
// claim must not pay for stepping over the backlog.
func BenchmarkClaimPastExcludedBacklog(b *testing.B) {
	ctx := context.Background()
	s, a := benchApp(b)
	eps, _, err := s.EndpointList(ctx, a.ID, store.Page{Limit: 1})
	if err != nil || len(eps) != 1 {
		b.Fatal(err)
	}
	slow := eps[0].ID
	for range 200 {
		if err := s.MessageCreate(ctx, benchBatch(a.ID, 500)); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	other := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: a.ID, URL: "http://127.0.0.1:9/other", Version: 1,
		Format: hookline.FormatJSON, Channels: []string{"other"}, CreatedAt: now, UpdatedAt: now}
	if err := s.EndpointCreate(ctx, other); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch := benchBatch(a.ID, 1)
		batch[0].Message.Channels = []string{"other"}
		if err := s.MessageCreate(ctx, batch); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t := time.Now().Add(time.Second)
		tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: t, Limit: 512, LeaseUntil: t.Add(time.Minute), Exclude: []string{slow}})
		if err != nil || len(tasks) != 1 {
			b.Fatalf("claimed %d, %v", len(tasks), err)
		}
	}
}

// BenchmarkFanOutWrite measures the writer's share of the harness's
// fanout-10 scenario per delivery: publish batches of 15 messages to 10
// endpoints whose deliveries are leased at once, and their results
// written 255 or more at a time, as the dispatcher's result writer
// batches them. Commits are not flushed, so the figure is CPU, not the
// disk's fsync.
func BenchmarkFanOutWrite(b *testing.B) { benchFanOutWrite(b, false) }

// BenchmarkFanOutWriteLate is BenchmarkFanOutWrite with a seventh of each
// batch of results written with the next batch instead, as when attempts
// were named as their requests started and a slow one was written after
// faster ones that started later: their attempt IDs fall below those
// already written, and each takes a span of its own.
func BenchmarkFanOutWriteLate(b *testing.B) { benchFanOutWrite(b, true) }

func benchFanOutWrite(b *testing.B, late bool) {
	s, a := benchApp(b)
	ctx := context.Background()
	for range 9 {
		benchEndpoint(b, s, a.ID)
	}
	var results, held []store.Result
	deliveries := 0
	b.ReportAllocs()
	for b.Loop() {
		batch := benchBatch(a.ID, 15)
		lease := &store.Lease{Until: time.Now().Add(time.Minute), Limit: 1000}
		for _, item := range batch {
			item.Lease = lease
		}
		if err := s.MessageCreateUnflushed(ctx, batch); err != nil {
			b.Fatal(err)
		}
		done := time.Now()
		for _, item := range batch {
			for _, t := range item.Tasks {
				d := t.Delivery
				d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = hookline.StatusSuccess, d.Attempts+1, time.Time{}, done
				results = append(results, store.Result{Delivery: d, Attempt: &hookline.Attempt{
					ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: d.AppID, MessageID: d.MessageID,
					EndpointID: d.EndpointID, URL: t.Endpoint.URL, Status: hookline.StatusSuccess, StatusCode: 200,
					ResponseHeaders: map[string][]string{"Content-Length": {"0"}}, Duration: time.Millisecond, CreatedAt: done,
				}})
				deliveries++
			}
		}
		if len(results) < 255 {
			continue
		}
		write, keep := results, held[:0:0]
		if late {
			write = nil
			for i, r := range results {
				if i%7 == 3 {
					keep = append(keep, r)
				} else {
					write = append(write, r)
				}
			}
			write = append(write, held...)
		}
		if err := s.DeliveryFinish(ctx, write); err != nil {
			b.Fatal(err)
		}
		results, held = results[:0], keep
	}
	if deliveries != 150*b.N {
		b.Fatalf("%d deliveries leased, want %d", deliveries, 150*b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(deliveries), "ns/delivery")
}

// BenchmarkListAfter measures lists filtered by a window's start that
// matches fewer rows than a page, newest first, beside a long history:
// the query of a client polling for what is new. Without a bound on the
// IDs such a list tests the creation time of every older row.
func BenchmarkListAfter(b *testing.B) {
	const history, recent = 100_000, 10
	s, a := benchApp(b)
	ctx := context.Background()
	eps, _, err := s.EndpointList(ctx, a.ID, store.Page{Limit: 1})
	if err != nil || len(eps) != 1 {
		b.Fatalf("endpoints: %v, %v", eps, err)
	}
	// The history: a message a second, ending an hour ago, each with the
	// ID it would have had then.
	start := time.Now().Add(-history*time.Second - time.Hour)
	for i := 0; i < history; i += 500 {
		batch := benchBatch(a.ID, 500)
		for j, mc := range batch {
			at := start.Add(time.Duration(i+j) * time.Second)
			k, err := ksuid.NewRandomWithTime(at)
			if err != nil {
				b.Fatal(err)
			}
			mc.Message.ID, mc.Message.CreatedAt = hookline.PrefixMessage+k.String(), at
		}
		if err := s.MessageCreate(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.MessageCreate(ctx, benchBatch(a.ID, recent)); err != nil {
		b.Fatal(err)
	}
	after := time.Now().Add(-time.Minute)
	page := store.Page{Limit: 50, Desc: true}
	w := store.Window{After: &after}
	lists := []struct {
		name string
		list func() (int, error)
	}{
		{"messages", func() (int, error) {
			l, _, err := s.MessageList(ctx, a.ID, store.MessageFilter{Page: page, Window: w})
			return len(l), err
		}},
		{"endpoint-messages", func() (int, error) {
			l, _, err := s.EndpointMessageList(ctx, a.ID, eps[0].ID, store.EndpointMessageFilter{Page: page, Window: w})
			return len(l), err
		}},
	}
	for _, l := range lists {
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				n, err := l.list()
				if err != nil || n != recent {
					b.Fatalf("listed %d, want %d: %v", n, recent, err)
				}
			}
		})
	}
}
