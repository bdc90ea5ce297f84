package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound/verify"
	"github.com/hookline/hookline/internal/opwebhook"
)

// loadOpenAPI loads the served document and fails unless it is a valid
// OpenAPI 3.1 document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi.json is OpenAPI %s, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// documented returns the operations of the document as mux patterns
// ("GET /api/v1/app"), with their operation IDs.
func documented(doc *openapi3.T) map[string]string {
	ops := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op.OperationID
		}
	}
	return ops
}

// TestOpenAPIRoutes checks that the document describes every route the
// server registers, and only those.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	ops := documented(doc)
	e := newSrcEnv(t)
	// The routes as TestAccessEveryRoute finds them, inbound ones included.
	patterns := newServer(Options{Store: e.env.st, Inbound: e.svc}).patterns
	for _, p := range patterns {
		if _, ok := ops[p]; !ok {
			t.Errorf("route %q is not in openapi.json", p)
		}
	}
	for p := range ops {
		if !slices.Contains(patterns, p) {
			t.Errorf("openapi.json has %q, which is no route", p)
		}
	}
	seen := map[string]string{}
	for p, id := range ops {
		if id == "" {
			t.Errorf("%s has no operationId", p)
		} else if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share operationId %q", p, other, id)
		}
		seen[id] = p
	}
}

// TestOpenAPIServed checks that the document is served as it is
// embedded, without a token.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	for _, auth := range []string{"", "Bearer nonsense"} {
		r := e.doAuth(auth, "GET", "/api/v1/openapi.json", nil).want(http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if !bytes.Equal(r.Body, openAPIDocument) {
			t.Errorf("served %d bytes, not the %d of openapi.json", len(r.Body), len(openAPIDocument))
		}
	}
}

// strict makes every object schema of the document that names its
// properties refuse others, so that a field hookline sends but the
// document leaves out fails the conformance test. The document itself
// leaves them open, as Svix's does, so that clients generated from it
// accept fields added later.
func strict(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, sub := range slices.Concat(s.AnyOf, s.OneOf, s.AllOf) {
			walk(sub)
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
}

// conformance drives the API with requests that must match the document,
// and checks that each answer matches it too.
type conformance struct {
	*srcEnv
	doc    *openapi3.T
	router routers.Router
	// covered are the operations that answered, by operation ID.
	mu      sync.Mutex
	covered map[string]bool
}

// sseDecoder passes an event stream on as its text, for the document's
// string schema; TestOpenAPIConformance checks its events itself.
func sseDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	return string(b), err
}

var registerSSE sync.Once

func newConformance(t *testing.T) *conformance {
	t.Helper()
	registerSSE.Do(func() { openapi3filter.RegisterBodyDecoder("text/event-stream", sseDecoder) })
	doc := loadOpenAPI(t)
	strict(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &conformance{srcEnv: newSrcEnv(t), doc: doc, router: router, covered: map[string]bool{}}
}

// call sends a request that the document allows and checks it and its
// answer against the document. body is sent as is when it is a string or
// []byte, else as JSON; headers are name, value pairs.
func (c *conformance) call(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	return c.send(true, nil, method, path, body, headers...)
}

// bad sends a request the document does not allow, such as one with an
// invalid field, and checks only the answer against the document.
func (c *conformance) bad(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	return c.send(false, nil, method, path, body, headers...)
}

func (c *conformance) send(validRequest bool, w *streamRecorder, method, path string, body any, headers ...string) *response {
	t := c.t
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	newRequest := func(ctx context.Context) *http.Request {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(raw)
		}
		req := httptest.NewRequestWithContext(ctx, method, path, r)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}

	// No request is meant to outlast this; a stream that did not end
	// would otherwise hold the test until its own timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := newRequest(ctx)
	route, params, err := c.router.FindRoute(check)
	if err != nil {
		t.Fatalf("%s %s is not in openapi.json: %v", method, path, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if validRequest {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: the request does not match openapi.json: %v", method, path, err)
		}
	}

	if w == nil {
		w = &streamRecorder{ResponseRecorder: httptest.NewRecorder()}
	}
	w.cancel = cancel
	c.h.ServeHTTP(w, newRequest(ctx))
	res := w.Result()
	out := &response{t: t, Status: res.StatusCode, Header: res.Header, Body: w.Body.Bytes()}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: out.Status, Header: out.Header, Options: opts}
	rin.SetBodyBytes(out.Body)
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		t.Errorf("%s %s: the answer %d %s does not match openapi.json: %v", method, path, out.Status, clip(out.Body), err)
	}
	c.mu.Lock()
	c.covered[route.Operation.OperationID] = true
	c.mu.Unlock()
	return out
}

// clip shortens a body for a failure message.
func clip(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "..."...)
	}
	return b
}

// streamRecorder records an answer, and ends the request after its
// stopAfter'th flush, as a client that has read enough of a stream does.
type streamRecorder struct {
	*httptest.ResponseRecorder
	stopAfter int
	flushes   int
	cancel    func()
}

func (s *streamRecorder) Flush() {
	s.ResponseRecorder.Flush()
	s.flushes++
	if s.stopAfter > 0 && s.flushes >= s.stopAfter {
		s.cancel()
	}
}

// TestOpenAPIConformance sends requests to every route of the document,
// over SQLite with inbound sources, and checks that each request and each
// answer, errors included, match the document.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	c := newConformance(t)
	st := c.env.st

	// Health and the document itself, without a token.
	c.call("GET", "/api/v1/health", nil).want(http.StatusNoContent)
	c.call("GET", "/api/v1/health/ping", nil).want(http.StatusNoContent)
	c.call("GET", "/api/v1/health/live", nil).want(http.StatusNoContent)
	c.call("GET", "/api/v1/openapi.json", nil).want(http.StatusOK)

	// Applications.
	var app applicationOut
	c.call("POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme", "throttleRate": 10, "metadata": map[string]string{"tier": "gold"}}).
		want(http.StatusCreated).decode(&app)
	c.call("POST", "/api/v1/app?get_if_exists=true", map[string]any{"name": "Acme", "uid": "acme"}, "idempotency-key", "k1").want(http.StatusOK)
	c.call("POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme"}).wantError(http.StatusConflict, "conflict")
	c.call("POST", "/api/v1/app", map[string]any{"name": "Plain"}).want(http.StatusCreated)
	c.call("GET", "/api/v1/app?limit=1&order=descending", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme", nil).want(http.StatusOK)
	c.call("PUT", "/api/v1/app/acme", map[string]any{"name": "Acme Inc", "uid": "acme", "rateLimit": 5}).want(http.StatusOK)
	c.call("PUT", "/api/v1/app/beta", map[string]any{"name": "Beta"}).want(http.StatusCreated)
	c.call("PATCH", "/api/v1/app/beta", map[string]any{"uid": nil, "throttleRate": nil}).want(http.StatusOK)
	c.call("DELETE", "/api/v1/app/"+app.ID+"x", nil).wantError(http.StatusNotFound, "not_found")
	c.bad("POST", "/api/v1/app", `{"name": `).wantError(http.StatusBadRequest, "invalid_json")
	c.bad("POST", "/api/v1/app", map[string]any{"name": 7}).wantInvalid("body", "name")
	c.bad("GET", "/api/v1/app?limit=0", nil).wantInvalid("query", "limit")
	c.bad("GET", "/api/v1/app", nil, "Authorization", "Bearer wrong").wantError(http.StatusUnauthorized, "authentication_failed")

	// Event types.
	c.call("POST", "/api/v1/event-type", map[string]any{"name": "order.paid", "description": "An order was paid",
		"schemas": map[string]any{"1": map[string]any{"type": "object"}}, "featureFlag": "beta"}).want(http.StatusCreated)
	c.call("POST", "/api/v1/event-type", map[string]any{"name": "order.shipped", "description": "Shipped"}).want(http.StatusCreated)
	c.call("GET", "/api/v1/event-type?with_content=true&include_archived=true", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/event-type", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/event-type/order.paid", nil).want(http.StatusOK)
	c.call("PUT", "/api/v1/event-type/order.refunded", map[string]any{"description": "Refunded"}).want(http.StatusCreated)
	c.call("PATCH", "/api/v1/event-type/order.refunded", map[string]any{"deprecated": true, "schemas": nil}).want(http.StatusOK)
	c.call("DELETE", "/api/v1/event-type/order.refunded?expunge=true", nil).want(http.StatusNoContent)
	c.call("GET", "/api/v1/event-type/order.refunded", nil).wantError(http.StatusNotFound, "not_found")

	// Endpoints.
	var ep endpointOut
	c.call("POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/hook", "uid": "main", "description": "Main",
		"eventTypes": []string{"order.paid"}, "channels": []string{"eu"}, "format": "json", "headers": map[string]string{"X-Team": "a", "Authorization": "Bearer x"},
		"secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "metadata": map[string]string{"k": "v"}}).want(http.StatusCreated).decode(&ep)
	c.call("POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/other", "filterTypes": []string{"order.shipped"}}).want(http.StatusCreated)
	c.bad("POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "ftp://example.com"}).wantInvalid("body", "url")
	c.call("GET", "/api/v1/app/acme/endpoint?order=ascending", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/endpoint/main", nil).want(http.StatusOK)
	c.call("PUT", "/api/v1/app/acme/endpoint/main", map[string]any{"url": "https://example.com/hook", "uid": "main", "throttleRate": 3}).want(http.StatusOK)
	c.call("PUT", "/api/v1/app/acme/endpoint/spare", map[string]any{"url": "https://example.com/spare", "format": "xml"}).want(http.StatusCreated)
	c.call("PATCH", "/api/v1/app/acme/endpoint/spare", map[string]any{"disabled": true, "format": "form", "channels": nil}).want(http.StatusOK)
	c.call("DELETE", "/api/v1/app/acme/endpoint/spare", nil).want(http.StatusNoContent)
	c.call("GET", "/api/v1/app/acme/endpoint/main/headers", nil).want(http.StatusOK)
	c.call("PUT", "/api/v1/app/acme/endpoint/main/headers", map[string]any{"headers": map[string]string{"X-Team": "b"}}).want(http.StatusNoContent)
	c.call("PATCH", "/api/v1/app/acme/endpoint/main/headers", map[string]any{"headers": map[string]any{"X-Team": nil, "X-New": "1"},
		"deleteHeaders": []string{"X-Old"}}).want(http.StatusNoContent)
	c.call("GET", "/api/v1/app/acme/endpoint/main/secret", nil).want(http.StatusOK)
	c.call("POST", "/api/v1/app/acme/endpoint/main/secret/rotate", nil).want(http.StatusNoContent)
	c.call("POST", "/api/v1/app/acme/endpoint/main/secret/rotate", map[string]any{"key": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oE", "gracePeriodSeconds": 0}).
		want(http.StatusNoContent)

	// Messages, deliveries and attempts.
	var msg msgOut
	c.call("POST", "/api/v1/app/acme/msg", map[string]any{"eventType": "order.paid", "eventId": "order-1", "channels": []string{"eu"},
		"payload": map[string]any{"total": 10.5}}).want(http.StatusAccepted).decode(&msg)
	c.call("POST", "/api/v1/app/acme/msg?with_content=false", map[string]any{"eventType": "order.shipped", "payload": map[string]any{}}).want(http.StatusAccepted)
	c.call("POST", "/api/v1/app/acme/msg", map[string]any{"eventType": "order.paid", "eventId": "order-1", "payload": map[string]any{}}).
		wantError(http.StatusConflict, "conflict")
	c.call("POST", "/api/v1/app/gamma/msg", map[string]any{"eventType": "order.paid", "payload": map[string]any{},
		"application": map[string]any{"name": "Gamma", "uid": "gamma"}}).want(http.StatusAccepted)
	c.bad("POST", "/api/v1/app/delta/msg", map[string]any{"eventType": "order.paid", "payload": map[string]any{},
		"application": map[string]any{"name": "Delta"}}).wantInvalid("body", "application", "uid")
	now := time.Now().UTC().Truncate(time.Millisecond)
	attempts := deliverAll(t, st, now.Add(time.Second), 500)
	if len(attempts) == 0 {
		t.Fatal("no deliveries to attempt")
	}
	c.call("GET", "/api/v1/app/acme/msg?limit=10&event_types=order.paid&event_types=order.shipped&channel=eu&with_content=false", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/msg?after="+now.Add(-time.Hour).Format(time.RFC3339)+"&before="+now.Add(time.Hour).Format(time.RFC3339), nil).
		want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/msg/order-1", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/msg/"+msg.ID+"?with_content=false", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/msg/"+msg.ID+"/endpoint", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/msg/"+msg.ID+"/attempt/"+attempts[0].ID, nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/endpoint/main/msg?status=2&with_content=true", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/attempt/endpoint/main?status=2&status_code_class=500", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/app/acme/attempt/msg/"+msg.ID+"?endpoint_id=main&with_content=false", nil).want(http.StatusOK)
	c.bad("GET", "/api/v1/app/acme/attempt/msg/"+msg.ID+"?status=9", nil).wantInvalid("query", "status")
	c.call("POST", "/api/v1/app/acme/msg/"+msg.ID+"/endpoint/main/resend", nil).want(http.StatusAccepted)
	c.call("GET", "/api/v1/app/acme/msg/"+msg.ID+"/endpoint", nil).want(http.StatusOK) // with a delivery due
	c.call("GET", "/api/v1/app/acme/endpoint/main/msg", nil).want(http.StatusOK)
	c.call("POST", "/api/v1/app/acme/endpoint/main/recover", map[string]any{"since": now.Add(-time.Hour).Format(time.RFC3339)}).want(http.StatusAccepted)
	c.bad("POST", "/api/v1/app/acme/endpoint/main/recover", map[string]any{}).wantInvalid("body", "since")
	c.call("POST", "/api/v1/app/acme/endpoint/main/send-example", map[string]any{"eventType": "order.paid"}).want(http.StatusAccepted)
	c.bad("POST", "/api/v1/app/acme/endpoint/main/send-example", map[string]any{}).wantInvalid("body", "eventType")

	// Portal access, tokens and logout.
	var access appPortalAccessOut
	c.call("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"capabilities": []string{"ViewBase", "CreateAttempts"},
		"expiry": 3600, "featureFlags": []string{"beta"}, "readOnly": false, "sessionId": "s1"}).want(http.StatusOK).decode(&access)
	c.call("POST", "/api/v1/auth/app-portal-access/acme", nil).want(http.StatusOK)
	c.call("POST", "/api/v1/auth/app/acme/expire-all", map[string]any{"expiry": 0, "sessionIds": []string{"s1"}}).want(http.StatusNoContent)
	c.call("POST", "/api/v1/auth/app/acme/expire-all", nil).want(http.StatusNoContent)
	var tok tokenOut
	c.call("POST", "/api/v1/token", map[string]any{"name": "support", "scope": "app", "appId": "acme",
		"capabilities": []string{"ViewBase"}, "readOnly": true, "expiry": 3600}).want(http.StatusCreated).decode(&tok)
	c.call("POST", "/api/v1/token", map[string]any{"name": "dashboards", "scope": "read-only"}).want(http.StatusCreated)
	c.bad("POST", "/api/v1/token", map[string]any{"name": "x"}).wantInvalid("body", "scope")
	c.call("GET", "/api/v1/token?order=descending", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/token/"+tok.ID, nil).want(http.StatusOK)
	c.call("POST", "/api/v1/auth/logout", nil, "Authorization", "Bearer "+tok.Token).want(http.StatusNoContent)
	c.call("POST", "/api/v1/auth/logout", nil).wantError(http.StatusForbidden, "forbidden")
	c.call("DELETE", "/api/v1/token/"+tok.ID, nil).want(http.StatusNoContent)
	c.call("GET", "/api/v1/token/"+tok.ID, nil).want(http.StatusOK)

	// The operator's endpoints, which filter on every operational event
	// type the document names.
	const opEP = "/api/v1/operational-webhook/endpoint"
	var op operationalOut
	c.call("POST", opEP, map[string]any{"url": "https://example.com/ops", "uid": "ops", "description": "Ops",
		"filterTypes": opwebhook.EventTypes, "throttleRate": 5, "metadata": map[string]string{"team": "sre"},
		"secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}, "idempotency-key", "op1").want(http.StatusCreated).decode(&op)
	c.call("POST", opEP, map[string]any{"url": "https://example.com/ops-2", "disabled": true}).want(http.StatusCreated)
	c.call("POST", opEP, map[string]any{"url": "https://example.com/ops", "uid": "ops"}).wantError(http.StatusConflict, "conflict")
	c.bad("POST", opEP, map[string]any{"url": "https://example.com/ops", "filterTypes": []string{"order.paid"}}).
		wantInvalid("body", "filterTypes")
	c.call("GET", opEP+"?limit=1&order=ascending", nil).want(http.StatusOK)
	c.call("GET", opEP, nil).want(http.StatusOK)
	c.bad("GET", opEP+"?limit=0", nil).wantInvalid("query", "limit")
	var reader tokenOut
	c.call("POST", "/api/v1/token", map[string]any{"name": "reader", "scope": "read-only"}).want(http.StatusCreated).decode(&reader)
	c.call("GET", opEP, nil, "Authorization", "Bearer "+reader.Token).wantError(http.StatusForbidden, "forbidden")
	c.call("GET", opEP+"/ops", nil).want(http.StatusOK)
	c.call("GET", opEP+"/"+op.ID+"x", nil).wantError(http.StatusNotFound, "not_found")
	c.call("PUT", opEP+"/ops", map[string]any{"url": "https://example.com/ops", "uid": "ops", "rateLimit": 3, "filterTypes": nil}).
		want(http.StatusOK)
	c.call("PUT", opEP+"/spare", map[string]any{"url": "https://example.com/spare"}).want(http.StatusOK)
	c.bad("PUT", opEP+"/ops", map[string]any{"url": "https://example.com/ops", "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}).
		wantInvalid("body", "secret")
	c.call("PUT", opEP+"/ops/headers", map[string]any{"headers": map[string]string{"X-Team": "sre", "Authorization": "Bearer x"}}).
		want(http.StatusNoContent)
	c.call("GET", opEP+"/ops/headers", nil).want(http.StatusOK)
	c.bad("PUT", opEP+"/ops/headers", map[string]any{}).wantInvalid("body", "headers")
	c.call("GET", opEP+"/spare/headers", nil).want(http.StatusOK)
	c.call("GET", opEP+"/ops/secret", nil).want(http.StatusOK)
	c.call("GET", opEP+"/gone/secret", nil).wantError(http.StatusNotFound, "not_found")
	c.call("POST", opEP+"/ops/secret/rotate", nil).want(http.StatusNoContent)
	c.call("POST", opEP+"/ops/secret/rotate", map[string]any{"key": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oE"}).want(http.StatusNoContent)
	c.call("POST", opEP+"/ops/secret/rotate", map[string]any{"key": "whsec_short"}).wantInvalid("body", "key")
	c.call("DELETE", opEP+"/spare", nil).want(http.StatusNoContent)
	c.call("DELETE", opEP+"/spare", nil).wantError(http.StatusNotFound, "not_found")
	c.call("DELETE", opEP+"/ops", nil).want(http.StatusNoContent)

	// Sources and what they receive.
	var src sourceOut
	c.call("POST", "/api/v1/source", map[string]any{
		"name": "GitHub", "uid": "github", "methods": []string{"POST"}, "maxBodyBytes": 1 << 20, "keepRejected": true,
		"verification": map[string]any{"scheme": "github", "secrets": []string{githubSecret}},
		"response":     map[string]any{"status": 202, "body": "ok", "contentType": "text/plain"},
		"routes": []map[string]any{
			{"type": "forward", "url": "https://example.com/hooks", "sign": true, "filter": map[string]any{"eventTypes": []string{"push"}, "match": map[string]string{"ref": "main"}}},
			{"type": "publish", "app": "acme", "eventType": "order.paid"},
			{"type": "command", "command": "ok"},
			{"id": "held", "type": "hold"},
		},
	}).want(http.StatusCreated).decode(&src)
	c.call("POST", "/api/v1/source", map[string]any{"name": "Spare", "uid": "spare", "verification": map[string]any{"scheme": "hmac",
		"secrets": []string{"a-long-enough-secret"}, "header": "X-Signature", "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="}}).
		want(http.StatusCreated)
	c.bad("POST", "/api/v1/source", map[string]any{"name": "x", "verification": map[string]any{"scheme": "nope"}}).wantInvalid("body", "verification", "scheme")
	c.call("GET", "/api/v1/source?order=ascending&limit=5", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/source/github", nil).want(http.StatusOK)
	c.call("PUT", "/api/v1/source/spare", map[string]any{"name": "Spare", "uid": "spare", "handshakes": false, "verification": nil}).want(http.StatusOK)
	c.call("PATCH", "/api/v1/source/spare", map[string]any{"name": "Spare 2", "response": nil, "routes": []map[string]any{}}).want(http.StatusOK)
	c.call("POST", "/api/v1/source/spare/token/rotate", map[string]any{"gracePeriodSeconds": 60}).want(http.StatusOK)
	c.call("GET", "/api/v1/source/spare", nil).want(http.StatusOK) // with its old URL's expiry
	c.call("POST", "/api/v1/source/spare/token/rotate", nil).want(http.StatusOK)
	c.call("DELETE", "/api/v1/source/spare", nil).want(http.StatusNoContent)

	if code := c.post(src.URL+"?a=1", "push", `{"ref":"main"}`, githubSecret); code != http.StatusAccepted {
		t.Fatalf("receive URL answered %d", code)
	}
	c.post(src.URL, "push", `{"ref":"forged"}`, "wrong")
	var reqs listOut[receivedOut]
	c.call("GET", "/api/v1/source/github/request?limit=10&event_types=push&after="+now.Add(-time.Hour).Format(time.RFC3339), nil).
		want(http.StatusOK).decode(&reqs)
	if len(reqs.Data) != 2 {
		t.Fatalf("%d received requests, want 2", len(reqs.Data))
	}
	verified, rejected := reqs.Data[1], reqs.Data[0]
	c.call("GET", "/api/v1/source/github/request?verified=false", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/source/github/request/"+verified.ID, nil).want(http.StatusOK)
	c.call("GET", "/api/v1/source/github/request/"+rejected.ID, nil).want(http.StatusOK)
	c.call("POST", "/api/v1/source/github/request/"+verified.ID+"/replay", nil).want(http.StatusAccepted)
	c.call("POST", "/api/v1/source/github/request/"+rejected.ID+"/replay", nil).wantInvalid("path", "request_id")
	c.call("GET", "/api/v1/source/github/events?limit=10", nil).want(http.StatusOK)
	c.call("GET", "/api/v1/source/github/events?after="+verified.ID+"&wait=0", nil).want(http.StatusOK)
	c.call("POST", "/api/v1/source/github/events/ack", map[string]any{"id": verified.ID}).want(http.StatusNoContent)
	c.call("GET", "/api/v1/source/github/events", nil).want(http.StatusOK)
	var plain sourceOut
	c.call("POST", "/api/v1/source", map[string]any{"name": "Plain"}).want(http.StatusCreated).decode(&plain)
	c.call("GET", "/api/v1/source/"+plain.ID+"/events", nil).wantError(http.StatusConflict, "conflict")

	// The stream: its opening, then the stored requests after the first
	// possible ID, one event each; the request ends after the second
	// flush, its first event.
	stream := &streamRecorder{ResponseRecorder: httptest.NewRecorder(), stopAfter: 2}
	r := c.send(true, stream, "GET", "/api/v1/source/github/stream?after="+hookline.FirstID(hookline.PrefixReceived), nil).want(http.StatusOK)
	events := 0
	received := c.doc.Components.Schemas["ReceivedRequestOut"].Value
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		events++
		var v any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("stream event data %q: %v", data, err)
		}
		if err := received.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("stream event does not match ReceivedRequestOut: %v", err)
		}
	}
	if events != 1 {
		t.Errorf("stream sent %d events before it ended, want 1:\n%s", events, r.Body)
	}
	c.bad("GET", "/api/v1/source/github/stream", nil, "Last-Event-ID", "bogus").wantInvalid("header", "last-event-id")

	c.call("DELETE", "/api/v1/source/github", nil).want(http.StatusNoContent)
	c.call("DELETE", "/api/v1/event-type/order.shipped", nil).want(http.StatusNoContent)
	c.call("DELETE", "/api/v1/app/acme/endpoint/main", nil).want(http.StatusNoContent)
	c.call("DELETE", "/api/v1/app/acme", nil).want(http.StatusNoContent)

	var missing []string
	for _, id := range documented(c.doc) {
		if !c.covered[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no request was sent to %d operations of openapi.json: %s", len(missing), strings.Join(missing, ", "))
	}
}

// jsonFields returns the names of the JSON fields of a struct type, those
// of embedded structs included, as encoding/json writes and reads them.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			names = append(names, jsonFields(f.Type)...)
		case name == "":
			names = append(names, f.Name)
		default:
			names = append(names, name)
		}
	}
	return names
}

// TestOpenAPIWireTypes checks that each schema of the document names the
// fields of the wire type it describes, no more and no fewer, so that a
// field added to a request or an answer is added to the document too.
func TestOpenAPIWireTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for _, tc := range []struct {
		schema string
		value  any
		// extra are properties the type reads or writes by hand, and
		// missing the fields of the type the schema leaves out.
		extra, missing []string
	}{
		{schema: "ApplicationIn", value: applicationIn{}},
		{schema: "ApplicationPatch", value: applicationPatch{}},
		{schema: "ApplicationOut", value: applicationOut{}},
		{schema: "EventTypeIn", value: eventTypeIn{}},
		{schema: "EventTypeUpdate", value: eventTypeIn{}, missing: []string{"name"}},
		{schema: "EventTypePatch", value: eventTypePatch{}},
		{schema: "EventTypeOut", value: eventTypeOut{}},
		{schema: "EndpointIn", value: endpointIn{}},
		// A PUT never changes the secret, so it does not read one.
		{schema: "EndpointUpdate", value: endpointIn{}, missing: []string{"secret"}},
		{schema: "EndpointPatch", value: endpointPatch{}},
		{schema: "EndpointOut", value: endpointOut{}},
		{schema: "EndpointHeadersOut", value: endpointHeadersOut{}},
		{schema: "RecoverOut", value: recoverOut{}},
		{schema: "OperationalWebhookEndpointIn", value: operationalIn{}},
		// A PUT refuses a secret: rotate it instead.
		{schema: "OperationalWebhookEndpointUpdate", value: operationalIn{}, missing: []string{"secret"}},
		{schema: "OperationalWebhookEndpointOut", value: operationalOut{}},
		{schema: "MessageIn", value: messageIn{}},
		{schema: "MessageOut", value: messageOut{}, extra: []string{"payload"}},
		{schema: "EndpointMessageOut", value: endpointMessageOut{}, extra: []string{"payload"}},
		{schema: "MessageEndpointOut", value: messageEndpointOut{}},
		{schema: "MessageAttemptOut", value: attemptOut{}},
		{schema: "AppPortalAccessIn", value: appPortalAccessIn{}},
		{schema: "AppPortalAccessOut", value: appPortalAccessOut{}},
		{schema: "ApplicationTokenExpireIn", value: applicationTokenExpireIn{}},
		{schema: "TokenIn", value: tokenIn{}},
		{schema: "TokenOut", value: tokenOut{}},
		{schema: "SourceIn", value: sourceIn{}},
		{schema: "SourcePatch", value: sourcePatch{}},
		{schema: "SourceOut", value: sourceOut{}},
		{schema: "SourceResponse", value: sourceResponseWire{}},
		{schema: "SourceRoute", value: routeWire{}},
		{schema: "SourceRouteFilter", value: routeFilterWire{}},
		{schema: "VerificationConfig", value: verify.Config{}},
		{schema: "SourceTokenRotateIn", value: rotateIn{}},
		{schema: "SourceEventsAckIn", value: ackIn{}},
		{schema: "ReceivedRequestOut", value: receivedOut{}},
		{schema: "ReceivedRun", value: runOut{}},
		{schema: "HttpErrorOut", value: errorBody{}},
		{schema: "HTTPValidationError", value: validationBody{}},
		{schema: "ValidationErrorItem", value: validationItem{}},
		{schema: "ListResponse_ApplicationOut_", value: listOut[applicationOut]{}},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[tc.schema]
			if ref == nil {
				t.Fatalf("openapi.json has no schema %s", tc.schema)
			}
			var documented []string
			for name := range ref.Value.Properties {
				documented = append(documented, name)
			}
			fields := slices.Concat(jsonFields(reflect.TypeOf(tc.value)), tc.extra)
			for _, f := range fields {
				if !slices.Contains(documented, f) && !slices.Contains(tc.missing, f) {
					t.Errorf("%T has field %q, which schema %s leaves out", tc.value, f, tc.schema)
				}
			}
			for _, p := range documented {
				if !slices.Contains(fields, p) {
					t.Errorf("schema %s has property %q, which %T has no field for", tc.schema, p, tc.value)
				}
			}
		})
	}
}
