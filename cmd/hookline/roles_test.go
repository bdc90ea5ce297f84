package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestRoles runs an api node and a worker node on one PostgreSQL database:
// a message published on the api node is delivered by the worker, woken
// by NOTIFY rather than by its poll.
func TestRoles(t *testing.T) {
	pg := pgtest.URL(t)
	t.Parallel()
	rc := newReceiver(t, nil)

	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	exited := make(chan error, 1)
	env := map[string]string{"HOOKLINE_ADMIN_TOKEN": testToken}
	go func() {
		exited <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", pg, "--role", "worker", "--node-id", "w1", "--allow-private-networks"}, out, out, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "worker running") {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The worker serves the health probes and the metrics, and nothing
	// else, on its --addr.
	health := waitListening(t, out, nil)
	for path, want := range map[string]int{
		"/api/v1/health":      http.StatusNoContent,
		"/api/v1/health/live": http.StatusNoContent,
		"/metrics":            http.StatusOK,
		"/api/v1/app":         http.StatusNotFound,
	} {
		resp, err := http.Get(health + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("worker GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}

	api := startServer(t, nil, "--db", pg, "--role", "api", "--node-id", "a1")
	var app struct{ ID string }
	if code := call(t, api.URL, "POST", "/api/v1/app", map[string]any{"name": "roles"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	if code := call(t, api.URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": rc.URL}, nil); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}
	start := time.Now()
	if code := call(t, api.URL, "POST", "/api/v1/app/"+app.ID+"/msg", map[string]any{"eventType": "a.b", "payload": map[string]any{"n": 1}}, nil); code != http.StatusAccepted {
		t.Fatalf("publish: %d", code)
	}
	got := rc.wait(t, 1)
	if ua := got[0].Header.Get("User-Agent"); !strings.HasSuffix(ua, " node/w1") {
		t.Errorf("delivered with User-Agent %q, want the worker's", ua)
	}
	// The worker's poll is 1s; NOTIFY wakes it well before.
	if took := got[0].At.Sub(start); took > 900*time.Millisecond {
		t.Errorf("delivered %v after the publish; NOTIFY should have woken the worker at once", took)
	}

	// Each role counts its own part on its own listener: the worker the
	// delivery, the api node the publish. Both read the backlog from the
	// shared database.
	wantMetrics(t, health, []metricWant{
		{"hookline_deliveries_total", []string{"outcome", "success"}, 1},
		{"hookline_delivery_latency_seconds", nil, 1},
		{"hookline_messages_published_total", nil, 0},
		{"hookline_deliveries_pending", nil, 0},
		{"hookline_endpoints_disabled", nil, 0},
	})
	wantMetrics(t, api.URL, []metricWant{
		{"hookline_messages_published_total", nil, 1},
		{"hookline_deliveries_total", []string{"outcome", "success"}, 0},
		{"hookline_api_requests_total", []string{"route", "POST /api/v1/app/{app_id}/msg", "code", "202"}, 1},
		{"hookline_deliveries_pending", nil, 0},
	})
}

func TestRoleNeedsPostgres(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := Main(context.Background(), []string{"serve", "--db", filepath.Join(t.TempDir(), "h.db"), "--role", "worker"}, &out, &out, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("err = %v, want one saying --role worker needs PostgreSQL", err)
	}
}
