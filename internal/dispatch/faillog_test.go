package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline/internal/store"
)

// logBuffer collects the JSON lines of a logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the lines with the message msg, decoded.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			delete(m, "time")
			out = append(out, m)
		}
	}
	return out
}

// TestFailedAttemptsLogged checks that failed attempts are logged once per
// endpoint and interval, naming what an operator needs and nothing secret.
func TestFailedAttemptsLogged(t *testing.T) {
	const secret = "s3cr3t-in-"
	down := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(secret + "response"))
	}))
	failing := newEndpoint(down.URL + "/hook?token=" + secret + "url")
	failing.Headers = map[string]string{"Authorization": "Bearer " + secret + "header"}
	gone := newEndpoint(closedURL(t))
	ok := newEndpoint(newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).URL)

	var all []store.Task
	for i := range 5 {
		msg := newMessage()
		msg.Payload = []byte(`{"card":"` + secret + `payload"}`)
		task := newTask(failing, msg)
		task.Delivery.Attempts = i // the fifth is the last attempt of a schedule of 5
		all = append(all, task)
	}
	last := newTask(gone, newMessage())
	last.Delivery.Attempts = 4
	all = append(all, last, newTask(ok, newMessage()))

	var logs logBuffer
	st := newFakeStore(all...)
	// A stopped clock: every failure falls in the first interval.
	startDispatcher(t, st, Options{Now: fixedNow, Jitter: -1, Logger: logs.logger(), Workers: 1,
		Schedule: DefaultSchedule[:5], Timeout: 2 * time.Second})
	st.waitResults(t, len(all))

	lines := logs.lines(t, "delivery attempt failed")
	byEndpoint := map[string]map[string]any{}
	for _, l := range lines {
		id, _ := l["endpoint_id"].(string)
		if _, dup := byEndpoint[id]; dup {
			t.Errorf("a second line for endpoint %s within the interval: %v", id, l)
		}
		byEndpoint[id] = l
	}
	if len(byEndpoint) != 2 {
		t.Fatalf("lines for %d endpoints, want 2 (the failing ones): %v", len(byEndpoint), lines)
	}
	first := byEndpoint[failing.ID]
	if first == nil || first["app_id"] != "app_test" || first["status_code"] != float64(500) || first["level"] != "WARN" ||
		first["msg_id"] == nil || first["attempt"] == nil {
		t.Errorf("line for the endpoint answering 500: %v", first)
	}
	refused := byEndpoint[gone.ID]
	if refused == nil || refused["err"] != "could not connect: connection refused" || refused["attempt"] != float64(5) || refused["final"] != true {
		t.Errorf("line for the refused endpoint: %v", refused)
	}
	if out := logs.String(); strings.Contains(out, secret) {
		t.Errorf("the log holds a secret, payload or response:\n%s", out)
	}
}

func TestFailLogRateLimit(t *testing.T) {
	var logs logBuffer
	now := testNow
	l := newFailLog(logs.logger(), func() time.Time { return now })
	l.every, l.max = time.Minute, 2
	ctx := context.Background()
	type step struct {
		advance  time.Duration
		endpoint string
		ok       bool
		skipped  int
	}
	steps := []step{
		{0, "ep_a", true, 0},
		{time.Second, "ep_a", false, 0},
		{time.Second, "ep_a", false, 0},
		{0, "ep_b", true, 0},
		// No room for a third endpoint: while both were logged within
		// the interval, the others share one limit.
		{0, "ep_c", true, 0},
		{0, "ep_d", false, 0},
		{0, "ep_c", false, 0},
		{time.Minute, "ep_a", true, 2},
		{0, "ep_a", false, 0},
		// ep_b's line is older than the interval: a new endpoint makes
		// room by forgetting it.
		{0, "ep_e", true, 0},
		// No room again: ep_b takes the others' limit, whose interval is
		// over, and its line counts what the others left out.
		{0, "ep_b", true, 2},
		{0, "ep_f", false, 0},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		ok, skipped := l.allow(ctx, s.endpoint)
		if ok != s.ok || skipped != s.skipped {
			t.Errorf("step %d, %s: allow = %v, %d; want %v, %d", i, s.endpoint, ok, skipped, s.ok, s.skipped)
		}
		if len(l.endpoints) > l.max {
			t.Fatalf("step %d: %d endpoints remembered, more than %d", i, len(l.endpoints), l.max)
		}
	}
	got := map[string]bool{}
	for id := range l.endpoints {
		got[id] = true
	}
	if diff := cmp.Diff(map[string]bool{"ep_a": true, "ep_e": true}, got); diff != "" {
		t.Errorf("endpoints remembered (-want +got):\n%s", diff)
	}
}

// TestFailLogSweepReports checks that forgetting an endpoint logs the
// failures left out since its last line rather than losing them.
func TestFailLogSweepReports(t *testing.T) {
	var logs logBuffer
	now := testNow
	l := newFailLog(logs.logger(), func() time.Time { return now })
	l.every, l.max = time.Minute, 1
	ctx := context.Background()
	l.allow(ctx, "ep_a")
	l.allow(ctx, "ep_a")
	l.allow(ctx, "ep_a")
	now = now.Add(2 * time.Minute)
	if ok, _ := l.allow(ctx, "ep_b"); !ok {
		t.Fatal("ep_b not allowed")
	}
	want := []map[string]any{{"level": "WARN", "msg": "delivery attempts failed", "endpoint_id": "ep_a", "skipped": float64(2),
		"since": testNow.UTC().Format(time.RFC3339)}}
	if diff := cmp.Diff(want, logs.lines(t, "delivery attempts failed")); diff != "" {
		t.Errorf("summary lines (-want +got):\n%s", diff)
	}
}
