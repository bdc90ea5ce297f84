package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// dumpAll returns every record of a store.
func dumpAll(t *testing.T, s store.Store) []store.Record {
	t.Helper()
	var out []store.Record
	if err := s.(store.Copier).Dump(context.Background(), func(r store.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDBCopy moves a SQLite installation that has served traffic to
// PostgreSQL with `hookline db copy`, compares the two record by record,
// and serves the copy: the generated admin token still works, the messages
// are there, and so is the source, whose receive URL still works.
func TestDBCopy(t *testing.T) {
	pg := pgtest.URL(t)
	t.Parallel()
	db := filepath.Join(t.TempDir(), "hookline.db")
	rc := newReceiver(t, func(n int, r *http.Request) (int, http.Header) {
		if n == 0 {
			return http.StatusInternalServerError, nil // one failed attempt, retried
		}
		return http.StatusOK, nil
	})
	// No HOOKLINE_ADMIN_TOKEN: the server generates one and keeps its hash.
	src := startServer(t, map[string]string{"HOOKLINE_ADMIN_TOKEN": ""}, "--db", db, "--retry-schedule", "0s,100ms")
	token := regexpToken.FindStringSubmatch(src.stdout.String())
	if token == nil {
		t.Fatalf("no generated token in %q", src.stdout.String())
	}
	// authed makes a request with the generated token and decodes a JSON
	// answer into out, when given.
	authed := func(base, method, path, body string, out ...any) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token[1])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if len(out) > 0 {
			if err := json.NewDecoder(resp.Body).Decode(out[0]); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
		return resp.StatusCode
	}
	if code := authed(src.URL, "POST", "/api/v1/app", `{"name":"Acme","uid":"acme"}`); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	if code := authed(src.URL, "POST", "/api/v1/app/acme/endpoint", `{"url":"`+rc.URL+`","uid":"main","headers":{"X-Tenant":"7"}}`); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}
	for _, id := range []string{"evt-1", "evt-2", "evt-3"} {
		if code := authed(src.URL, "POST", "/api/v1/app/acme/msg", `{"eventType":"a.b","eventId":"`+id+`","payload":{"id":"`+id+`"}}`); code != http.StatusAccepted {
			t.Fatalf("publish: %d", code)
		}
	}
	// The inbound half: a source holding what it receives.
	var source struct{ URL string }
	if code := authed(src.URL, "POST", "/api/v1/source", `{"name":"GitHub","uid":"gh","routes":[{"type":"hold"}]}`, &source); code != http.StatusCreated {
		t.Fatalf("create source: %d", code)
	}
	receivePath := strings.TrimPrefix(source.URL, src.URL)
	if code := authed(src.URL, "POST", receivePath, `{"n":1}`); code != http.StatusOK {
		t.Fatalf("post to the source: %d", code)
	}
	rc.wait(t, 4)
	if err := src.stop(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := Main(context.Background(), []string{"db", "copy", "--from", db, "--to", pg, "--batch", "3"}, &out, &out, func(string) string { return "" }); err != nil {
		t.Fatalf("db copy: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "copied 1 apps, 0 event types, 1 endpoints, 3 messages, 3 deliveries, 4 attempts, 1 settings, 1 sources, 1 received requests, 0 command runs and 0 API tokens") {
		t.Errorf("copy said %q", out.String())
	}
	// A second copy into the same database is refused.
	err := Main(context.Background(), []string{"db", "copy", "--from", db, "--to", pg}, &out, &out, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("a copy into a full database: err = %v, want one suggesting --resume", err)
	}

	ctx := context.Background()
	from, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	to, err := postgres.Open(ctx, pg, postgres.Options{})
	if err != nil {
		from.Close()
		t.Fatal(err)
	}
	want, got := dumpAll(t, from), dumpAll(t, to)
	from.Close()
	to.Close()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("the copy differs (-sqlite +postgres):\n%s", diff)
	}

	dst := startServer(t, map[string]string{"HOOKLINE_ADMIN_TOKEN": ""}, "--db", pg)
	if strings.Contains(dst.stdout.String(), "Generated an admin API token") {
		t.Error("the copy generated a new admin token; the old one's hash was not copied")
	}
	if code := authed(dst.URL, "GET", "/api/v1/app/acme/msg/evt-2", ""); code != http.StatusOK {
		t.Errorf("get a copied message with the copied token: %d", code)
	}
	// The source's receive URL still works, and holds what it received.
	if code := authed(dst.URL, "POST", receivePath, `{"n":2}`); code != http.StatusOK {
		t.Errorf("post to the copied source: %d", code)
	}
	// Newest first: the copied request after the one just received.
	var held struct{ Data []struct{ Body string } }
	if code := authed(dst.URL, "GET", "/api/v1/source/gh/request", "", &held); code != http.StatusOK || len(held.Data) != 2 || held.Data[1].Body != `{"n":1}` {
		t.Errorf("the copied source's requests: %d %+v", code, held.Data)
	}
}

func TestDBCopyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"db", "copy", "--from", filepath.Join(dir, "a.db")}, "--to"},
		{"same", []string{"db", "copy", "--from", "x.db", "--to", "x.db"}, "same"},
		{"bad batch", []string{"db", "copy", "--from", "x.db", "--to", "y.db", "--batch", "0"}, "--batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Main(context.Background(), tt.args, &out, &out, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %s", err, tt.want)
			}
		})
	}
}
