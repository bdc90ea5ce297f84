package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestReceivedTokenMasked checks, on both stores, that a receive URL's
// token is nowhere in what hookline keeps of a request or passes on: not
// in the database row, the API's list and get, the stream, or a forward
// and its replay.
func TestReceivedTokenMasked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// db returns the --db value and a function that reads every
		// stored received row as text.
		db func(t *testing.T) (string, func(t *testing.T) []string)
	}{
		{"sqlite", func(t *testing.T) (string, func(t *testing.T) []string) {
			path := filepath.Join(t.TempDir(), "hookline.db")
			return path, func(t *testing.T) []string {
				db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				return scanRows(t, db.Query)
			}
		}},
		{"postgres", func(t *testing.T) (string, func(t *testing.T) []string) {
			u := pgtest.URL(t)
			return u, func(t *testing.T) []string {
				conn, err := pgx.Connect(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				rows, err := conn.Query(context.Background(), `SELECT * FROM received`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					vals, err := rows.Values()
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, fmt.Sprintf("%s", vals))
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, rows := tc.db(t)
			rc := newReceiver(t, nil)
			srv := startServer(t, nil, "--db", db)
			id, url := createSource(t, srv.URL, map[string]any{"name": "masked", "routes": []map[string]any{{"type": "forward", "url": rc.URL}}})
			token := url[strings.LastIndex(url, "/")+1:]
			if code := postTo(t, url+"/more?x=1", `{"n":1}`); code != http.StatusOK {
				t.Fatalf("post to the source: %d", code)
			}
			noToken := func(what, s string) {
				t.Helper()
				if strings.Contains(s, token) {
					t.Errorf("%s holds the receive token: %s", what, s)
				}
			}

			stored := rows(t)
			if len(stored) != 1 {
				t.Fatalf("%d rows stored, want 1", len(stored))
			}
			noToken("the database row", stored[0])
			if !strings.Contains(stored[0], "/in/****/more") {
				t.Errorf("the database row has no masked path: %s", stored[0])
			}

			var list struct {
				Data []struct{ ID, Path string }
			}
			call(t, srv.URL, "GET", "/api/v1/source/"+id+"/request", nil, &list)
			if len(list.Data) != 1 || list.Data[0].Path != "/in/****/more" {
				t.Fatalf("list = %+v", list.Data)
			}
			reqID := list.Data[0].ID
			for _, path := range []string{"/api/v1/source/" + id + "/request", "/api/v1/source/" + id + "/request/" + reqID} {
				noToken("GET "+path, apiText(t, srv.URL, path))
			}
			noToken("the stream", firstStreamEvent(t, srv.URL, id))

			if code := call(t, srv.URL, "POST", "/api/v1/source/"+id+"/request/"+reqID+"/replay", nil, nil); code != http.StatusAccepted {
				t.Fatalf("replay: %d", code)
			}
			for i, got := range rc.wait(t, 2) {
				noToken(fmt.Sprintf("forward %d", i), fmt.Sprintf("%v %s", got.Header, got.Body))
			}
		})
	}
}

// scanRows reads every row of the received table as text.
func scanRows(t *testing.T, query func(string, ...any) (*sql.Rows, error)) []string {
	t.Helper()
	rows, err := query(`SELECT * FROM received`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s", vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// apiText returns the body of an authenticated GET.
func apiText(t *testing.T, base, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// firstStreamEvent returns the text of the first request event of a
// source's stream, started before its first request.
func firstStreamEvent(t *testing.T, base, sourceID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/source/"+sourceID+"/stream?after=in_000000000000000000000000000", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var event strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" && strings.Contains(event.String(), "event: request") {
			return event.String()
		}
		if line == "" {
			event.Reset()
			continue
		}
		event.WriteString(line + "\n")
	}
	t.Fatalf("the stream ended without an event: %v", sc.Err())
	return ""
}

// TestForwardDropsCredentials sends requests to sources that check basic
// auth or an API key and forward to a receiver on loopback: the receiver
// gets the sender's other headers, but not the credentials meant for
// hookline. A source that checks nothing passes an Authorization header
// on, since it was not meant for hookline.
func TestForwardDropsCredentials(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	for _, tc := range []struct {
		name         string
		verification map[string]any
		header       string // the credential's header
		value        string
		forwarded    bool
	}{
		{"basic", map[string]any{"scheme": "basic", "secrets": []string{"stripe:correct horse"}},
			"Authorization", "Basic c3RyaXBlOmNvcnJlY3QgaG9yc2U=", false},
		{"api-key", map[string]any{"scheme": "api-key", "secrets": []string{"key-0123456789abcdef"}},
			"X-API-Key", "key-0123456789abcdef", false},
		{"api-key in a named header", map[string]any{"scheme": "api-key", "header": "X-Hook-Key", "secrets": []string{"key-0123456789abcdef"}},
			"X-Hook-Key", "key-0123456789abcdef", false},
		{"none", nil, "Authorization", "Bearer the-receivers-own", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, nil)
			src := map[string]any{"name": tc.name, "routes": []map[string]any{{"type": "forward", "url": rc.URL}}}
			if tc.verification != nil {
				src["verification"] = tc.verification
			}
			_, url := createSource(t, srv.URL, src)
			req, err := http.NewRequest("POST", url, strings.NewReader(`{"n":1}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Sender", "kept")
			req.Header.Set(tc.header, tc.value)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("post to the source: %d", resp.StatusCode)
			}
			got := rc.wait(t, 1)[0]
			if got.Header.Get("X-Sender") != "kept" || string(got.Body) != `{"n":1}` {
				t.Errorf("forward lost the request: %v %q", got.Header, got.Body)
			}
			if v := got.Header.Get(tc.header); (v == tc.value) != tc.forwarded {
				t.Errorf("forward has %s %q, want it passed on only by a source that does not check it (here: %v)", tc.header, v, tc.forwarded)
			}
		})
	}
}
