package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inflight"
	"github.com/hookline/hookline/internal/store"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/health"},
		{"HEAD", "/api/v1/health"},
		{"GET", "/api/v1/health/"},
		{"GET", "/api/v1/health/ping"},
		{"GET", "/api/v1/health/live"},
		{"HEAD", "/api/v1/health/live"},
	} {
		if r := e.doAuth("", tc.method, tc.path, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Errorf("%s %s without a token: %d %q, want 204 and no body", tc.method, tc.path, r.Status, r.Body)
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	for _, tc := range []struct{ name, auth string }{
		{"missing", ""},
		{"wrong token", "Bearer nope"},
		{"token without scheme", testToken},
		{"other scheme", "Basic " + testToken},
		{"empty bearer", "Bearer "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.in(t).doAuth(tc.auth, "GET", "/api/v1/app", nil)
			r.wantError(http.StatusUnauthorized, "authentication_failed")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	e.doAuth("bearer "+testToken, "GET", "/api/v1/app", nil).want(http.StatusOK)

	t.Run("no token configured", func(t *testing.T) {
		e := newEnv(t, newFakeStore(), func(o *Options) { o.TokenHash = nil })
		e.do("GET", "/api/v1/app", nil).wantError(http.StatusUnauthorized, "authentication_failed")
	})
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	e.do("GET", "/api/v1/nope", nil).wantError(http.StatusNotFound, "not_found")
	e.do("GET", "/", nil).wantError(http.StatusNotFound, "not_found")
	r := e.do("DELETE", "/api/v1/app", nil)
	r.wantError(http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q, want it to list POST", allow)
	}

	// Trailing slashes are ignored, on collections and items alike.
	var a applicationOut
	e.do("POST", "/api/v1/app/", map[string]any{"name": "Slash", "uid": "slash"}).want(http.StatusCreated).decode(&a)
	e.do("GET", "/api/v1/app/slash/", nil).want(http.StatusOK)
	e.do("GET", "/api/v1/app/"+a.ID+"/endpoint/", nil).want(http.StatusOK)
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	for _, tc := range []struct{ name, body, detail string }{
		{"truncated", `{"name": `, "unexpected end"},
		{"syntax", "{\n  \"name\": \"x\",,\n}", "line 2"},
		{"empty", ``, "empty"},
		{"not json", `name=x`, "line 1, column 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.in(t).do("POST", "/api/v1/app", tc.body).wantError(http.StatusBadRequest, "invalid_json")
			if !strings.Contains(b.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", b.Detail, tc.detail)
			}
		})
	}
	t.Run("wrong type", func(t *testing.T) {
		it := e.in(t).do("POST", "/api/v1/app", `{"name": 5}`).wantInvalid("body", "name")
		if it.Type != "type_error" {
			t.Errorf("type %q, want type_error", it.Type)
		}
	})
	t.Run("nested wrong type", func(t *testing.T) {
		e.in(t).do("POST", "/api/v1/app", `{"name": "x", "metadata": {"a": 1}}`).wantInvalid("body", "metadata")
	})
	t.Run("unknown fields ignored", func(t *testing.T) {
		e.in(t).do("POST", "/api/v1/app", `{"name": "x", "colour": "blue"}`).want(http.StatusCreated)
	})
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore(), func(o *Options) { o.MaxBodyBytes = 64 })
	e.do("POST", "/api/v1/app", map[string]any{"name": strings.Repeat("x", 100)}).
		wantError(http.StatusRequestEntityTooLarge, "payload_too_large")
	e.do("POST", "/api/v1/app", map[string]any{"name": "small"}).want(http.StatusCreated)

	// post sends body as the request body, with the Content-Length given
	// (-1 for none).
	post := func(body string, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/app", io.MultiReader(strings.NewReader(body)))
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	// A body declared larger than the limit is refused before it is read,
	// whatever it holds.
	if rec := post(`{"name": "small"}`, 1<<40); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body declared at 1 TiB: %d %s, want 413", rec.Code, rec.Body)
	}
	// A body of no declared length is cut off as it is read.
	if rec := post(`{"name": "`+strings.Repeat("x", 100)+`"}`, -1); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "payload_too_large") {
		t.Errorf("a streamed body over the limit: %d %s, want 413 payload_too_large", rec.Code, rec.Body)
	}
}

// TestBodiesInFlight shows that request bodies are bounded in bytes, not
// in requests: with the bound taken, a request with a body is answered 503
// with Retry-After before it is read and changes nothing, while one with
// no body still passes.
func TestBodiesInFlight(t *testing.T) {
	t.Parallel()
	bodies := inflight.New(1<<20, 20*time.Millisecond)
	e := newEnv(t, newFakeStore(), func(o *Options) { o.Bodies = bodies })
	hold, err := bodies.Acquire(context.Background(), 1<<20-8)
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/api/v1/app", map[string]any{"name": "acme", "uid": "acme"})
	r.wantError(http.StatusServiceUnavailable, "overloaded")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 overloaded without Retry-After")
	}
	e.do("GET", "/api/v1/app/acme", nil).want(http.StatusNotFound)
	e.do("GET", "/api/v1/app", nil).want(http.StatusOK)

	hold()
	e.do("POST", "/api/v1/app", map[string]any{"name": "acme", "uid": "acme"}).want(http.StatusCreated)
	all, err := bodies.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatalf("a request kept its reservation: %v", err)
	}
	all()
}

// TestListPagesInFlight shows that the lists whose pages carry payloads,
// bodies or responses reserve a page's bytes before they read one, and
// that other routes do not.
func TestListPagesInFlight(t *testing.T) {
	t.Parallel()
	pages := inflight.New(store.MaxPageBytes, 20*time.Millisecond)
	e := newEnv(t, newFakeStore(), func(o *Options) { o.Pages = pages })
	e.createApp("Acme", "acme")
	e.do("GET", "/api/v1/app/acme/msg", nil).want(http.StatusOK)

	hold, err := pages.Acquire(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/app/acme/msg", "/api/v1/app/acme/attempt/msg/m1", "/api/v1/app/acme/endpoint/e1/msg"} {
		r := e.do("GET", path, nil)
		r.wantError(http.StatusServiceUnavailable, "overloaded")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s: 503 without Retry-After", path)
		}
	}
	e.do("GET", "/api/v1/app/acme", nil).want(http.StatusOK)
	e.do("GET", "/api/v1/app", nil).want(http.StatusOK)
	hold()
	e.do("GET", "/api/v1/app/acme/msg", nil).want(http.StatusOK)
}

func TestBadQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	a := e.createApp("Q", "q")
	for _, tc := range []struct{ path, param string }{
		{"/api/v1/app?iterator=garbage", "iterator"},
		{"/api/v1/app?iterator=-msg_2jVxRvT6C8vDcGUGE6W8ENzEHXi", "iterator"},
		{"/api/v1/app?limit=0", "limit"},
		{"/api/v1/app?limit=251", "limit"},
		{"/api/v1/app?limit=ten", "limit"},
		{"/api/v1/app?order=sideways", "order"},
		{"/api/v1/event-type?iterator=has%20space", "iterator"},
		{"/api/v1/event-type?with_content=maybe", "with_content"},
		{"/api/v1/app/" + a.ID + "/msg?before=yesterday", "before"},
		{"/api/v1/app/" + a.ID + "/msg?after=2024-13-01T00:00:00Z", "after"},
		{"/api/v1/app/" + a.ID + "/msg?channel=a%20b", "channel"},
		{"/api/v1/app/" + a.ID + "/msg?event_types=ok,not%20ok", "event_types"},
		{"/api/v1/app/" + a.ID + "/msg?iterator=app_2jVxRvT6C8vDcGUGE6W8ENzEHXi", "iterator"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			e.in(t).do("GET", tc.path, nil).wantInvalid("query", tc.param)
		})
	}
	// Several bad parameters are reported together.
	r := e.do("GET", "/api/v1/app?limit=0&order=up", nil)
	r.wantInvalid("query", "limit")
	r.wantInvalid("query", "order")
}

func TestIdempotency(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		first := e.do("POST", "/api/v1/app", map[string]any{"name": "Once"}, "Idempotency-Key", "k1").want(http.StatusCreated)
		again := e.do("POST", "/api/v1/app", map[string]any{"name": "Once"}, "Idempotency-Key", "k1").want(http.StatusCreated)
		if string(first.Body) != string(again.Body) {
			t.Errorf("replayed body differs:\n%s\n%s", first.Body, again.Body)
		}
		var list listOut[applicationOut]
		e.do("GET", "/api/v1/app", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 1 {
			t.Fatalf("%d apps after a repeated request, want 1", len(list.Data))
		}

		// Client errors are saved and replayed too.
		e.do("POST", "/api/v1/app", map[string]any{"name": ""}, "Idempotency-Key", "k2").want(http.StatusUnprocessableEntity)
		e.do("POST", "/api/v1/app", map[string]any{"name": "fixed"}, "Idempotency-Key", "k2").want(http.StatusUnprocessableEntity)

		// The same key on another route is another request.
		e.do("POST", "/api/v1/event-type", map[string]any{"name": "a.b", "description": ""}, "Idempotency-Key", "k1").
			want(http.StatusCreated)

		// A request whose key is held by one still running gets 409.
		if _, err := st.IdempotencyBegin(context.Background(), "POST /api/v1/app k3", time.Now()); err != nil {
			t.Fatal(err)
		}
		e.do("POST", "/api/v1/app", map[string]any{"name": "Busy"}, "Idempotency-Key", "k3").
			wantError(http.StatusConflict, "conflict")
	})
}

// failingStore fails or panics in AppCreate while fail is set.
type failingStore struct {
	store.Store
	fail  atomic.Bool
	panic bool
}

func (s *failingStore) AppCreate(ctx context.Context, a *hookline.App) error {
	if s.fail.Load() {
		if s.panic {
			panic("store exploded")
		}
		return errors.New("disk on fire")
	}
	return s.Store.AppCreate(ctx, a)
}

func TestIdempotencyReleasesKeyOnServerError(t *testing.T) {
	for _, panics := range []bool{false, true} {
		st := &failingStore{Store: newFakeStore(), panic: panics}
		e := newEnv(t, st)
		st.fail.Store(true)
		b := e.do("POST", "/api/v1/app", map[string]any{"name": "Retry"}, "Idempotency-Key", "k").
			wantError(http.StatusInternalServerError, "internal_error")
		if strings.Contains(b.Detail, "fire") || strings.Contains(b.Detail, "exploded") {
			t.Errorf("500 detail leaks the cause: %q", b.Detail)
		}
		if !strings.Contains(e.logs.String(), "disk on fire") && !strings.Contains(e.logs.String(), "store exploded") {
			t.Errorf("cause not logged; logs:\n%s", e.logs)
		}
		st.fail.Store(false)
		e.do("POST", "/api/v1/app", map[string]any{"name": "Retry"}, "Idempotency-Key", "k").want(http.StatusCreated)
	}
}

// brokenStore panics on AppList and fails MessageCreate.
type brokenStore struct{ store.Store }

func (brokenStore) AppList(context.Context, store.Page) ([]hookline.App, bool, error) {
	panic("index out of range")
}

func (brokenStore) MessageCreate(context.Context, []*store.MessageCreate) error {
	return errors.New("database is locked")
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, brokenStore{newFakeStore()})
	e.do("GET", "/api/v1/app", nil).wantError(http.StatusInternalServerError, "internal_error")
	if logs := e.logs.String(); !strings.Contains(logs, "index out of range") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	// The server goes on serving.
	e.createApp("A", "a")
	e.do("POST", "/api/v1/app/a/msg", `{"eventType": "e", "payload": {"card": "4242-SECRET"}}`).
		wantError(http.StatusInternalServerError, "internal_error")
	if logs := e.logs.String(); !strings.Contains(logs, "database is locked") || strings.Contains(logs, "4242-SECRET") {
		t.Errorf("want the cause logged and the payload not:\n%s", logs)
	}
}
