package dispatch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/encode"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/store"
)

// received is a request as a test server saw it.
type received struct {
	header http.Header
	body   []byte
}

// recorder is a test server that records every request and answers with
// handle, or 200 "ok" when handle is nil.
type recorder struct {
	mu     sync.Mutex
	reqs   []received
	handle func(w http.ResponseWriter, r *http.Request)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, received{r.Header.Clone(), body})
	rec.mu.Unlock()
	if rec.handle != nil {
		rec.handle(w, r)
		return
	}
	io.WriteString(w, "ok")
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.reqs...)
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// signatures returns how many signatures in a webhook-signature header
// are the HMAC-SHA256 of id.ts.body under each key, computed here from
// the specification rather than by package webhook.
func signatures(t *testing.T, header, id, ts string, body []byte, keys ...[]byte) []int {
	t.Helper()
	counts := make([]int, len(keys))
	for _, sig := range strings.Fields(header) {
		v, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			t.Errorf("signature %q is not v1", sig)
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Errorf("signature %q: %v", sig, err)
			continue
		}
		for i, key := range keys {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(id + "." + ts + "."))
			mac.Write(body)
			if hmac.Equal(mac.Sum(nil), raw) {
				counts[i]++
			}
		}
	}
	return counts
}

func TestSendSuccess(t *testing.T) {
	rec := &recorder{handle: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reply", "thanks")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"received":true}`)
	}}
	srv := newServer(t, rec)
	ep := newEndpoint(srv.URL + "/hooks?team=1")
	oldKey := []byte("the key before the rotation.....")
	deadKey := []byte("a key that expired long ago.....")
	later, earlier := testNow.Add(time.Hour), testNow.Add(-time.Second)
	ep.Secrets = append(ep.Secrets, hookline.Secret{Key: oldKey, ExpiresAt: &later}, hookline.Secret{Key: deadKey, ExpiresAt: &earlier})
	ep.Headers = map[string]string{"x-team": "billing"}
	msg := newMessage()
	task := newTask(ep, msg)
	task.Delivery.Trigger = hookline.TriggerManual
	task.Delivery.Attempts = 2
	st := newFakeStore(task)
	startDispatcher(t, st, Options{Now: fixedNow, UserAgent: "hookline-test/1"})

	results := st.waitResults(t, 1)
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	ts := strconv.FormatInt(testNow.Unix(), 10)
	for name, want := range map[string]string{
		"Webhook-Id":        msg.ID,
		"Webhook-Timestamp": ts,
		"Svix-Id":           msg.ID,
		"Svix-Timestamp":    ts,
		"Content-Type":      "application/json",
		"User-Agent":        "hookline-test/1",
		"X-Team":            "billing",
	} {
		if got := req.header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if string(req.body) != string(msg.Payload) {
		t.Errorf("body = %s, want the payload %s", req.body, msg.Payload)
	}
	sig := req.header.Get("Webhook-Signature")
	if got, want := signatures(t, sig, msg.ID, ts, req.body, testKey, oldKey, deadKey), []int{1, 1, 0}; !cmp.Equal(got, want) {
		t.Errorf("signatures by current, rotated and expired key = %v, want %v (header %q)", got, want, sig)
	}
	if n := len(strings.Fields(sig)); n != 2 {
		t.Errorf("header has %d signatures, want 2", n)
	}
	if got := req.header.Get("Svix-Signature"); got != sig {
		t.Errorf("svix-signature = %q, want the webhook-signature %q", got, sig)
	}

	wantDelivery := task.Delivery
	wantDelivery.Status = hookline.StatusSuccess
	wantDelivery.Attempts = 3
	wantDelivery.UpdatedAt = testNow
	wantAttempt := &hookline.Attempt{
		DeliveryID: task.Delivery.ID,
		AppID:      msg.AppID,
		MessageID:  msg.ID,
		EndpointID: ep.ID,
		URL:        ep.URL,
		Status:     hookline.StatusSuccess,
		Trigger:    hookline.TriggerManual,
		StatusCode: http.StatusAccepted,
		Response:   `{"received":true}`,
		CreatedAt:  testNow,
	}
	want := []store.Result{{Delivery: wantDelivery, Attempt: wantAttempt}}
	ignore := cmpopts.IgnoreFields(hookline.Attempt{}, "ID", "Duration", "ResponseHeaders")
	if diff := cmp.Diff(want, results, ignore); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	a := results[0].Attempt
	if !hookline.IsID(hookline.PrefixAttempt, a.ID) {
		t.Errorf("attempt ID %q", a.ID)
	}
	if got := a.ResponseHeaders["X-Reply"]; !cmp.Equal(got, []string{"thanks"}) {
		t.Errorf("response header X-Reply = %q", got)
	}
	if a.Duration <= 0 {
		t.Errorf("duration %v", a.Duration)
	}
}

func TestSendForm(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	ep := newEndpoint(srv.URL)
	ep.Format = hookline.FormatForm
	msg := newMessage()
	st := newFakeStore(newTask(ep, msg))
	startDispatcher(t, st, Options{Now: fixedNow})

	results := st.waitResults(t, 1)
	if s := results[0].Delivery.Status; s != hookline.StatusSuccess {
		t.Fatalf("status %v", s)
	}
	req := rec.requests()[0]
	wantBody, wantType, err := encode.Body(hookline.FormatForm, msg.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.header.Get("Content-Type"); got != wantType {
		t.Errorf("content type %q, want %q", got, wantType)
	}
	if string(req.body) != string(wantBody) {
		t.Errorf("body %q, want %q", req.body, wantBody)
	}
	ts := strconv.FormatInt(testNow.Unix(), 10)
	if got := signatures(t, req.header.Get("Webhook-Signature"), msg.ID, ts, req.body, testKey); got[0] != 1 {
		t.Errorf("the signature does not cover the form body as sent")
	}
}

func TestSendRaw(t *testing.T) {
	tests := []struct {
		name   string
		signed bool
	}{
		{"forward as received", false},
		{"forward signed by hookline too", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, rec)
			ep := newEndpoint(srv.URL)
			ep.Format = hookline.FormatXML // ignored: a raw message goes as it came
			if !tt.signed {
				ep.Secrets = nil
			}
			msg := newMessage()
			msg.Payload = []byte("Customer=bob&value=10.00")
			msg.ContentType = "application/x-www-form-urlencoded"
			msg.Headers = map[string][]string{"X-Hub-Signature-256": {"sha256=abc"}, "User-Agent": {"GitHub-Hookshot/1"}}
			st := newFakeStore(newTask(ep, msg))
			startDispatcher(t, st, Options{Now: fixedNow})
			st.waitResults(t, 1)
			req := rec.requests()[0]
			if string(req.body) != "Customer=bob&value=10.00" || req.header.Get("Content-Type") != msg.ContentType {
				t.Errorf("body %q type %q, want the message as it came", req.body, req.header.Get("Content-Type"))
			}
			if req.header.Get("X-Hub-Signature-256") != "sha256=abc" || req.header.Get("User-Agent") != "GitHub-Hookshot/1" {
				t.Errorf("the sender's headers were not forwarded: %v", req.header)
			}
			if signed := req.header.Get("Webhook-Signature") != ""; signed != tt.signed {
				t.Errorf("webhook-signature present = %v, want %v", signed, tt.signed)
			}
		})
	}
}

func TestOutcomes(t *testing.T) {
	type outcome struct {
		Status      hookline.Status
		Attempts    int
		Next        time.Duration // after testNow; 0 for none
		Disable     string        // substring of DisableEndpoint
		StatusCode  int
		Error       string // substring of Attempt.Error
		NoAttempt   bool
		NoRequest   bool
		AttemptFail bool
	}
	status := func(code int, header ...string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(code)
		}
	}
	const day = 24 * time.Hour
	tests := []struct {
		name     string
		handle   func(w http.ResponseWriter, r *http.Request)
		attempts int                           // attempts made before
		setup    func(*store.Task, *testing.T) // changes the task
		want     outcome
	}{
		{
			name:   "server error retries on schedule",
			handle: status(500),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, StatusCode: 500, AttemptFail: true},
		},
		{
			name:     "third attempt waits 30 minutes",
			handle:   status(500),
			attempts: 2,
			want:     outcome{Status: hookline.StatusPending, Attempts: 3, Next: 30 * time.Minute, StatusCode: 500, AttemptFail: true},
		},
		{
			name:     "last attempt fails the delivery",
			handle:   status(500),
			attempts: 7,
			want:     outcome{Status: hookline.StatusFail, Attempts: 8, StatusCode: 500, AttemptFail: true},
		},
		{
			name:   "client error retries too",
			handle: status(400),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, StatusCode: 400, AttemptFail: true},
		},
		{
			name:   "429 retry-after in seconds",
			handle: status(429, "Retry-After", "120"),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: 2 * time.Minute, StatusCode: 429, AttemptFail: true},
		},
		{
			name:   "503 retry-after as a date",
			handle: status(503, "Retry-After", testNow.Add(10*time.Minute).Format(http.TimeFormat)),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: 10 * time.Minute, StatusCode: 503, AttemptFail: true},
		},
		{
			name:   "retry-after clamped",
			handle: status(429, "Retry-After", "86400"),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: time.Hour, StatusCode: 429, AttemptFail: true},
		},
		{
			name:     "retry-after shorter than the schedule",
			handle:   status(429, "Retry-After", "1"),
			attempts: 1,
			want:     outcome{Status: hookline.StatusPending, Attempts: 2, Next: 5 * time.Minute, StatusCode: 429, AttemptFail: true},
		},
		{
			name:   "retry-after ignored on 500",
			handle: status(500, "Retry-After", "600"),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, StatusCode: 500, AttemptFail: true},
		},
		{
			name:     "retry-after gives no extra attempt",
			handle:   status(429, "Retry-After", "60"),
			attempts: 7,
			want:     outcome{Status: hookline.StatusFail, Attempts: 8, StatusCode: 429, AttemptFail: true},
		},
		{
			name:   "410 disables the endpoint",
			handle: status(410),
			want:   outcome{Status: hookline.StatusFail, Attempts: 1, Disable: "410 Gone", StatusCode: 410, AttemptFail: true},
		},
		{
			name:   "redirect is a failure, not followed",
			handle: status(302, "Location", "/moved"),
			want:   outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, StatusCode: 302, Error: "redirect to /moved not followed", AttemptFail: true},
		},
		{
			name:   "failing past DisableAfter disables",
			handle: status(500),
			setup: func(task *store.Task, t *testing.T) {
				since := testNow.Add(-6 * day)
				task.Endpoint.FailingSince = &since
			},
			want: outcome{Status: hookline.StatusFail, Attempts: 1, Disable: "more than 5 days", StatusCode: 500, AttemptFail: true},
		},
		{
			name:   "failing within DisableAfter retries",
			handle: status(500),
			setup: func(task *store.Task, t *testing.T) {
				since := testNow.Add(-4 * day)
				task.Endpoint.FailingSince = &since
			},
			want: outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, StatusCode: 500, AttemptFail: true},
		},
		{
			name:   "success on a long failing endpoint",
			handle: status(204),
			setup: func(task *store.Task, t *testing.T) {
				since := testNow.Add(-30 * day)
				task.Endpoint.FailingSince = &since
			},
			want: outcome{Status: hookline.StatusSuccess, Attempts: 1, StatusCode: 204},
		},
		{
			name: "connection refused",
			setup: func(task *store.Task, t *testing.T) {
				task.Endpoint.URL = closedURL(t)
			},
			want: outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, Error: "could not connect: connection refused", NoRequest: true, AttemptFail: true},
		},
		{
			name: "timeout",
			handle: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			want: outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, Error: "timed out after 200ms waiting for a response", AttemptFail: true},
		},
		{
			name: "header that cannot be sent",
			setup: func(task *store.Task, t *testing.T) {
				task.Endpoint.Headers = map[string]string{"X-Token": "a\x00b"}
			},
			want: outcome{Status: hookline.StatusPending, Attempts: 1, Next: 5 * time.Second, Error: "invalid request: the value of header X-Token holds a control character", NoRequest: true, AttemptFail: true},
		},
		{
			name: "payload that cannot be encoded",
			setup: func(task *store.Task, t *testing.T) {
				task.Message.Payload = []byte(`["not","an","object"]`)
			},
			want: outcome{Status: hookline.StatusFail, Attempts: 1, Error: "not a JSON object", NoRequest: true, AttemptFail: true},
		},
		{
			name: "deleted endpoint",
			setup: func(task *store.Task, t *testing.T) {
				task.Endpoint = nil
			},
			want: outcome{Status: hookline.StatusFail, NoAttempt: true, NoRequest: true},
		},
		{
			name: "disabled endpoint",
			setup: func(task *store.Task, t *testing.T) {
				task.Endpoint.Disabled = true
			},
			want: outcome{Status: hookline.StatusFail, NoAttempt: true, NoRequest: true},
		},
		{
			name: "deleted message",
			setup: func(task *store.Task, t *testing.T) {
				task.Message = nil
			},
			want: outcome{Status: hookline.StatusFail, NoAttempt: true, NoRequest: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var moved atomic.Int32
			rec := &recorder{handle: tt.handle}
			mux := http.NewServeMux()
			mux.Handle("/hook", rec)
			mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { moved.Add(1) })
			srv := newServer(t, mux)
			task := newTask(newEndpoint(srv.URL+"/hook"), newMessage())
			task.Delivery.Attempts = tt.attempts
			if tt.setup != nil {
				tt.setup(&task, t)
			}
			st := newFakeStore(task)
			startDispatcher(t, st, Options{Now: fixedNow, Jitter: -1, Timeout: 200 * time.Millisecond})

			r := st.waitResults(t, 1)[0]
			got := outcome{
				Status:    r.Delivery.Status,
				Attempts:  r.Delivery.Attempts,
				NoAttempt: r.Attempt == nil,
				NoRequest: len(rec.requests()) == 0,
			}
			if !r.Delivery.NextAttempt.IsZero() {
				got.Next = r.Delivery.NextAttempt.Sub(testNow)
			}
			if strings.Contains(r.DisableEndpoint, tt.want.Disable) {
				got.Disable = tt.want.Disable
			} else {
				got.Disable = r.DisableEndpoint
			}
			if a := r.Attempt; a != nil {
				got.StatusCode = a.StatusCode
				got.AttemptFail = a.Status == hookline.StatusFail
				got.Error = a.Error
				if tt.want.Error != "" && strings.Contains(a.Error, tt.want.Error) {
					got.Error = tt.want.Error
				}
			}
			if tt.want.Disable == "" && r.DisableEndpoint != "" {
				t.Errorf("endpoint disabled: %q", r.DisableEndpoint)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if n := moved.Load(); n != 0 {
				t.Errorf("the redirect was followed %d times", n)
			}
		})
	}
}

// TestRedirectResponse checks that a redirect's target shows in the
// attempt's response, which is what the API shows of an attempt that got
// an answer, with the body the receiver sent after it.
func TestRedirectResponse(t *testing.T) {
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
		want   string
	}{
		{
			name: "no body",
			handle: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://new.example.com/hook?v=2", http.StatusPermanentRedirect)
			},
			want: "redirect to https://new.example.com/hook?v=2 not followed: set the endpoint URL to the final address",
		},
		{
			name: "with a body",
			handle: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(http.StatusFound)
				io.WriteString(w, "<a href=\"/elsewhere\">Found</a>")
			},
			want: "redirect to /elsewhere not followed: set the endpoint URL to the final address\n\n<a href=\"/elsewhere\">Found</a>",
		},
		{
			name:   "no location",
			handle: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusMovedPermanently) },
			want:   "redirect not followed: the response has no Location header",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, http.HandlerFunc(tt.handle))
			st := newFakeStore(tasks(newEndpoint(srv.URL), 1)...)
			startDispatcher(t, st, Options{Now: fixedNow, Jitter: -1})
			a := st.waitResults(t, 1)[0].Attempt
			if a == nil || a.Response != tt.want {
				t.Fatalf("attempt %+v, want the response %q", a, tt.want)
			}
			if a.Status != hookline.StatusFail || a.StatusCode/100 != 3 {
				t.Errorf("attempt status %v, code %d; want a failed 3xx", a.Status, a.StatusCode)
			}
		})
	}
}

func TestGuardRefusalRecorded(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	st := newFakeStore(tasks(newEndpoint(srv.URL), 1)...)
	// The guarded client the server uses refuses loopback before it
	// connects; the attempt tells the operator why and what to change.
	client := NewClient(netguard.Dialer(false, time.Second), 5*time.Second)
	startDispatcher(t, st, Options{Client: client, Now: fixedNow, Jitter: -1})

	r := st.waitResults(t, 1)[0]
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests reached the loopback server", n)
	}
	if r.Attempt == nil || !strings.Contains(r.Attempt.Error, "loopback") || !strings.Contains(r.Attempt.Error, "--allow-private-networks") {
		t.Errorf("attempt %+v, want the guard's refusal", r.Attempt)
	}
	if r.Delivery.Status != hookline.StatusPending || r.Delivery.NextAttempt != testNow.Add(5*time.Second) {
		t.Errorf("delivery %v due %v, want a retry in 5s", r.Delivery.Status, r.Delivery.NextAttempt)
	}
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

func TestResponseCapAndReuse(t *testing.T) {
	const size = 100 << 10
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "é"+strings.Repeat("a", size))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	const n = 5
	st := newFakeStore(tasks(newEndpoint(srv.URL), n)...)
	// One worker sends one request after the other: each may reuse the
	// connection of the one before if its body was drained.
	startDispatcher(t, st, Options{Workers: 1, MaxResponse: 1001})

	want := "é" + strings.Repeat("a", 999) + TruncatedMark
	for _, r := range st.waitResults(t, n) {
		if r.Attempt.Response != want {
			t.Errorf("response of %d bytes ending %q, want %d bytes ending %q", len(r.Attempt.Response),
				r.Attempt.Response[max(0, len(r.Attempt.Response)-20):], len(want), want[len(want)-20:])
		}
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("%d connections for %d sequential requests, want 1", c, n)
	}
}

func TestDecideSchedule(t *testing.T) {
	// Rand at its midpoint makes the jitter zero; the ends move the delay
	// by the whole Jitter fraction.
	var r atomic.Value
	r.Store(0.5)
	d := New(newFakeStore(), Options{Client: answer(200), Rand: func() float64 { return r.Load().(float64) }})
	ep := newEndpoint("http://example.test")
	for attempts := 1; attempts <= len(DefaultSchedule); attempts++ {
		res := store.Result{Delivery: hookline.Delivery{Attempts: attempts}, Attempt: &hookline.Attempt{}}
		d.decide(&res, ep, testNow, 500, 0)
		if attempts == len(DefaultSchedule) {
			if res.Delivery.Status != hookline.StatusFail || !res.Delivery.NextAttempt.IsZero() {
				t.Errorf("after attempt %d: %v at %v, want fail", attempts, res.Delivery.Status, res.Delivery.NextAttempt)
			}
			continue
		}
		if got, want := res.Delivery.NextAttempt.Sub(testNow), DefaultSchedule[attempts]; got != want {
			t.Errorf("after attempt %d: next in %v, want %v", attempts, got, want)
		}
	}

	for _, tt := range []struct {
		rand float64
		want time.Duration
	}{{0, 270 * time.Second}, {0.5, 300 * time.Second}, {1, 330 * time.Second}, {-5, 270 * time.Second}, {7, 330 * time.Second}} {
		r.Store(tt.rand)
		if got := d.jitter(5 * time.Minute); got != tt.want {
			t.Errorf("jitter(5m) with rand %v = %v, want %v", tt.rand, got, tt.want)
		}
	}
	r.Store(0.0)
	if got := d.jitter(0); got != 0 {
		t.Errorf("jitter(0) = %v", got)
	}
}

func TestJitterBounded(t *testing.T) {
	d := New(newFakeStore(), Options{Client: answer(200)})
	const delay = time.Hour
	lo, hi := delay, delay
	for range 10000 {
		j := d.jitter(delay)
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo < 54*time.Minute || hi > 66*time.Minute {
		t.Errorf("jitter of 1h ranged %v to %v, want within 10%%", lo, hi)
	}
	if lo == hi {
		t.Errorf("jitter of 1h is always %v", lo)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"30", 30 * time.Second},
		{" 45 ", 45 * time.Second},
		{"3600", time.Hour},
		{"3601", time.Hour},
		{"99999999999999999999999", time.Hour},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{testNow.Add(-time.Minute).Format(http.TimeFormat), 0},
		{testNow.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{testNow.Add(2 * time.Minute).Format(time.RFC850), 2 * time.Minute},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, testNow, time.Hour); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestResponseText(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		truncated bool
		want      string
	}{
		{"empty", "", false, ""},
		{"text", "ok", false, "ok"},
		{"invalid utf-8", "a\xffb", false, "a\uFFFDb"},
		{"cut", "abc", true, "abc" + TruncatedMark},
		{"cut inside a character", "ab\xe2\x82", true, "ab" + TruncatedMark},
		{"cut after a character", "ab€", true, "ab€" + TruncatedMark},
	}
	for _, tt := range tests {
		if got := responseText([]byte(tt.in), tt.truncated); got != tt.want {
			t.Errorf("%s: responseText(%q, %v) = %q, want %q", tt.name, tt.in, tt.truncated, got, tt.want)
		}
	}
}
