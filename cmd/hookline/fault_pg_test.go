package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestDatabaseDown runs a node on PostgreSQL and takes the database away:
// the health probe and the API say so (503, naming the store), the
// liveness probe does not, and the node recovers by itself once the
// database is back.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	p, dsn := pgtest.NewProxy(t, pgtest.URL(t), 2)
	srv := startServer(t, nil, "--db", dsn)

	var app struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "down"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	probe := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, _ := probe("/api/v1/health"); code != http.StatusNoContent {
		t.Fatalf("health with the database up = %d %s", code, body)
	}

	p.SetDown(true)
	msg := map[string]any{"eventType": "a.b", "payload": map[string]any{"n": 1}}
	var e struct{ Code string }
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", msg, &e); code != http.StatusServiceUnavailable || e.Code != "store_unavailable" {
		t.Errorf("publish with the database down = %d %q, want 503 store_unavailable", code, e.Code)
	}
	// The probe's answer is cached for a second; the next one sees the
	// database gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, hdr := probe("/api/v1/health")
		if code == http.StatusServiceUnavailable {
			var b struct {
				Code   string
				Checks map[string]string
			}
			if err := json.Unmarshal([]byte(body), &b); err != nil || b.Code != "not_ready" || b.Checks["store"] == "ok" || hdr.Get("Retry-After") == "" {
				t.Errorf("health with the database down = %s (%v), want not_ready naming the store, with Retry-After", body, err)
			}
			if strings.Contains(body, p.Addr()) || strings.Contains(body, "postgres") {
				t.Errorf("health shows the database's address: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %d %s with the database down", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := probe("/api/v1/health/live"); code != http.StatusNoContent {
		t.Errorf("liveness with the database down = %d, want 204", code)
	}

	p.SetDown(false)
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body, _ := probe("/api/v1/health")
		if code == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %d %s after the database came back", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", msg, nil); code != http.StatusAccepted {
		t.Errorf("publish after the database came back = %d, want 202", code)
	}
}
