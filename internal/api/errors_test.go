package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// faultyStore fails every write of messages and apps, and every read of
// apps, with err while it is set, as a store does on a full disk or with
// its database down.
type faultyStore struct {
	store.Store
	err atomic.Pointer[error]
}

func (s *faultyStore) fault() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *faultyStore) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	if err := s.fault(); err != nil {
		return fmt.Errorf("create messages: %w", err)
	}
	return s.Store.MessageCreate(ctx, batch)
}

func (s *faultyStore) AppCreate(ctx context.Context, a *hookline.App) error {
	if err := s.fault(); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	return s.Store.AppCreate(ctx, a)
}

// A driver's error as a store wraps it: its text kept, the kind added.
type driverFault struct{ kind error }

func (e driverFault) Error() string   { return "database or disk is full (13)" }
func (e driverFault) Is(t error) bool { return t == e.kind }

func TestStoreFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"full", driverFault{hookline.ErrStorageFull}, http.StatusInsufficientStorage, "insufficient_storage", false},
		{"unavailable", driverFault{hookline.ErrUnavailable}, http.StatusServiceUnavailable, "store_unavailable", true},
		{"other", errors.New("database or disk is full (13)"), http.StatusInternalServerError, "internal_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &faultyStore{Store: newFakeStore()}
			e := newEnv(t, st)
			a := e.createApp("A", "a")
			st.err.Store(&tt.err)
			for _, req := range []struct{ path, body string }{
				{"/api/v1/app/" + a.ID + "/msg", `{"eventType": "e", "payload": {"secret": "4242"}}`},
				{"/api/v1/app", `{"name": "B"}`},
			} {
				r := e.do("POST", req.path, req.body, "Idempotency-Key", "k-"+req.path)
				b := r.wantError(tt.status, tt.code)
				if strings.Contains(b.Detail, "(13)") {
					t.Errorf("detail leaks the driver's text: %q", b.Detail)
				}
				if got := r.Header.Get("Retry-After"); (got != "") != tt.retryAfter {
					t.Errorf("Retry-After = %q, want one: %v", got, tt.retryAfter)
				}
			}
			if logs := e.logs.String(); !strings.Contains(logs, "(13)") || strings.Contains(logs, "4242") {
				t.Errorf("want the cause logged and the payload not:\n%s", logs)
			}
			// The refusal is not saved under the idempotency key: the
			// same request is taken once the store takes writes again.
			st.err.Store(nil)
			e.do("POST", "/api/v1/app/"+a.ID+"/msg", `{"eventType": "e", "payload": {}}`, "Idempotency-Key", "k-/api/v1/app/"+a.ID+"/msg").
				want(http.StatusAccepted)
		})
	}
}

// TestErrorsSayWhatToDo covers the answers to requests a new user gets
// wrong: a form post, a missing field, a body over the limit.
func TestErrorsSayWhatToDo(t *testing.T) {
	e := newEnv(t, openSQLite(t), func(o *Options) { o.MaxBodyBytes = 1024 })

	b := e.do("POST", "/api/v1/app", "name=acme", "Content-Type", "application/x-www-form-urlencoded").wantError(http.StatusBadRequest, "invalid_json")
	if !strings.Contains(b.Detail, "Content-Type: application/json") || !strings.Contains(b.Detail, `"application/x-www-form-urlencoded"`) {
		t.Errorf("a form post: %q", b.Detail)
	}
	b = e.do("POST", "/api/v1/app", "name=acme", "Content-Type", "").wantError(http.StatusBadRequest, "invalid_json")
	if !strings.Contains(b.Detail, "no Content-Type") {
		t.Errorf("no content type: %q", b.Detail)
	}
	// Bad JSON declared as JSON is only that.
	b = e.do("POST", "/api/v1/app", "{").wantError(http.StatusBadRequest, "invalid_json")
	if strings.Contains(b.Detail, "Content-Type") {
		t.Errorf("bad JSON: %q", b.Detail)
	}

	e.do("POST", "/api/v1/app", map[string]any{}).wantInvalid("body", "name")
	var v struct{ Detail []struct{ Msg string } }
	e.do("POST", "/api/v1/app", map[string]any{}).want(http.StatusUnprocessableEntity).decode(&v)
	if len(v.Detail) == 0 || v.Detail[0].Msg != "field required" {
		t.Errorf("a missing name: %+v", v)
	}

	b = e.do("POST", "/api/v1/app", map[string]any{"name": strings.Repeat("x", 2048)}).wantError(http.StatusRequestEntityTooLarge, "payload_too_large")
	if !strings.Contains(b.Detail, "1024 bytes") || !strings.Contains(b.Detail, "--max-body-bytes") {
		t.Errorf("too large: %q", b.Detail)
	}
}
