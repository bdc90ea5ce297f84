package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestOddBytes sends, on both stores, what a database may not keep as
// text: message payloads whose JSON escapes NUL or a lone surrogate or
// holds bytes that are not UTF-8, and received bodies with NUL and such
// bytes, which must be kept and sent on byte for byte; and received
// requests whose query, path or header hold them, which must be refused
// with a 400 (never a 5xx, never kept altered).
func TestOddBytes(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testOddBytes(t, startServer(t, nil))
	})
	t.Run("postgres", func(t *testing.T) {
		pg := pgtest.URL(t)
		t.Parallel()
		testOddBytes(t, startServer(t, nil, "--db", pg))
	})
}

func testOddBytes(t *testing.T, srv *server) {
	rc := newReceiver(t, nil)
	var app struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "bytes"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": rc.URL}, nil); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}
	payloads := []string{`{"s":"a\u0000b"}`, `{"s":"\ud800"}`, "{\"s\":\"\xff\xfe\"}"}
	for _, p := range payloads {
		code, body := rawCall(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", `{"eventType":"odd","payload":`+p+`}`)
		if code != http.StatusAccepted {
			t.Fatalf("publish %q: %d %s", p, code, body)
		}
		var m struct{ ID string }
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		code, body = rawCall(t, srv.URL, "GET", "/api/v1/app/"+app.ID+"/msg/"+m.ID, "")
		var got struct{ Payload json.RawMessage }
		if err := json.Unmarshal(body, &got); code != http.StatusOK || err != nil || string(got.Payload) != p {
			t.Errorf("message of %q reads back %d %q (%v)", p, code, got.Payload, err)
		}
	}
	var sent []string
	for _, r := range rc.wait(t, len(payloads)) {
		sent = append(sent, string(r.Body))
	}
	for _, p := range payloads {
		if !slices.Contains(sent, p) {
			t.Errorf("payload %q was not delivered as published; delivered %q", p, sent)
		}
	}

	fw := newReceiver(t, nil)
	id, in := createSource(t, srv.URL, map[string]any{"name": "bytes", "routes": []map[string]any{{"type": "forward", "url": fw.URL}}})
	body := "a\x00b\xff\xfe{\"s\":\"\\u0000\"}"
	resp, err := http.Post(in, "application/octet-stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("receive a body with NUL and bytes not UTF-8: %d", resp.StatusCode)
	}
	var list struct{ Data []struct{ BodyBase64 string } }
	if code := call(t, srv.URL, "GET", "/api/v1/source/"+id+"/request", nil, &list); code != http.StatusOK || len(list.Data) != 1 {
		t.Fatalf("list requests: %d %+v", code, list)
	}
	if got, _ := base64.StdEncoding.DecodeString(list.Data[0].BodyBase64); string(got) != body {
		t.Errorf("stored body %q, want %q", got, body)
	}
	if got := fw.wait(t, 1)[0]; string(got.Body) != body {
		t.Errorf("forwarded body %q, want %q", got.Body, body)
	}

	u, err := url.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]string{
		"query not UTF-8":  "POST " + u.Path + "?q=\xff\xfe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"path not UTF-8":   "POST " + u.Path + "/%FF HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"path with NUL":    "POST " + u.Path + "/%00 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"header not UTF-8": "POST " + u.Path + " HTTP/1.1\r\nHost: x\r\nX-Odd: caf\xe9\r\nContent-Length: 2\r\n\r\n{}",
	} {
		if code := rawRequest(t, u.Host, req); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
	}
	if code := call(t, srv.URL, "GET", "/api/v1/source/"+id+"/request", nil, &list); code != http.StatusOK || len(list.Data) != 1 {
		t.Errorf("after the refusals, %d requests are stored (%d), want the first alone", len(list.Data), code)
	}
}

// rawCall makes an authenticated API request with body sent as is, and
// returns the status and the body of the answer.
func rawCall(t *testing.T, base, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// rawRequest writes req as is to host, which Go's client would not send,
// and returns the answer's status.
func rawRequest(t *testing.T, host, req string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
