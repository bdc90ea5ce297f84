package inbound_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/inflight"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
	"github.com/hookline/hookline/internal/store/storetest"
)

const ghSecret = "It's a Secret to Everybody"

type env struct {
	st    *sqlite.Store
	svc   *inbound.Service
	srv   *httptest.Server
	wakes int
}

func newEnv(t *testing.T, cmds map[string]inbound.Command, opts ...func(*inbound.Options)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st}
	o := inbound.Options{Store: st, PublicURL: "https://hooks.example.com", Commands: cmds, Wake: func() { e.wakes++ }}
	for _, opt := range opts {
		opt(&o)
	}
	e.svc = inbound.New(o)
	mux := http.NewServeMux()
	mux.Handle("/in/", e.svc.Handler())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// source creates a source and returns it with its receive path.
func (e *env) source(t *testing.T, mod func(s *hookline.Source)) (*hookline.Source, string) {
	t.Helper()
	token, hash := inbound.NewToken()
	now := time.Now()
	src := &hookline.Source{ID: hookline.NewID(hookline.PrefixSource), Name: "github", TokenHash: hash,
		Verification: json.RawMessage(`{"scheme":"github","secrets":["` + ghSecret + `"]}`),
		Response:     hookline.DefaultSourceResponse, CreatedAt: now, UpdatedAt: now}
	if mod != nil {
		mod(src)
	}
	if err := e.svc.Validate(src); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SourceCreate(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SyncForwards(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	u := e.svc.URL(token)
	if !strings.HasPrefix(u, "https://hooks.example.com/in/") || len(token) < 22 {
		t.Fatalf("receive URL %q", u)
	}
	return src, "/in/" + token
}

func ghSign(body string) string {
	m := hmac.New(sha256.New, []byte(ghSecret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// app stores a new app with uid as its UID and name.
func (e *env) app(t *testing.T, uid string) *hookline.App {
	t.Helper()
	now := time.Now()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: uid, Name: uid, CreatedAt: now, UpdatedAt: now}
	if err := e.st.AppCreate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) post(t *testing.T, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) received(t *testing.T, src *hookline.Source) []hookline.Received {
	t.Helper()
	list, _, err := e.st.ReceivedList(context.Background(), src.ID, store.ReceivedFilter{Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func githubHeaders(body, delivery string) map[string]string {
	return map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "push",
		"X-GitHub-Delivery": delivery, "X-Hub-Signature-256": ghSign(body)}
}

func TestReceiveKeepsExactRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	src, path := e.source(t, nil)
	body := `{"ref": "refs/heads/main",  "after":"abc"}`
	code, resp := e.post(t, "POST", path+"?x=1", body, githubHeaders(body, "d-1"))
	if code != http.StatusOK || resp != `{"ok":true}` {
		t.Fatalf("answer %d %q", code, resp)
	}
	got := e.received(t, src)
	if len(got) != 1 {
		t.Fatalf("stored %d requests", len(got))
	}
	x := got[0]
	if string(x.Body) != body || x.Method != "POST" || x.Query != "x=1" || !x.Verified || x.EventType != "push" || x.DeliveryID != "d-1" {
		t.Errorf("stored %+v", x)
	}
	if x.Headers["X-Hub-Signature-256"][0] != ghSign(body) || x.RemoteAddr == "" {
		t.Errorf("headers %v remote %q", x.Headers, x.RemoteAddr)
	}
	if string(x.View) != `{"ref": "refs/heads/main",  "after":"abc"}` {
		t.Errorf("view %s", x.View)
	}
}

func TestReceiveRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	src, path := e.source(t, func(s *hookline.Source) { s.MaxBodyBytes = 64 })
	big := strings.Repeat("x", 65)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header map[string]string
		want   int
	}{
		{"unknown token", "POST", "/in/nosuchtoken", "{}", nil, http.StatusNotFound},
		{"empty token", "POST", "/in/", "{}", nil, http.StatusNotFound},
		{"wrong method", "GET", path, "", nil, http.StatusMethodNotAllowed},
		{"oversized", "POST", path, big, githubHeaders(big, "d-big"), http.StatusRequestEntityTooLarge},
		{"tampered", "POST", path, `{"a":2}`, githubHeaders(`{"a":1}`, "d-t"), http.StatusUnauthorized},
		{"unsigned", "POST", path, `{"a":1}`, map[string]string{"Content-Type": "application/json"}, http.StatusUnauthorized},
		{"malformed signature", "POST", path, `{"a":1}`, map[string]string{"X-Hub-Signature-256": "sha256=zz"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.post(t, tt.method, tt.path, tt.body, tt.header)
			if code != tt.want {
				t.Errorf("status %d, want %d (%s)", code, tt.want, body)
			}
			var eb struct{ Code, Detail string }
			if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Code == "" || eb.Detail == "" {
				t.Errorf("body %q is not a {code, detail} error", body)
			}
			if strings.Contains(body, "signature") && tt.want == http.StatusUnauthorized && strings.Contains(body, "sha256") {
				t.Errorf("a 401 says too much: %s", body)
			}
		})
	}
	if n := len(e.received(t, src)); n != 0 {
		t.Errorf("%d refused requests were stored", n)
	}
	if e.svc.Rejected() != 3 {
		t.Errorf("rejected count = %d, want 3", e.svc.Rejected())
	}
}

func TestKeepRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	src, path := e.source(t, func(s *hookline.Source) { s.KeepRejected = true })
	if code, _ := e.post(t, "POST", path, `{"a":2}`, githubHeaders(`{"a":1}`, "d-1")); code != http.StatusUnauthorized {
		t.Fatalf("status %d", code)
	}
	got := e.received(t, src)
	if len(got) != 1 || got[0].Verified || got[0].VerifyError == "" || got[0].DeliveryID != "" {
		t.Fatalf("kept %+v", got)
	}
}

// slowApp is a store whose AppGet of one app takes a while, as on a busy
// database.
type slowApp struct {
	*sqlite.Store
	key   string
	delay time.Duration
}

func (s slowApp) AppGet(ctx context.Context, key string) (*hookline.App, error) {
	if key == s.key {
		time.Sleep(s.delay)
	}
	return s.Store.AppGet(ctx, key)
}

// TestReplayListedByTime checks that a replayed request's messages are in
// the lists of messages created after a time just before theirs, however
// long routing took: their IDs must be no earlier than their creation
// time (see hookline.IDFloor).
func TestReplayListedByTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	now := time.Now()
	target := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: "internal", Name: "internal", CreatedAt: now, UpdatedAt: now}
	other := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: "other", Name: "other", CreatedAt: now, UpdatedAt: now}
	for _, a := range []*hookline.App{target, other} {
		if err := e.st.AppCreate(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	src, path := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{
			{ID: "pub", Type: hookline.RoutePublish, App: "internal", EventType: "github.push"},
			{ID: "pub-other", Type: hookline.RoutePublish, App: "other", EventType: "github.push"},
		}
	})
	body := `{"ref":"refs/heads/dev"}`
	if code, _ := e.post(t, "POST", path, body, githubHeaders(body, "d-1")); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	// Finding the second route's app takes two seconds, after the first
	// route's message was made: more than the second by which an ID may
	// precede its creation time.
	slow := inbound.New(inbound.Options{Store: slowApp{e.st, "other", 2 * time.Second}, PublicURL: "https://hooks.example.com"})
	x := e.received(t, src)[0]
	if err := slow.Replay(ctx, src, &x); err != nil {
		t.Fatal(err)
	}
	all, _, err := e.st.MessageList(ctx, target.ID, store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}})
	if err != nil || len(all) != 2 {
		t.Fatalf("%d messages in the app, want the first routing's and the replay's: %v", len(all), err)
	}
	replayed := all[0]
	after := replayed.CreatedAt.Add(-time.Microsecond)
	got, _, err := e.st.MessageList(ctx, target.ID, store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}, Window: store.Window{After: &after}})
	if err != nil || len(got) != 1 || got[0].ID != replayed.ID {
		t.Errorf("messages after %v = %d (%v), want the replayed %s", after, len(got), err, replayed.ID)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	now := time.Now()
	target := e.app(t, "internal")
	sub := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: target.ID, URL: "https://svc.example/hook", Version: 1, Format: hookline.FormatJSON, CreatedAt: now, UpdatedAt: now}
	if err := e.st.EndpointCreate(ctx, sub); err != nil {
		t.Fatal(err)
	}
	src, path := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{
			{ID: "fwd", Type: hookline.RouteForward, URL: "https://app.example/hooks"},
			{ID: "pub", Type: hookline.RoutePublish, App: "internal", EventType: "github.push", Filter: hookline.RouteFilter{EventTypes: []string{"push"}}},
			{ID: "main-only", Type: hookline.RouteForward, URL: "https://ci.example/hooks", Filter: hookline.RouteFilter{Match: map[string]string{"ref": "refs/heads/main"}}},
			{ID: "hold", Type: hookline.RouteHold},
		}
	})
	body := `{"ref":"refs/heads/dev"}`
	if code, _ := e.post(t, "POST", path, body, githubHeaders(body, "d-1")); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	tasks, err := e.st.DeliveryClaim(ctx, store.Claim{Now: time.Now().Add(time.Second), Limit: 10, LeaseUntil: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.Task{}
	for _, task := range tasks {
		got[task.Endpoint.URL] = task
	}
	if len(tasks) != 2 {
		t.Fatalf("%d deliveries, want the forward and the publish (the main-only filter does not match)", len(tasks))
	}
	fwd := got["https://app.example/hooks"]
	if fwd.Message == nil || string(fwd.Message.Payload) != body || fwd.Message.ContentType != "application/json" ||
		fwd.Message.Headers["X-Hub-Signature-256"][0] != ghSign(body) || len(fwd.Endpoint.Secrets) != 0 {
		t.Errorf("forward task %+v", fwd.Message)
	}
	pub := got["https://svc.example/hook"]
	if pub.Message == nil || pub.Message.EventType != "github.push" || string(pub.Message.Payload) != body || pub.Message.ContentType != "" {
		t.Errorf("publish task %+v", pub.Message)
	}
	if e.wakes == 0 {
		t.Error("the delivery engine was not woken")
	}

	// The sender retries the same delivery: acknowledged, not routed again.
	if code, _ := e.post(t, "POST", path, body, githubHeaders(body, "d-1")); code != http.StatusOK {
		t.Fatalf("retry status %d", code)
	}
	if n := len(e.received(t, src)); n != 1 {
		t.Errorf("%d requests stored after a retry, want 1", n)
	}
	if more, _ := e.st.DeliveryClaim(ctx, store.Claim{Now: time.Now().Add(time.Second), Limit: 10, LeaseUntil: time.Now().Add(time.Minute)}); len(more) != 0 {
		t.Errorf("a retried delivery was routed again: %d deliveries", len(more))
	}

	// Replay routes it again on purpose.
	x := e.received(t, src)[0]
	if err := e.svc.Replay(ctx, src, &x); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.st.DeliveryClaim(ctx, store.Claim{Now: time.Now().Add(time.Second), Limit: 10, LeaseUntil: time.Now().Add(time.Minute)}); len(again) != 2 {
		t.Errorf("replay made %d deliveries, want 2", len(again))
	}

	// Dropping the forward routes removes their endpoints.
	src.Routes = src.Routes[1:2]
	if err := e.svc.SyncForwards(ctx, src); err != nil {
		t.Fatal(err)
	}
	app, err := e.st.AppGet(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if eps, _, _ := e.st.EndpointList(ctx, app.ID, store.Page{Limit: 10}); len(eps) != 0 {
		t.Errorf("%d forward endpoints left after removing the routes", len(eps))
	}
}

func TestSignedForward(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	src, _ := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{{ID: "fwd", Type: hookline.RouteForward, URL: "https://app.example/hooks", Sign: true}}
	})
	app, err := e.st.AppGet(context.Background(), src.ID)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := e.st.EndpointGet(context.Background(), app.ID, "fwd")
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Secrets) != 1 || !cmp.Equal(ep.Channels, []string{"fwd"}) {
		t.Errorf("a signing forward endpoint: secrets=%d channels=%v", len(ep.Secrets), ep.Channels)
	}
}

func TestSlackHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	src, path := e.source(t, func(s *hookline.Source) {
		s.Verification = json.RawMessage(`{"scheme":"slack","secrets":["` + secret + `"]}`)
		s.Handshakes = true
		s.Routes = []hookline.Route{{ID: "fwd", Type: hookline.RouteForward, URL: "https://app.example/slack"}}
	})
	body := `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	ts := time.Now().Unix()
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, "v0:"+itoa(ts)+":"+body)
	code, resp := e.post(t, "POST", path, body, map[string]string{"Content-Type": "application/json",
		"X-Slack-Request-Timestamp": itoa(ts), "X-Slack-Signature": "v0=" + hex.EncodeToString(m.Sum(nil))})
	if code != http.StatusOK || !strings.Contains(resp, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
		t.Fatalf("handshake answer %d %q", code, resp)
	}
	if tasks, _ := e.st.DeliveryClaim(context.Background(), store.Claim{Now: time.Now().Add(time.Second), Limit: 10, LeaseUntil: time.Now().Add(time.Minute)}); len(tasks) != 0 {
		t.Errorf("a handshake was routed")
	}
	if n := len(e.received(t, src)); n != 0 {
		t.Errorf("handshake kept %d times; it is no event and must not reach pollers or streams", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCommandRoute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, envOut := filepath.Join(dir, "out"), filepath.Join(dir, "env")
	script := filepath.Join(dir, "deploy.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat > "+out+"\necho \"$REF $HOOKLINE_EVENT_TYPE\" >> "+out+"\nenv > "+envOut+"\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fail := filepath.Join(dir, "fail.sh")
	if err := os.WriteFile(fail, []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, map[string]inbound.Command{
		"deploy": {Path: script, Env: map[string]string{"REF": "ref"}},
		"fail":   {Path: fail},
	})
	ctx := context.Background()
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.svc.Stop(ctx)
	src, path := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{{ID: "deploy", Type: hookline.RouteCommand, Command: "deploy"}, {ID: "fail", Type: hookline.RouteCommand, Command: "fail"}}
	})
	body := `{"ref":"refs/heads/main"}`
	if code, _ := e.post(t, "POST", path, body, githubHeaders(body, "d-1")); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	x := e.received(t, src)[0]
	deadline := time.Now().Add(20 * time.Second)
	var runs []hookline.Run
	for time.Now().Before(deadline) {
		runs, _ = e.st.RunList(ctx, x.ID)
		if len(runs) == 2 && runs[0].Status >= hookline.RunSucceeded && runs[1].Status >= hookline.RunSucceeded {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	byCmd := map[string]hookline.Run{}
	for _, r := range runs {
		byCmd[r.Command] = r
	}
	if r := byCmd["deploy"]; r.Status != hookline.RunSucceeded || r.ExitCode != 0 || r.Output != "ran\n" {
		t.Errorf("deploy run %+v", r)
	}
	if r := byCmd["fail"]; r.Status != hookline.RunFailed || r.ExitCode != 3 || r.Output != "broken\n" {
		t.Errorf("fail run %+v", r)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := body + "refs/heads/main push\n"; string(got) != want {
		t.Errorf("the command saw %q, want %q", got, want)
	}
	// The receive token is the source's credential, not the command's.
	env, err := os.ReadFile(envOut)
	if err != nil {
		t.Fatal(err)
	}
	if token := strings.TrimPrefix(path, "/in/"); strings.Contains(string(env), token) {
		t.Errorf("the command's environment holds the receive token:\n%s", env)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]inbound.Command{"deploy": {Path: "/bin/true"}})
	tests := []struct {
		name string
		mod  func(s *hookline.Source)
		loc  string
	}{
		{"unknown command", func(s *hookline.Source) {
			s.Routes = []hookline.Route{{ID: "r", Type: hookline.RouteCommand, Command: "rm-rf"}}
		}, "command"},
		{"unknown scheme", func(s *hookline.Source) { s.Verification = json.RawMessage(`{"scheme":"carrier-pigeon"}`) }, "verification"},
		{"forward to ftp", func(s *hookline.Source) {
			s.Routes = []hookline.Route{{ID: "r", Type: hookline.RouteForward, URL: "ftp://x"}}
		}, "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &hookline.Source{Name: "s", Response: hookline.DefaultSourceResponse}
			tt.mod(src)
			err := e.svc.Validate(src)
			if err == nil || !strings.Contains(err.Error(), tt.loc) {
				t.Errorf("Validate = %v, want an error about %s", err, tt.loc)
			}
		})
	}
}

// TestReceiveBoundsBodiesInFlight shows that the bytes of bodies being
// received are bounded: with the bound taken, a request is answered 503
// with Retry-After before its body is read, and nothing is kept; with room
// again, the same request is taken.
func TestReceiveBoundsBodiesInFlight(t *testing.T) {
	t.Parallel()
	bodies := inflight.New(1<<20, 50*time.Millisecond)
	e := newEnv(t, nil, func(o *inbound.Options) { o.Bodies = bodies })
	src, path := e.source(t, func(s *hookline.Source) { s.Verification = json.RawMessage(`{"scheme":"none"}`) })

	hold, err := bodies.Acquire(context.Background(), 1<<20-10)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type": "order.paid", "pad": "` + strings.Repeat("x", 100) + `"}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), `"overloaded"`) {
		t.Fatalf("with the bound taken: %d %q (Retry-After %q), want 503 overloaded with Retry-After", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	if got := e.received(t, src); len(got) != 0 {
		t.Fatalf("a refused request was kept: %d", len(got))
	}

	hold()
	if status, b := e.post(t, http.MethodPost, path, body, map[string]string{"Content-Type": "application/json"}); status != http.StatusOK {
		t.Fatalf("with room again: %d %s", status, b)
	}
	if got := e.received(t, src); len(got) != 1 || got[0].EventType != "order.paid" {
		t.Fatalf("kept %+v", got)
	}
	// The bytes of a request are given back when it is answered.
	all, err := bodies.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatalf("the request kept its reservation: %v", err)
	}
	all()
}

func TestMaskPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"token", "/in/k3q7x2m9vd5wz8hc4tyfnb6ajr", "/in/****"},
		{"token and more", "/in/k3q7x2m9vd5wz8hc4tyfnb6ajr/a/b", "/in/****/a/b"},
		{"token and a slash", "/in/k3q7x2m9vd5wz8hc4tyfnb6ajr/", "/in/****/"},
		{"masked already", "/in/****/a", "/in/****/a"},
		{"not a receive path", "/hooks/k3q7", "/hooks/k3q7"},
	} {
		if got := inbound.MaskPath(tc.in); got != tc.want {
			t.Errorf("%s: MaskPath(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestReceiveMasksToken checks that a received request is stored with the
// receive URL's token masked in its path, whether verified or kept
// rejected: hookline keeps only the token's hash.
func TestReceiveMasksToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	src, path := e.source(t, func(s *hookline.Source) { s.KeepRejected = true })
	token := strings.TrimPrefix(path, "/in/")
	body := `{"ref":"main"}`
	if code, _ := e.post(t, "POST", path+"?x=1", body, githubHeaders(body, "d-1")); code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	if code, _ := e.post(t, "POST", path+"/extra/part", body, githubHeaders(body, "d-2")); code != http.StatusOK {
		t.Fatalf("post with more path: %d", code)
	}
	if code, _ := e.post(t, "POST", path, "forged", githubHeaders(body, "d-3")); code != http.StatusUnauthorized {
		t.Fatalf("forged post: %d", code)
	}
	got := e.received(t, src)
	var paths []string
	for _, x := range got {
		paths = append(paths, x.Path)
		if b, _ := json.Marshal(x); strings.Contains(string(b), token) {
			t.Errorf("stored request %s holds the token: %s", x.ID, b)
		}
	}
	if want := []string{"/in/****", "/in/****/extra/part", "/in/****"}; !cmp.Equal(paths, want) {
		t.Errorf("stored paths (newest first) = %q, want %q", paths, want)
	}
}

// TestReceiveBoundsBytesWriting shows that the bytes of received requests
// being written to the store are bounded, so that a flood of large bodies
// cannot fill the store's queue ahead of everything else: with the bound
// taken, a request waits, then is answered 503 with Retry-After and not
// kept; a small one passes beside the large ones being written.
func TestReceiveBoundsBytesWriting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	writing := e.svc.BoundWriting(50 * time.Millisecond)
	src, path := e.source(t, func(s *hookline.Source) { s.Verification = json.RawMessage(`{"scheme":"none"}`) })

	hold, err := writing.Acquire(context.Background(), inbound.MaxWriting-1024)
	if err != nil {
		t.Fatal(err)
	}
	big := `{"pad": "` + strings.Repeat("x", 4096) + `"}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), `"overloaded"`) {
		t.Fatalf("with the bound taken: %d %s (Retry-After %q), want 503 overloaded with Retry-After", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	small := `{"type": "small"}`
	if status, b := e.post(t, http.MethodPost, path, small, map[string]string{"Content-Type": "application/json"}); status != http.StatusOK {
		t.Fatalf("a small request beside the large ones: %d %s", status, b)
	}
	hold()
	if status, b := e.post(t, http.MethodPost, path, big, map[string]string{"Content-Type": "application/json"}); status != http.StatusOK {
		t.Fatalf("with room again: %d %s", status, b)
	}
	if got := e.received(t, src); len(got) != 2 {
		t.Fatalf("kept %d requests, want the small one and the large one sent with room", len(got))
	}
}

// TestPublishRouteSkipsOperationalApp checks that a publish route cannot
// name the reserved app of the operator's endpoints: only hookline
// publishes operational events.
func TestPublishRouteSkipsOperationalApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	now := time.Now()
	if err := e.st.AppCreate(ctx, &hookline.App{ID: opwebhook.AppID, Name: opwebhook.AppName, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	op := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: opwebhook.AppID, URL: "https://ops.example/hook",
		Version: 1, Format: hookline.FormatJSON, CreatedAt: now, UpdatedAt: now}
	if err := e.st.EndpointCreate(ctx, op); err != nil {
		t.Fatal(err)
	}
	_, path := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{{ID: "pub", Type: hookline.RoutePublish, App: opwebhook.AppID, EventType: "endpoint.disabled"}}
	})
	body := `{"a":1}`
	if code, _ := e.post(t, "POST", path, body, githubHeaders(body, "d-1")); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	msgs, _, err := e.st.MessageList(ctx, opwebhook.AppID, store.MessageFilter{Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 0 {
		t.Errorf("a publish route put %d messages in the reserved app", len(msgs))
	}
}

// TestMessageIDsWithinLag checks that the messages routes make, of a
// request as it arrives and of its replay, are named within hookline.IDLag
// of their creation time, which lists with a before bound rely on to start
// their walk below it (see hookline.IDCeiling).
func TestMessageIDsWithinLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	target := e.app(t, "internal")
	src, path := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{
			{ID: "fwd", Type: hookline.RouteForward, URL: "https://app.example/hooks"},
			{ID: "pub", Type: hookline.RoutePublish, App: "internal", EventType: "github.push"},
		}
	})
	forward, err := e.st.AppGet(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, step := range []struct {
		name string
		do   func(t *testing.T)
	}{
		{"receive", func(t *testing.T) {
			body := `{"ref":"refs/heads/main"}`
			if code, _ := e.post(t, "POST", path, body, githubHeaders(body, "d-1")); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
		}},
		{"replay", func(t *testing.T) {
			// The request came an hour ago: its replay's messages are
			// made now, and must say so.
			x := e.received(t, src)[0]
			x.CreatedAt = x.CreatedAt.Add(-time.Hour)
			if err := e.svc.Replay(ctx, src, &x); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.do(t)
			for route, app := range map[string]*hookline.App{"forward": forward, "publish": target} {
				msgs, _, err := e.st.MessageList(ctx, app.ID, store.MessageFilter{Page: store.Page{Limit: 10}})
				if err != nil {
					t.Fatal(err)
				}
				made := 0
				for _, m := range msgs {
					if seen[m.ID] {
						continue
					}
					seen[m.ID] = true
					made++
					storetest.WantIDLag(t, hookline.PrefixMessage, m.ID, m.CreatedAt)
				}
				if made != 1 {
					t.Errorf("the %s route made %d messages, want 1", route, made)
				}
			}
		})
	}
}
