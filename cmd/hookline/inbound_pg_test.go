package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// createSource creates a source through the API and returns its ID and
// receive URL.
func createSource(t *testing.T, base string, src map[string]any) (id, url string) {
	t.Helper()
	var created struct{ ID, URL string }
	if code := call(t, base, "POST", "/api/v1/source", src, &created); code != http.StatusCreated || created.URL == "" {
		t.Fatalf("create source: %d", code)
	}
	return created.ID, created.URL
}

// postTo sends body to a receive URL and returns the status.
func postTo(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestInboundPostgres serves the inbound half on PostgreSQL: a request
// posted to a source's URL is stored and forwarded.
func TestInboundPostgres(t *testing.T) {
	pg := pgtest.URL(t)
	t.Parallel()
	rc := newReceiver(t, nil)
	srv := startServer(t, nil, "--db", pg)
	_, url := createSource(t, srv.URL, map[string]any{"name": "pg", "routes": []map[string]any{{"type": "forward", "url": rc.URL}}})
	const body = `{"hello":"postgres"}`
	if code := postTo(t, url, body); code != http.StatusOK {
		t.Fatalf("post to the source: %d", code)
	}
	if got := rc.wait(t, 1)[0]; string(got.Body) != body {
		t.Errorf("forwarded %q, want %q", got.Body, body)
	}
}

// TestInboundRoles receives on an api node and checks that a worker node
// forwards the request and runs its command: the api node serves the
// receive URL but runs no commands, the worker runs them.
func TestInboundRoles(t *testing.T) {
	pg := pgtest.URL(t)
	t.Parallel()
	rc := newReceiver(t, nil)
	dir := t.TempDir()
	script := filepath.Join(dir, "save.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Both nodes define the command, as they must for the api node to
	// accept the route; each saves to a file of its own, which tells
	// where the command ran.
	config := func(node string) string {
		path := filepath.Join(dir, node+".json")
		b, _ := json.Marshal(map[string]any{"commands": map[string]any{"save": map[string]any{"path": script, "args": []string{filepath.Join(dir, node+".out")}}}})
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	exited := make(chan error, 1)
	env := map[string]string{"HOOKLINE_ADMIN_TOKEN": testToken}
	go func() {
		exited <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", pg, "--role", "worker", "--node-id", "w1", "--allow-private-networks", "--config", config("worker")},
			out, out, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	eventually(t, func() string {
		if !strings.Contains(out.String(), "worker running") {
			return "the worker did not start:\n" + out.String()
		}
		return ""
	})
	api := startServer(t, nil, "--db", pg, "--role", "api", "--node-id", "a1", "--config", config("api"))

	id, url := createSource(t, api.URL, map[string]any{"name": "roles", "routes": []map[string]any{
		{"type": "forward", "url": rc.URL},
		{"type": "command", "command": "save"},
	}})
	const body = `{"deploy":"main"}`
	if code := postTo(t, url, body); code != http.StatusOK {
		t.Fatalf("post to the source on the api node: %d", code)
	}
	// Only the worker delivers; a forward keeps the sender's headers, its
	// User-Agent too, so the body is what there is to check.
	if got := rc.wait(t, 1)[0]; string(got.Body) != body {
		t.Errorf("forwarded %q, want %q", got.Body, body)
	}
	var reqs struct{ Data []struct{ ID string } }
	call(t, api.URL, "GET", "/api/v1/source/"+id+"/request", nil, &reqs)
	if len(reqs.Data) != 1 {
		t.Fatalf("requests: %+v", reqs)
	}
	eventually(t, func() string {
		var x struct {
			Runs []struct{ Status, Error string }
		}
		call(t, api.URL, "GET", "/api/v1/source/"+id+"/request/"+reqs.Data[0].ID, nil, &x)
		if len(x.Runs) != 1 || x.Runs[0].Status != "succeeded" {
			return fmt.Sprintf("the command did not run: runs %+v", x.Runs)
		}
		return ""
	})
	if saved, err := os.ReadFile(filepath.Join(dir, "worker.out")); err != nil || string(saved) != body {
		t.Errorf("the worker's command saved %q (%v), want the body", saved, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "api.out")); err == nil {
		t.Error("the command ran on the api node")
	}
}

// TestAdminTokenRace starts nodes at once on a new database, each having
// found no token: one generates the token and prints it, the others say
// so, and all take the same token.
func TestAdminTokenRace(t *testing.T) {
	t.Parallel()
	st, err := openStore(context.Background(), filepath.Join(t.TempDir(), "h.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const nodes = 4
	type result struct {
		hash []byte
		out  string
		err  error
	}
	results := make(chan result, nodes)
	start := make(chan struct{})
	for range nodes {
		go func() {
			var out strings.Builder
			<-start
			// Every node read the settings before any of them wrote.
			h, err := adminTokenHash(context.Background(), unsetTokenStore{st}, "", &out)
			results <- result{h, out.String(), err}
		}()
	}
	close(start)
	var printed, deferred int
	var token string
	var hashes []string
	for range nodes {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		hashes = append(hashes, string(r.hash))
		switch {
		case strings.Contains(r.out, "Generated an admin API token"):
			printed++
			if m := regexpToken.FindStringSubmatch(r.out); m != nil {
				token = m[1]
			}
		case strings.Contains(r.out, "Another node"):
			deferred++
		}
	}
	if printed != 1 || deferred != nodes-1 {
		t.Fatalf("%d nodes printed a token and %d said another did; want 1 and %d", printed, deferred, nodes-1)
	}
	want, err := adminTokenHash(context.Background(), st, token, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes {
		if h != string(want) {
			t.Errorf("node %d uses another token than the one printed", i)
		}
	}
}

// unsetTokenStore is a store on which the admin token reads as not yet
// set, as it does for every node that starts on a new database at the same
// moment as the others.
type unsetTokenStore struct{ store.Store }

func (s unsetTokenStore) SettingGet(ctx context.Context, key string) (string, error) {
	if key == tokenHashSetting {
		return "", hookline.ErrNotFound
	}
	return s.Store.SettingGet(ctx, key)
}
