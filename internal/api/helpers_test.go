package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookline/hookline/internal/store"
)

const testToken = "sk_test_4b2d8e"

// storeFactory opens an empty store for one test.
type storeFactory struct {
	name string
	open func(t *testing.T) store.Store
}

// storeFactories are the stores the handler tests run against; the SQLite
// store adds itself in sqlite_test.go.
var storeFactories = []storeFactory{
	{"fake", func(*testing.T) store.Store { return newFakeStore() }},
}

// eachStore runs fn once per store, as parallel subtests.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, f := range storeFactories {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			fn(t, f.open(t))
		})
	}
}

// env is an API handler over a store, driven in-process.
type env struct {
	t     *testing.T
	st    store.Store
	h     http.Handler
	wakes *atomic.Int32
	logs  *bytes.Buffer
}

// in returns e reporting to t, for use in subtests.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func newEnv(t *testing.T, st store.Store, opts ...func(*Options)) *env {
	t.Helper()
	sum := sha256.Sum256([]byte(testToken))
	e := &env{t: t, st: st, logs: &bytes.Buffer{}, wakes: new(atomic.Int32)}
	o := Options{
		Store:     st,
		TokenHash: sum[:],
		Logger:    slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, nil)),
		Wake:      func() { e.wakes.Add(1) },
	}
	for _, f := range opts {
		f(&o)
	}
	e.h = New(o)
	return e
}

// lockedWriter serializes log writes from parallel requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// response is a recorded response.
type response struct {
	t      *testing.T
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request with the test token. body is sent as is when it is a
// string, else as JSON; headers are name, value pairs.
func (e *env) do(method, path string, body any, headers ...string) *response {
	e.t.Helper()
	return e.doAuth("Bearer "+testToken, method, path, body, headers...)
}

func (e *env) doAuth(auth, method, path string, body any, headers ...string) *response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req := httptest.NewRequest(method, path, r)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return &response{t: e.t, Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// want fails the test unless the response has status.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// decode decodes the body into v.
func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorBody decodes an HttpErrorOut.
func (r *response) errorBody() errorBody {
	r.t.Helper()
	var b errorBody
	r.decode(&b)
	return b
}

// wantError checks status and error code.
func (r *response) wantError(status int, code string) errorBody {
	r.t.Helper()
	r.want(status)
	b := r.errorBody()
	if b.Code != code {
		r.t.Fatalf("code %q, want %q; body: %s", b.Code, code, r.Body)
	}
	return b
}

// wantInvalid checks for a 422 with an item at loc.
func (r *response) wantInvalid(loc ...string) validationItem {
	r.t.Helper()
	r.want(http.StatusUnprocessableEntity)
	var b validationBody
	r.decode(&b)
	for _, it := range b.Detail {
		if slices.Equal(it.Loc, loc) {
			if it.Msg == "" || it.Type == "" {
				r.t.Errorf("validation item %+v lacks msg or type", it)
			}
			return it
		}
	}
	r.t.Fatalf("no validation error at %v; body: %s", loc, r.Body)
	return validationItem{}
}

func (e *env) createApp(name, uid string) applicationOut {
	e.t.Helper()
	body := map[string]any{"name": name}
	if uid != "" {
		body["uid"] = uid
	}
	var a applicationOut
	e.do("POST", "/api/v1/app", body).want(http.StatusCreated).decode(&a)
	return a
}

func (e *env) createEventType(name string) {
	e.t.Helper()
	e.do("POST", "/api/v1/event-type", map[string]any{"name": name, "description": name}).want(http.StatusCreated)
}

func (e *env) createEndpoint(appID string, body map[string]any) endpointOut {
	e.t.Helper()
	var ep endpointOut
	e.do("POST", "/api/v1/app/"+appID+"/endpoint", body).want(http.StatusCreated).decode(&ep)
	return ep
}

// msgOut is a MessageOut as a client decodes it, payload included.
type msgOut struct {
	ID        string          `json:"id"`
	EventID   *string         `json:"eventId"`
	EventType string          `json:"eventType"`
	Channels  []string        `json:"channels"`
	Payload   json.RawMessage `json:"payload"`
}

func (e *env) createMessage(appID string, body map[string]any) msgOut {
	e.t.Helper()
	var m msgOut
	e.do("POST", "/api/v1/app/"+appID+"/msg", body).want(http.StatusAccepted).decode(&m)
	return m
}
