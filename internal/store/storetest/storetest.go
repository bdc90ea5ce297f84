// Package storetest is the conformance suite for store.Store: every adapter
// runs Run against a fresh store and must pass all of it, so that hookline
// behaves the same on every database.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Run runs the suite. open returns a new, empty store for one test; the
// suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []suiteTest[store.Store]{
		{"Apps", testApps},
		{"AppPagination", testAppPagination},
		{"EventTypes", testEventTypes},
		{"Endpoints", testEndpoints},
		{"MessageFanOut", testMessageFanOut},
		{"PublishSeesChanges", testPublishSeesChanges},
		{"MessageEventIDDedup", testMessageEventIDDedup},
		{"MessageList", testMessageList},
		{"MessageTraceParent", testMessageTraceParent},
		{"PayloadBytes", testPayloadBytes},
		{"ClaimFinish", testClaimFinish},
		{"FinishBatch", testFinishBatch},
		{"ClaimLeaseExpiry", testClaimLeaseExpiry},
		{"ClaimExclude", testClaimExclude},
		{"ClaimMessagesApart", testClaimMessagesApart},
		{"ClaimRateLimit", testClaimRateLimit},
		{"MessageLease", testMessageLease},
		{"Release", testRelease},
		{"EndpointHealth", testEndpointHealth},
		{"ResendRecover", testResendRecover},
		{"AttemptFilters", testAttemptFilters},
		{"EndpointLists", testEndpointLists},
		{"Windows", testWindows},
		{"AppDeleteCascades", testAppDeleteCascades},
		{"Idempotency", testIdempotency},
		{"Settings", testSettings},
		{"Tokens", testTokens},
		{"TokenExpireApp", testTokenExpireApp},
		{"LoginCodes", testLoginCodes},
		{"TokenPrune", testTokenPrune},
		{"DisableFailing", testDisableFailing},
		{"Gauges", testGauges},
		{"RetentionPrune", testRetentionPrune},
		{"IdempotencyExpire", testIdempotencyExpire},
		{"ClaimConcurrent", testClaimConcurrent},
		{"PageBytes", testPageBytes},
	}
	runEach(t, open, tests)
	t.Run("Copy", func(t *testing.T) { testCopy(t, open) })
}

// suiteTest is one named test of a suite, run on a fresh store.
type suiteTest[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runEach runs each test as a subtest on a store of its own, which it
// closes afterwards.
func runEach[S interface{ Close() error }](t *testing.T, open func(t *testing.T) S, tests []suiteTest[S]) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// t0 is a fixed clock start; stored times are compared at microsecond
// precision, the finest every database keeps.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func newApp(t *testing.T, s store.Store, uid string) *hookline.App {
	t.Helper()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: uid, Name: "app " + uid, Metadata: map[string]string{}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.AppCreate(ctx, a))
	return a
}

func newEndpoint(t *testing.T, s store.Store, appID string, mod func(e *hookline.Endpoint)) *hookline.Endpoint {
	t.Helper()
	e := &hookline.Endpoint{
		ID: hookline.NewID(hookline.PrefixEndpoint), AppID: appID, URL: "https://example.com/hook", Version: 1,
		Format: hookline.FormatJSON, Metadata: map[string]string{}, Headers: map[string]string{},
		Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef01234567")}}, CreatedAt: t0, UpdatedAt: t0,
	}
	if mod != nil {
		mod(e)
	}
	must(t, s.EndpointCreate(ctx, e))
	return e
}

func publish(t *testing.T, s store.Store, appID, eventType string, channels ...string) *store.MessageCreate {
	t.Helper()
	m := &store.MessageCreate{Message: &hookline.Message{
		ID: hookline.NewID(hookline.PrefixMessage), AppID: appID, EventType: eventType, Channels: channels,
		Payload: json.RawMessage(`{"n": 1,  "s":"x"}`), CreatedAt: t0,
	}}
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{m}))
	must(t, m.Err)
	return m
}

func claim(t *testing.T, s store.Store, now time.Time, limit int, exclude ...string) []store.Task {
	t.Helper()
	tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: now, Limit: limit, LeaseUntil: now.Add(time.Minute), Exclude: exclude})
	must(t, err)
	return tasks
}

func finish(t *testing.T, s store.Store, task store.Task, status hookline.Status, at time.Time, next time.Time) *hookline.Attempt {
	t.Helper()
	d := task.Delivery
	d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = status, d.Attempts+1, next, at
	attStatus, code := hookline.StatusSuccess, 200
	if status != hookline.StatusSuccess {
		attStatus, code = hookline.StatusFail, 500
	}
	a := &hookline.Attempt{
		ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: d.AppID, MessageID: d.MessageID, EndpointID: d.EndpointID,
		URL: task.Endpoint.URL, Status: attStatus, Trigger: d.Trigger, StatusCode: code,
		ResponseHeaders: map[string][]string{"Content-Type": {"text/plain"}}, Response: "body", Duration: 1500 * time.Microsecond, CreatedAt: at,
	}
	must(t, s.DeliveryFinish(ctx, []store.Result{{Delivery: d, Attempt: a}}))
	return a
}

func testApps(t *testing.T, s store.Store) {
	rate := 10
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: "acme", Name: "Acme", RateLimit: &rate,
		Metadata: map[string]string{"tier": "gold"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.AppCreate(ctx, a))
	for _, key := range []string{a.ID, "acme"} {
		got, err := s.AppGet(ctx, key)
		must(t, err)
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("AppGet(%s) (-want +got):\n%s", key, diff)
		}
	}
	dup := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: "acme", Name: "Other", CreatedAt: t0, UpdatedAt: t0}
	wantKind(t, s.AppCreate(ctx, dup), hookline.ErrConflict)
	noUID := newApp(t, s, "")
	noUID2 := newApp(t, s, "")
	if noUID.ID == noUID2.ID {
		t.Fatal("IDs repeat")
	}

	a.Name, a.UID, a.RateLimit, a.UpdatedAt = "Acme Inc", "acme-inc", nil, t0.Add(time.Hour)
	must(t, s.AppUpdate(ctx, a))
	got, err := s.AppGet(ctx, "acme-inc")
	must(t, err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	_, err = s.AppGet(ctx, "acme")
	wantKind(t, err, hookline.ErrNotFound)
	noUID.UID = "acme-inc"
	wantKind(t, s.AppUpdate(ctx, noUID), hookline.ErrConflict)

	must(t, s.AppDelete(ctx, a.ID))
	_, err = s.AppGet(ctx, a.ID)
	wantKind(t, err, hookline.ErrNotFound)
	wantKind(t, s.AppDelete(ctx, a.ID), hookline.ErrNotFound)
	wantKind(t, s.AppUpdate(ctx, a), hookline.ErrNotFound)
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func appID(a hookline.App) string { return a.ID }

func testAppPagination(t *testing.T, s store.Store) {
	var all []string
	for i := range 7 {
		all = append(all, newApp(t, s, fmt.Sprintf("a%d", i)).ID)
	}
	slices.Sort(all)

	var got []string
	p := store.Page{Limit: 3}
	for range 5 {
		apps, done, err := s.AppList(ctx, p)
		must(t, err)
		got = append(got, ids(apps, appID)...)
		if done {
			break
		}
		p.Iterator = apps[len(apps)-1].ID
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("ascending walk (-want +got):\n%s", diff)
	}

	apps, done, err := s.AppList(ctx, store.Page{Limit: 3, Desc: true})
	must(t, err)
	if want := []string{all[6], all[5], all[4]}; !cmp.Equal(want, ids(apps, appID)) || done {
		t.Errorf("descending first page = %v done=%v, want %v", ids(apps, appID), done, want)
	}

	// Walking back from all[5] ascending yields the three before it, in
	// ascending order.
	apps, done, err = s.AppList(ctx, store.Page{Limit: 3, Iterator: all[5], Prev: true})
	must(t, err)
	if want := all[2:5]; !cmp.Equal(want, ids(apps, appID)) || done {
		t.Errorf("prev page = %v done=%v, want %v, not done", ids(apps, appID), done, want)
	}
	apps, done, err = s.AppList(ctx, store.Page{Limit: 3, Iterator: all[2], Prev: true})
	must(t, err)
	if want := all[0:2]; !cmp.Equal(want, ids(apps, appID)) || !done {
		t.Errorf("first prev page = %v done=%v, want %v, done", ids(apps, appID), done, want)
	}
}

func testEventTypes(t *testing.T, s store.Store) {
	e := &hookline.EventType{Name: "invoice.paid", Description: "An invoice was paid", Schemas: json.RawMessage(`{"1":{"type":"object"}}`), CreatedAt: t0, UpdatedAt: t0}
	must(t, s.EventTypeCreate(ctx, e))
	wantKind(t, s.EventTypeCreate(ctx, &hookline.EventType{Name: "invoice.paid", CreatedAt: t0, UpdatedAt: t0}), hookline.ErrConflict)
	got, err := s.EventTypeGet(ctx, "invoice.paid")
	must(t, err)
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	must(t, s.EventTypeCreate(ctx, &hookline.EventType{Name: "a.first", CreatedAt: t0, UpdatedAt: t0}))
	e.Archived, e.UpdatedAt = true, t0.Add(time.Minute)
	must(t, s.EventTypeUpdate(ctx, e))

	list, _, err := s.EventTypeList(ctx, store.Page{Limit: 10}, false)
	must(t, err)
	if names := ids(list, func(e hookline.EventType) string { return e.Name }); !cmp.Equal(names, []string{"a.first"}) {
		t.Errorf("without archived = %v", names)
	}
	list, _, err = s.EventTypeList(ctx, store.Page{Limit: 10}, true)
	must(t, err)
	if names := ids(list, func(e hookline.EventType) string { return e.Name }); !cmp.Equal(names, []string{"a.first", "invoice.paid"}) {
		t.Errorf("with archived = %v", names)
	}
	must(t, s.EventTypeDelete(ctx, "invoice.paid"))
	_, err = s.EventTypeGet(ctx, "invoice.paid")
	wantKind(t, err, hookline.ErrNotFound)
	wantKind(t, s.EventTypeDelete(ctx, "invoice.paid"), hookline.ErrNotFound)
	wantKind(t, s.EventTypeUpdate(ctx, e), hookline.ErrNotFound)
}

func testEndpoints(t *testing.T, s store.Store) {
	a, b := newApp(t, s, "a"), newApp(t, s, "b")
	expires := t0.Add(24 * time.Hour)
	rate := 5
	e := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) {
		e.UID, e.Description, e.RateLimit = "main", "primary", &rate
		e.EventTypes, e.Channels = []string{"invoice.paid"}, []string{"eu"}
		e.Metadata, e.Headers, e.Format = map[string]string{"k": "v"}, map[string]string{"X-Tenant": "7"}, hookline.FormatForm
		e.Secrets = append(e.Secrets, hookline.Secret{Key: []byte("old-key-old-key-old-key!"), ExpiresAt: &expires})
	})
	for _, key := range []string{e.ID, "main"} {
		got, err := s.EndpointGet(ctx, a.ID, key)
		must(t, err)
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("get %s (-want +got):\n%s", key, diff)
		}
	}
	_, err := s.EndpointGet(ctx, b.ID, e.ID)
	wantKind(t, err, hookline.ErrNotFound)
	// uids are unique per app, not globally.
	newEndpoint(t, s, b.ID, func(e *hookline.Endpoint) { e.UID = "main" })
	err = s.EndpointCreate(ctx, &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: a.ID, UID: "main", URL: "https://x.example", Version: 1, Format: hookline.FormatJSON, CreatedAt: t0, UpdatedAt: t0})
	wantKind(t, err, hookline.ErrConflict)

	failing := t0.Add(time.Hour)
	e.URL, e.Disabled, e.DisabledReason, e.FailingSince = "https://example.com/v2", true, "gone", &failing
	e.EventTypes, e.Channels, e.Headers, e.UpdatedAt = nil, nil, map[string]string{}, t0.Add(2*time.Hour)
	must(t, s.EndpointUpdate(ctx, e))
	got, err := s.EndpointGet(ctx, a.ID, e.ID)
	must(t, err)
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	e2 := newEndpoint(t, s, a.ID, nil)
	eps, done, err := s.EndpointList(ctx, a.ID, store.Page{Limit: 10})
	must(t, err)
	if got := ids(eps, func(e hookline.Endpoint) string { return e.ID }); !cmp.Equal(got, []string{e.ID, e2.ID}) || !done {
		t.Errorf("list = %v done=%v", got, done)
	}
	must(t, s.EndpointDelete(ctx, a.ID, e.ID))
	wantKind(t, s.EndpointDelete(ctx, a.ID, e.ID), hookline.ErrNotFound)
	wantKind(t, s.EndpointUpdate(ctx, e), hookline.ErrNotFound)
}

func deliveryEndpoints(m *store.MessageCreate) []string {
	out := ids(m.Deliveries, func(d hookline.Delivery) string { return d.EndpointID })
	slices.Sort(out)
	return out
}

func testMessageFanOut(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	all := newEndpoint(t, s, a.ID, nil)
	paid := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.EventTypes = []string{"invoice.paid", "invoice.void"} })
	eu := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.Channels = []string{"eu"} })
	newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.Disabled = true })
	other := newApp(t, s, "other")
	newEndpoint(t, s, other.ID, nil)

	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	tests := []struct {
		name      string
		eventType string
		channels  []string
		want      []string
	}{
		{"matching type", "invoice.paid", nil, sorted(all.ID, paid.ID)},
		{"other type", "user.created", nil, sorted(all.ID)},
		{"channel", "user.created", []string{"us", "eu"}, sorted(all.ID, eu.ID)},
		{"type and channel", "invoice.void", []string{"eu"}, sorted(all.ID, paid.ID, eu.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := publish(t, s, a.ID, tt.eventType, tt.channels...)
			if diff := cmp.Diff(tt.want, deliveryEndpoints(m)); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
			for _, d := range m.Deliveries {
				if d.Status != hookline.StatusPending || d.MessageID != m.Message.ID || d.AppID != a.ID {
					t.Errorf("delivery = %+v", d)
				}
			}
		})
	}

	// A message for one endpoint goes to it alone, even when its filters
	// would refuse the event type, and to no disabled endpoint.
	one := func(ep string) *store.MessageCreate {
		mc := &store.MessageCreate{Endpoint: ep, Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage),
			AppID: a.ID, EventType: "user.created", Payload: json.RawMessage(`{}`), CreatedAt: t0}}
		must(t, s.MessageCreate(ctx, []*store.MessageCreate{mc}))
		must(t, mc.Err)
		return mc
	}
	if got := deliveryEndpoints(one(paid.ID)); !slices.Equal(got, []string{paid.ID}) {
		t.Errorf("a message for endpoint %s went to %v", paid.ID, got)
	}
	if got := deliveryEndpoints(one(hookline.NewID(hookline.PrefixEndpoint))); len(got) != 0 {
		t.Errorf("a message for a missing endpoint went to %v", got)
	}

	missing := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: "app_missing", EventType: "x", Payload: json.RawMessage(`{}`), CreatedAt: t0}}
	ok := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", Payload: json.RawMessage(`{}`), CreatedAt: t0}}
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{missing, ok}))
	wantKind(t, missing.Err, hookline.ErrNotFound)
	must(t, ok.Err)
	if _, err := s.MessageGet(ctx, a.ID, ok.Message.ID); err != nil {
		t.Errorf("the batch's good item was not stored: %v", err)
	}
}

func testMessageEventIDDedup(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	mk := func(eventID string) *store.MessageCreate {
		return &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", EventID: eventID, Payload: json.RawMessage(`{"a":1}`), CreatedAt: t0}}
	}
	first, again, sameBatch := mk("evt-1"), mk("evt-1"), mk("evt-1")
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{first}))
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{again, sameBatch}))
	if first.Existing || len(first.Deliveries) != 1 {
		t.Errorf("first: existing=%v deliveries=%d", first.Existing, len(first.Deliveries))
	}
	for _, m := range []*store.MessageCreate{again, sameBatch} {
		if !m.Existing || m.Message.ID != first.Message.ID || len(m.Deliveries) != 0 {
			t.Errorf("repeat: existing=%v id=%s deliveries=%d, want the first message", m.Existing, m.Message.ID, len(m.Deliveries))
		}
	}
	got, err := s.MessageGet(ctx, a.ID, "evt-1")
	must(t, err)
	if got.ID != first.Message.ID {
		t.Errorf("get by event id = %s", got.ID)
	}
	// Event IDs are scoped to their app.
	b := newApp(t, s, "b")
	inB := mk("evt-1")
	inB.Message.AppID = b.ID
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{inB}))
	if inB.Existing {
		t.Error("an event ID of another app counted as a duplicate")
	}

	// A batch larger than a store writes in one statement, with an event
	// ID new to the store twice in it: the second finds the first.
	c := newApp(t, s, "c")
	newEndpoint(t, s, c.ID, nil)
	newEndpoint(t, s, c.ID, nil)
	var batch []*store.MessageCreate
	for i := range 70 {
		m := mk("")
		m.Message.AppID = c.ID
		if i == 5 || i == 40 {
			m.Message.EventID = "evt-batch"
		}
		batch = append(batch, m)
	}
	must(t, s.MessageCreate(ctx, batch))
	for i, m := range batch {
		must(t, m.Err)
		switch {
		case i == 40:
			if !m.Existing || m.Message.ID != batch[5].Message.ID {
				t.Errorf("second evt-batch: existing=%v id=%s, want message %s", m.Existing, m.Message.ID, batch[5].Message.ID)
			}
		case m.Existing || len(m.Deliveries) != 2:
			t.Errorf("message %d: existing=%v deliveries=%d, want new with 2", i, m.Existing, len(m.Deliveries))
		}
	}
	msgs, _, err := s.MessageList(ctx, c.ID, store.MessageFilter{Page: store.Page{Limit: 100}})
	must(t, err)
	if len(msgs) != 69 {
		t.Errorf("%d messages stored, want 69", len(msgs))
	}
	due := 0
	for _, task := range claim(t, s, t0, 300) {
		if task.Delivery.AppID == c.ID {
			due++
		}
	}
	if due != 2*69 {
		t.Errorf("%d deliveries due, want %d", due, 2*69)
	}
}

func testMessageList(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	var msgs []*hookline.Message
	var clock idClock // IDs of the times the messages were created, as the window filter expects
	for i, et := range []string{"a.one", "b.two", "a.one", "c.three"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		m := &hookline.Message{ID: clock.at(t, hookline.PrefixMessage, at), AppID: a.ID, EventType: et, Payload: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`), CreatedAt: at}
		if i%2 == 1 {
			m.Channels = []string{"eu"}
		}
		must(t, s.MessageCreate(ctx, []*store.MessageCreate{{Message: m}}))
		msgs = append(msgs, m)
	}
	ids := func(ms []hookline.Message) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.ID
		}
		return out
	}
	after := t0.Add(30 * time.Second)
	before := t0.Add(150 * time.Second)
	tests := []struct {
		name string
		f    store.MessageFilter
		want []string
	}{
		{"newest first", store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}}, []string{msgs[3].ID, msgs[2].ID, msgs[1].ID, msgs[0].ID}},
		{"event types", store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}, EventTypes: []string{"a.one", "c.three"}}, []string{msgs[3].ID, msgs[2].ID, msgs[0].ID}},
		{"channel", store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}, Channel: "eu"}, []string{msgs[3].ID, msgs[1].ID}},
		{"window", store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}, Window: store.Window{After: &after, Before: &before}}, []string{msgs[2].ID, msgs[1].ID}},
		{"second page", store.MessageFilter{Page: store.Page{Limit: 2, Desc: true, Iterator: msgs[2].ID}}, []string{msgs[1].ID, msgs[0].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.MessageList(ctx, a.ID, tt.f)
			must(t, err)
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	got, err := s.MessageGet(ctx, a.ID, msgs[1].ID)
	must(t, err)
	if diff := cmp.Diff(msgs[1], got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	// Across apps: by ID, and every app's messages, newest first.
	mf, ok := s.(store.MessageFinder)
	if !ok {
		return
	}
	other := newApp(t, s, "other")
	om := &hookline.Message{ID: clock.at(t, hookline.PrefixMessage, t0.Add(5*time.Minute)), AppID: other.ID, EventType: "a.one",
		Payload: json.RawMessage(`{}`), CreatedAt: t0.Add(5 * time.Minute)}
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{{Message: om}}))
	found, err := mf.MessageFind(ctx, om.ID)
	must(t, err)
	if found.AppID != other.ID {
		t.Errorf("found %+v", found)
	}
	_, err = mf.MessageFind(ctx, "msg_missing")
	wantKind(t, err, hookline.ErrNotFound)
	all, done, err := mf.MessageListAll(ctx, store.MessageFilter{Page: store.Page{Limit: 3, Desc: true}})
	must(t, err)
	if diff := cmp.Diff([]string{om.ID, msgs[3].ID, msgs[2].ID}, ids(all)); diff != "" || done {
		t.Errorf("every app's messages (-want +got):\n%s (done %v)", diff, done)
	}
	all, _, err = mf.MessageListAll(ctx, store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}, EventTypes: []string{"a.one"}})
	must(t, err)
	if diff := cmp.Diff([]string{om.ID, msgs[2].ID, msgs[0].ID}, ids(all)); diff != "" {
		t.Errorf("every app's a.one messages (-want +got):\n%s", diff)
	}
}

func testClaimFinish(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	e := newEndpoint(t, s, a.ID, nil)
	m := publish(t, s, a.ID, "x")

	if tasks := claim(t, s, t0.Add(-time.Second), 10); len(tasks) != 0 {
		t.Fatalf("claimed %d deliveries before they were due", len(tasks))
	}
	tasks := claim(t, s, t0, 10)
	if len(tasks) != 1 {
		t.Fatalf("claimed %d, want 1", len(tasks))
	}
	task := tasks[0]
	if task.Delivery.ID != m.Deliveries[0].ID || task.Delivery.Status != hookline.StatusSending {
		t.Errorf("claimed %+v", task.Delivery)
	}
	if diff := cmp.Diff(m.Message, task.Message); diff != "" {
		t.Errorf("task message (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(e, task.Endpoint); diff != "" {
		t.Errorf("task endpoint (-want +got):\n%s", diff)
	}
	if again := claim(t, s, t0.Add(time.Second), 10); len(again) != 0 {
		t.Fatalf("a leased delivery was claimed twice")
	}

	retryAt := t0.Add(5 * time.Second)
	a1 := finish(t, s, task, hookline.StatusPending, t0.Add(time.Millisecond), retryAt)
	if got := claim(t, s, retryAt.Add(-time.Millisecond), 10); len(got) != 0 {
		t.Fatal("claimed before the retry was due")
	}
	tasks = claim(t, s, retryAt, 10)
	if len(tasks) != 1 || tasks[0].Delivery.Attempts != 1 {
		t.Fatalf("retry claim = %+v", tasks)
	}
	a2 := finish(t, s, tasks[0], hookline.StatusSuccess, retryAt.Add(time.Millisecond), time.Time{})
	if got := claim(t, s, t0.Add(time.Hour), 10); len(got) != 0 {
		t.Fatal("a finished delivery was claimed")
	}

	atts, done, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: store.Page{Limit: 10, Desc: true}, MessageID: m.Message.ID})
	must(t, err)
	if diff := cmp.Diff([]hookline.Attempt{*a2, *a1}, atts); diff != "" || !done {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	got, err := s.AttemptGet(ctx, a.ID, m.Message.ID, a1.ID)
	must(t, err)
	if diff := cmp.Diff(a1, got); diff != "" {
		t.Errorf("attempt get (-want +got):\n%s", diff)
	}
	_, err = s.AttemptGet(ctx, a.ID, "msg_other", a1.ID)
	wantKind(t, err, hookline.ErrNotFound)

	eps, _, err := s.MessageEndpointList(ctx, a.ID, m.Message.ID, store.Page{Limit: 10})
	must(t, err)
	if len(eps) != 1 || eps[0].Endpoint.ID != e.ID || eps[0].Delivery.Status != hookline.StatusSuccess || eps[0].Delivery.Attempts != 2 {
		t.Errorf("message endpoints = %+v", eps)
	}
	msgs, _, err := s.EndpointMessageList(ctx, a.ID, e.ID, store.EndpointMessageFilter{Page: store.Page{Limit: 10, Desc: true}})
	must(t, err)
	if len(msgs) != 1 || msgs[0].Message.ID != m.Message.ID || msgs[0].Delivery.Status != hookline.StatusSuccess {
		t.Errorf("endpoint messages = %+v", msgs)
	}
	pending := hookline.StatusPending
	msgs, _, err = s.EndpointMessageList(ctx, a.ID, e.ID, store.EndpointMessageFilter{Page: store.Page{Limit: 10}, Status: &pending})
	must(t, err)
	if len(msgs) != 0 {
		t.Errorf("status filter kept %d messages", len(msgs))
	}
}

// testFinishBatch finishes many deliveries in one call, as the
// dispatcher's result writer does: successes, retries and results without
// an attempt, and one delivery twice, whose last result must stand.
func testFinishBatch(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	const n = 75
	for range n {
		publish(t, s, a.ID, "x")
	}
	tasks := claim(t, s, t0, 2*n)
	if len(tasks) != n {
		t.Fatalf("claimed %d, want %d", len(tasks), n)
	}
	at, retryAt := t0.Add(time.Millisecond), t0.Add(5*time.Second)
	var results []store.Result
	wantStatus := map[string]hookline.Status{}
	var wantAttempts []*hookline.Attempt
	for i, task := range tasks {
		d := task.Delivery
		d.Attempts, d.UpdatedAt = d.Attempts+1, at
		d.Status, d.NextAttempt = hookline.StatusSuccess, time.Time{}
		code, attStatus := 200, hookline.StatusSuccess
		if i%2 == 1 {
			d.Status, d.NextAttempt, code, attStatus = hookline.StatusPending, retryAt, 503, hookline.StatusFail
		}
		r := store.Result{Delivery: d}
		if i%10 != 9 {
			r.Attempt = &hookline.Attempt{
				ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: d.AppID, MessageID: d.MessageID,
				EndpointID: d.EndpointID, URL: task.Endpoint.URL, Status: attStatus, StatusCode: code,
				ResponseHeaders: map[string][]string{"X-N": {fmt.Sprint(i)}}, Response: fmt.Sprint("body ", i),
				Duration: time.Duration(i+1) * time.Millisecond, CreatedAt: at,
			}
			wantAttempts = append(wantAttempts, r.Attempt)
		}
		results = append(results, r)
		wantStatus[d.ID] = d.Status
	}
	// The first delivery again, now to be retried: the later result wins.
	again := results[0].Delivery
	again.Status, again.NextAttempt = hookline.StatusPending, retryAt
	results = append(results, store.Result{Delivery: again})
	wantStatus[again.ID] = hookline.StatusPending
	must(t, s.DeliveryFinish(ctx, results))

	var wantRetried []string
	for id, st := range wantStatus {
		if st == hookline.StatusPending {
			wantRetried = append(wantRetried, id)
		}
	}
	if got := claim(t, s, retryAt.Add(-time.Millisecond), 2*n); len(got) != 0 {
		t.Fatalf("claimed %d deliveries before their retry was due", len(got))
	}
	retried := ids(claim(t, s, retryAt, 2*n), func(t store.Task) string { return t.Delivery.ID })
	slices.Sort(retried)
	slices.Sort(wantRetried)
	if diff := cmp.Diff(wantRetried, retried); diff != "" {
		t.Errorf("deliveries due again (-want +got):\n%s", diff)
	}
	atts, _, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: store.Page{Limit: 2 * n}})
	must(t, err)
	if len(atts) != len(wantAttempts) {
		t.Fatalf("%d attempts recorded, want %d", len(atts), len(wantAttempts))
	}
	for _, want := range wantAttempts {
		got, err := s.AttemptGet(ctx, a.ID, want.MessageID, want.ID)
		must(t, err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("attempt %s (-want +got):\n%s", want.ID, diff)
		}
	}
}

func testClaimLeaseExpiry(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	m := publish(t, s, a.ID, "x")
	tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: t0, Limit: 10, LeaseUntil: t0.Add(30 * time.Second)})
	must(t, err)
	if len(tasks) != 1 {
		t.Fatalf("claimed %d", len(tasks))
	}
	// The worker holding the lease died: once the lease lapses the
	// delivery is due again.
	if got := claim(t, s, t0.Add(29*time.Second), 10); len(got) != 0 {
		t.Fatal("claimed while the lease held")
	}
	got := claim(t, s, t0.Add(30*time.Second), 10)
	if len(got) != 1 || got[0].Delivery.ID != m.Deliveries[0].ID {
		t.Fatalf("after lease expiry claimed %+v", got)
	}
}

func testClaimExclude(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	slow := newEndpoint(t, s, a.ID, nil)
	fast := newEndpoint(t, s, a.ID, nil)
	for range 3 {
		publish(t, s, a.ID, "x")
	}
	tasks := claim(t, s, t0, 10, slow.ID)
	if len(tasks) != 3 {
		t.Fatalf("claimed %d, want the 3 for the fast endpoint", len(tasks))
	}
	for _, task := range tasks {
		if task.Delivery.EndpointID != fast.ID {
			t.Errorf("claimed a delivery of an excluded endpoint")
		}
	}
	if n := len(claim(t, s, t0, 2)); n != 2 {
		t.Errorf("limit 2 claimed %d", n)
	}
}

// The rate limits of limitedApp: the app's, and its second endpoint's own.
const limitedAppRate, limitedEndpointRate = 7, 3

// limitedApp creates an app with a rate limit and two endpoints: one that
// inherits the app's limit and one with a limit of its own.
func limitedApp(t *testing.T, s store.Store, uid string) (a *hookline.App, inherits, ownLimit *hookline.Endpoint) {
	t.Helper()
	appRate, own := limitedAppRate, limitedEndpointRate
	a = newApp(t, s, uid)
	a.RateLimit = &appRate
	must(t, s.AppUpdate(ctx, a))
	inherits = newEndpoint(t, s, a.ID, nil)
	ownLimit = newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.RateLimit = &own })
	return a, inherits, ownLimit
}

func testClaimRateLimit(t *testing.T, s store.Store) {
	a, inherits, ownLimit := limitedApp(t, s, "limited")
	appRate, own := limitedAppRate, limitedEndpointRate
	b := newApp(t, s, "free")
	unlimited := newEndpoint(t, s, b.ID, nil)
	publish(t, s, a.ID, "x")
	publish(t, s, b.ID, "x")
	want := map[string]*int{inherits.ID: &appRate, ownLimit.ID: &own, unlimited.ID: nil}
	tasks := claim(t, s, t0, 10)
	if len(tasks) != 3 {
		t.Fatalf("claimed %d, want 3", len(tasks))
	}
	for _, task := range tasks {
		if diff := cmp.Diff(want[task.Delivery.EndpointID], task.RateLimit); diff != "" {
			t.Errorf("rate limit of %s (-want +got):\n%s", task.Delivery.EndpointID, diff)
		}
	}
}

func testRelease(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	publish(t, s, a.ID, "x")
	publish(t, s, a.ID, "x")
	tasks := claim(t, s, t0, 10)
	must(t, s.DeliveryRelease(ctx, []string{tasks[0].Delivery.ID}))
	got := claim(t, s, t0, 10)
	if len(got) != 1 || got[0].Delivery.ID != tasks[0].Delivery.ID {
		t.Fatalf("after release claimed %+v, want the released one", got)
	}
}

func testEndpointHealth(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	e := newEndpoint(t, s, a.ID, nil)
	for range 3 {
		publish(t, s, a.ID, "x")
	}
	tasks := claim(t, s, t0, 10)
	fail1, fail2 := t0.Add(time.Second), t0.Add(2*time.Second)
	finish(t, s, tasks[0], hookline.StatusPending, fail1, t0.Add(time.Hour))
	finish(t, s, tasks[1], hookline.StatusPending, fail2, t0.Add(time.Hour))
	got, err := s.EndpointGet(ctx, a.ID, e.ID)
	must(t, err)
	if got.FailingSince == nil || !got.FailingSince.Equal(fail1) {
		t.Errorf("failing since = %v, want the first failure %v", got.FailingSince, fail1)
	}
	troubled := func() (failing, disabled []string) {
		t.Helper()
		tl, ok := s.(store.TroubleLister)
		if !ok {
			return nil, nil
		}
		f, d, err := tl.EndpointTroubleList(ctx, 10)
		must(t, err)
		return ids(f, func(e hookline.Endpoint) string { return e.ID }), ids(d, func(e hookline.Endpoint) string { return e.ID })
	}
	if _, ok := s.(store.TroubleLister); ok {
		if f, d := troubled(); !slices.Equal(f, []string{e.ID}) || len(d) != 0 {
			t.Errorf("trouble list: failing %v, disabled %v; want %s failing", f, d, e.ID)
		}
	}
	finish(t, s, tasks[2], hookline.StatusSuccess, t0.Add(3*time.Second), time.Time{})
	got, err = s.EndpointGet(ctx, a.ID, e.ID)
	must(t, err)
	if got.FailingSince != nil {
		t.Errorf("failing since = %v after a success, want nil", got.FailingSince)
	}

	m := publish(t, s, a.ID, "x")
	task := claim(t, s, t0, 10)[0]
	d := task.Delivery
	d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = hookline.StatusFail, 1, time.Time{}, t0
	must(t, s.DeliveryFinish(ctx, []store.Result{{Delivery: d, DisableEndpoint: "the endpoint answered 410 Gone"}}))
	got, err = s.EndpointGet(ctx, a.ID, e.ID)
	must(t, err)
	if !got.Disabled || got.DisabledReason != "the endpoint answered 410 Gone" {
		t.Errorf("disabled=%v reason=%q", got.Disabled, got.DisabledReason)
	}
	if _, ok := s.(store.TroubleLister); ok {
		if f, d := troubled(); len(f) != 0 || !slices.Equal(d, []string{e.ID}) {
			t.Errorf("trouble list: failing %v, disabled %v; want %s disabled", f, d, e.ID)
		}
	}
	atts, _, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: store.Page{Limit: 10}, MessageID: m.Message.ID})
	must(t, err)
	if len(atts) != 0 {
		t.Errorf("a result without an attempt stored %d attempts", len(atts))
	}
	if m2 := publish(t, s, a.ID, "x"); len(m2.Deliveries) != 0 {
		t.Errorf("a disabled endpoint got %d new deliveries", len(m2.Deliveries))
	}
}

func testResendRecover(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	e := newEndpoint(t, s, a.ID, nil)
	m := publish(t, s, a.ID, "x")
	old := publish(t, s, a.ID, "x")
	for _, task := range claim(t, s, t0, 10) {
		finish(t, s, task, hookline.StatusFail, t0, time.Time{})
	}

	d := &hookline.Delivery{AppID: a.ID, MessageID: m.Message.ID, EndpointID: e.ID, Status: hookline.StatusPending, Trigger: hookline.TriggerManual,
		NextAttempt: t0.Add(time.Minute), CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)}
	must(t, s.DeliveryCreate(ctx, d))
	if d.ID != m.Deliveries[0].ID {
		t.Errorf("resend made a second delivery %s, want the existing %s reset", d.ID, m.Deliveries[0].ID)
	}
	tasks := claim(t, s, t0.Add(time.Minute), 10)
	if len(tasks) != 1 || tasks[0].Delivery.Trigger != hookline.TriggerManual || tasks[0].Delivery.Attempts != 0 {
		t.Fatalf("after resend claimed %+v", tasks)
	}
	finish(t, s, tasks[0], hookline.StatusSuccess, t0.Add(time.Minute), time.Time{})
	wantKind(t, s.DeliveryCreate(ctx, &hookline.Delivery{AppID: a.ID, MessageID: "msg_missing", EndpointID: e.ID, CreatedAt: t0, UpdatedAt: t0}), hookline.ErrNotFound)

	// A resend while the message is being sent is not undone by the
	// result of that send: it is sent again.
	must(t, s.DeliveryCreate(ctx, &hookline.Delivery{AppID: a.ID, MessageID: m.Message.ID, EndpointID: e.ID, Status: hookline.StatusPending,
		Trigger: hookline.TriggerManual, NextAttempt: t0.Add(time.Minute), CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)}))
	inFlight := claim(t, s, t0.Add(time.Minute), 10)
	if len(inFlight) != 1 {
		t.Fatalf("claimed %d, want the resent one", len(inFlight))
	}
	must(t, s.DeliveryCreate(ctx, &hookline.Delivery{AppID: a.ID, MessageID: m.Message.ID, EndpointID: e.ID, Status: hookline.StatusPending,
		Trigger: hookline.TriggerManual, NextAttempt: t0.Add(time.Minute), CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)}))
	finish(t, s, inFlight[0], hookline.StatusSuccess, t0.Add(time.Minute), time.Time{})
	again := claim(t, s, t0.Add(time.Minute), 10)
	if len(again) != 1 || again[0].Delivery.MessageID != m.Message.ID {
		t.Fatalf("after a resend during a send, claimed %+v, want the message again", again)
	}
	// A superseded result, of a send the dispatcher knows was queued again
	// meanwhile, leaves the delivery claimed for the next send.
	sup := store.Result{Delivery: again[0].Delivery, Superseded: true}
	sup.Delivery.Status, sup.Delivery.NextAttempt = hookline.StatusFail, time.Time{}
	must(t, s.DeliveryFinish(ctx, []store.Result{sup}))
	if got := claim(t, s, t0.Add(time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %d after a superseded result, want the delivery still held", len(got))
	}
	finish(t, s, again[0], hookline.StatusSuccess, t0.Add(time.Minute), time.Time{})

	// A new endpoint can be sent an old message.
	late := newEndpoint(t, s, a.ID, nil)
	must(t, s.DeliveryCreate(ctx, &hookline.Delivery{AppID: a.ID, MessageID: old.Message.ID, EndpointID: late.ID, Status: hookline.StatusPending, NextAttempt: t0, CreatedAt: t0, UpdatedAt: t0}))

	before := t0.Add(-time.Second)
	n, err := s.DeliveryRecover(ctx, a.ID, e.ID, store.Window{After: &before}, t0.Add(2*time.Minute))
	must(t, err)
	if n != 1 {
		t.Errorf("recovered %d, want the one still failed", n)
	}
	tasks = claim(t, s, t0.Add(2*time.Minute), 10)
	got := ids(tasks, func(t store.Task) string { return t.Delivery.MessageID + "/" + t.Delivery.EndpointID })
	slices.Sort(got)
	want := []string{old.Message.ID + "/" + e.ID, old.Message.ID + "/" + late.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("due after recover (-want +got):\n%s", diff)
	}
}

func testAttemptFilters(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	e1, e2 := newEndpoint(t, s, a.ID, nil), newEndpoint(t, s, a.ID, nil)
	mA := publish(t, s, a.ID, "a.type", "eu")
	mB := publish(t, s, a.ID, "b.type")
	byKey := map[string]*hookline.Attempt{}
	for _, task := range claim(t, s, t0, 10) {
		status := hookline.StatusSuccess
		if task.Delivery.EndpointID == e2.ID {
			status = hookline.StatusFail
		}
		byKey[task.Delivery.MessageID+task.Delivery.EndpointID] = finish(t, s, task, status, t0, time.Time{})
	}
	fail, ok := hookline.StatusFail, hookline.StatusSuccess
	tests := []struct {
		name string
		f    store.AttemptFilter
		want []*hookline.Attempt
	}{
		{"by endpoint", store.AttemptFilter{EndpointID: e1.ID}, []*hookline.Attempt{byKey[mA.Message.ID+e1.ID], byKey[mB.Message.ID+e1.ID]}},
		{"by message and status", store.AttemptFilter{MessageID: mA.Message.ID, Status: &fail}, []*hookline.Attempt{byKey[mA.Message.ID+e2.ID]}},
		{"by code class", store.AttemptFilter{MessageID: mB.Message.ID, StatusCodeClass: 500}, []*hookline.Attempt{byKey[mB.Message.ID+e2.ID]}},
		{"no response class", store.AttemptFilter{MessageID: mB.Message.ID, StatusCodeClass: 1}, nil},
		{"event type", store.AttemptFilter{EndpointID: e2.ID, EventTypes: []string{"b.type"}}, []*hookline.Attempt{byKey[mB.Message.ID+e2.ID]}},
		{"channel", store.AttemptFilter{EndpointID: e1.ID, Channel: "eu", Status: &ok}, []*hookline.Attempt{byKey[mA.Message.ID+e1.ID]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Page = store.Page{Limit: 10}
			got, _, err := s.AttemptList(ctx, a.ID, tt.f)
			must(t, err)
			var want []hookline.Attempt
			for _, a := range tt.want {
				want = append(want, *a)
			}
			slices.SortFunc(want, func(x, y hookline.Attempt) int { return strings.Compare(x.ID, y.ID) })
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// testEndpointLists pages through the messages and the attempts of each
// endpoint when they were written in batches whose ID ranges overlap and
// interleave with other endpoints' rows, and when old messages were sent
// to an endpoint one by one, newest first; then recovers and deletes one
// endpoint's deliveries without touching the others'.
func testEndpointLists(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	all := newEndpoint(t, s, a.ID, nil)
	some := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.EventTypes = []string{"b"} })
	late := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.EventTypes = []string{"none"} })
	msgIDs := make([]string, 24)
	for i := range msgIDs {
		msgIDs[i] = hookline.NewID(hookline.PrefixMessage)
	}
	want := map[string][]string{}
	// Some batches take ranges of their own, some overlap or hold another.
	// Batch b is created b minutes after t0.
	for b, batch := range [][]int{{0, 1, 2}, {3, 4, 5, 6}, {8, 7, 9}, {10, 12}, {11, 13, 14}, {15, 16, 17, 18, 19}, {20, 23}, {22, 21}} {
		var items []*store.MessageCreate
		for _, i := range batch {
			eventType := "a"
			if i%3 == 0 {
				eventType = "b"
			}
			items = append(items, &store.MessageCreate{Message: &hookline.Message{
				ID: msgIDs[i], AppID: a.ID, EventType: eventType, Payload: json.RawMessage(`{}`), CreatedAt: t0.Add(time.Duration(b) * time.Minute),
			}})
		}
		must(t, s.MessageCreate(ctx, items))
	}
	for i, id := range msgIDs {
		want[all.ID] = append(want[all.ID], id)
		if i%3 == 0 {
			want[some.ID] = append(want[some.ID], id)
		}
	}
	for _, i := range []int{17, 4} {
		must(t, s.DeliveryCreate(ctx, &hookline.Delivery{AppID: a.ID, MessageID: msgIDs[i], EndpointID: late.ID,
			Status: hookline.StatusPending, NextAttempt: t0, CreatedAt: t0, UpdatedAt: t0}))
	}
	want[late.ID] = []string{msgIDs[4], msgIDs[17]}
	// Sent again, the newest message keeps its one delivery.
	must(t, s.DeliveryCreate(ctx, &hookline.Delivery{AppID: a.ID, MessageID: msgIDs[23], EndpointID: all.ID,
		Status: hookline.StatusPending, NextAttempt: t0, CreatedAt: t0, UpdatedAt: t0}))

	// Attempt IDs made in order, written in batches that take them from
	// across the range.
	tasks := claim(t, s, t0.Add(time.Hour), 100)
	if len(tasks) != 24+8+2 {
		t.Fatalf("claimed %d deliveries, want %d", len(tasks), 24+8+2)
	}
	results := make([]store.Result, len(tasks))
	wantAttempts := map[string][]string{}
	for i, task := range tasks {
		d := task.Delivery
		status := hookline.StatusSuccess
		if d.EndpointID == some.ID {
			status = hookline.StatusFail
		}
		d.Status, d.Attempts, d.UpdatedAt = status, 1, t0
		att := &hookline.Attempt{ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: d.AppID, MessageID: d.MessageID,
			EndpointID: d.EndpointID, URL: task.Endpoint.URL, Status: status, StatusCode: 200, CreatedAt: t0}
		results[i] = store.Result{Delivery: d, Attempt: att}
		wantAttempts[d.EndpointID] = append(wantAttempts[d.EndpointID], att.ID)
	}
	for _, batch := range [][2]int{{10, 20}, {0, 5}, {25, len(results)}, {5, 10}, {20, 25}} {
		must(t, s.DeliveryFinish(ctx, results[batch[0]:batch[1]]))
	}

	for _, e := range []*hookline.Endpoint{all, some, late} {
		msgs := func(p store.Page) ([]string, bool, error) {
			got, done, err := s.EndpointMessageList(ctx, a.ID, e.ID, store.EndpointMessageFilter{Page: p})
			return ids(got, func(m store.MessageStatus) string { return m.Message.ID }), done, err
		}
		checkWalks(t, "messages of "+e.ID, msgs, want[e.ID])
		atts := func(p store.Page) ([]string, bool, error) {
			got, done, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: p, EndpointID: e.ID})
			return ids(got, func(a hookline.Attempt) string { return a.ID }), done, err
		}
		checkWalks(t, "attempts of "+e.ID, atts, wantAttempts[e.ID])
	}

	// Filters apply within the spans.
	failed, succeeded := hookline.StatusFail, hookline.StatusSuccess
	for _, c := range []struct {
		e      *hookline.Endpoint
		status *hookline.Status
		want   []string
	}{{all, &succeeded, want[all.ID]}, {some, &failed, want[some.ID]}, {some, &succeeded, nil}} {
		checkWalks(t, fmt.Sprintf("messages of %s with status %d", c.e.ID, *c.status), func(p store.Page) ([]string, bool, error) {
			got, done, err := s.EndpointMessageList(ctx, a.ID, c.e.ID, store.EndpointMessageFilter{Page: p, Status: c.status})
			return ids(got, func(m store.MessageStatus) string { return m.Message.ID }), done, err
		}, c.want)
	}
	checkWalks(t, "messages of type b of "+all.ID, func(p store.Page) ([]string, bool, error) {
		got, done, err := s.EndpointMessageList(ctx, a.ID, all.ID, store.EndpointMessageFilter{Page: p, EventTypes: []string{"b"}})
		return ids(got, func(m store.MessageStatus) string { return m.Message.ID }), done, err
	}, want[some.ID])
	checkWalks(t, "failed attempts of "+some.ID, func(p store.Page) ([]string, bool, error) {
		got, done, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: p, EndpointID: some.ID, Status: &failed})
		return ids(got, func(a hookline.Attempt) string { return a.ID }), done, err
	}, wantAttempts[some.ID])
	// An iterator that is not one of the list's own items.
	got, _, err := s.EndpointMessageList(ctx, a.ID, some.ID, store.EndpointMessageFilter{Page: store.Page{Limit: 2, Iterator: msgIDs[1]}})
	must(t, err)
	if ids := ids(got, func(m store.MessageStatus) string { return m.Message.ID }); !cmp.Equal(ids, []string{msgIDs[3], msgIDs[6]}) {
		t.Errorf("messages of %s after %s = %v, want %v", some.ID, msgIDs[1], ids, []string{msgIDs[3], msgIDs[6]})
	}

	// Recovery within a window: the deliveries of batches 4 and later.
	after := t0.Add(3*time.Minute + 30*time.Second)
	n, err := s.DeliveryRecover(ctx, a.ID, some.ID, store.Window{After: &after}, t0.Add(time.Hour))
	must(t, err)
	if want := 3; n != want { // messages 15 and 18 (batch 5) and 21 (batch 7)
		t.Errorf("recovered %d deliveries created after %v, want %d", n, after, want)
	}
	n, err = s.DeliveryRecover(ctx, a.ID, some.ID, store.Window{}, t0.Add(time.Hour))
	must(t, err)
	if want := len(want[some.ID]) - 3; n != want {
		t.Errorf("recovered %d deliveries, want the %d still failed", n, want)
	}
	must(t, s.EndpointDelete(ctx, a.ID, some.ID))
	if got := claim(t, s, t0.Add(time.Hour), 100); len(got) != 0 {
		t.Errorf("after deleting the endpoint, %d deliveries are due, want none", len(got))
	}
	got, _, err = s.EndpointMessageList(ctx, a.ID, some.ID, store.EndpointMessageFilter{Page: store.Page{Limit: 50}})
	must(t, err)
	if len(got) != 0 {
		t.Errorf("a deleted endpoint lists %d messages", len(got))
	}
	checkWalks(t, "messages of "+all.ID+" after deleting another endpoint", func(p store.Page) ([]string, bool, error) {
		got, done, err := s.EndpointMessageList(ctx, a.ID, all.ID, store.EndpointMessageFilter{Page: p})
		return ids(got, func(m store.MessageStatus) string { return m.Message.ID }), done, err
	}, want[all.ID])
}

// checkWalks walks a list three pages at a time up, down, and back up
// from its end with Prev, and compares each walk with want, in ascending
// order.
func checkWalks(t *testing.T, what string, list func(store.Page) ([]string, bool, error), want []string) {
	t.Helper()
	walk := func(p store.Page) []string {
		var got []string
		for range len(want) + 2 {
			page, done, err := list(p)
			must(t, err)
			if p.Prev {
				got = append(slices.Clone(page), got...)
			} else {
				got = append(got, page...)
			}
			if done || len(page) == 0 {
				return got
			}
			if p.Prev {
				p.Iterator = page[0]
			} else {
				p.Iterator = page[len(page)-1]
			}
		}
		t.Fatalf("%s: the walk did not end", what)
		return nil
	}
	if diff := cmp.Diff(want, walk(store.Page{Limit: 3})); diff != "" {
		t.Errorf("%s, ascending (-want +got):\n%s", what, diff)
	}
	down := slices.Clone(want)
	slices.Reverse(down)
	if diff := cmp.Diff(down, walk(store.Page{Limit: 3, Desc: true})); diff != "" {
		t.Errorf("%s, descending (-want +got):\n%s", what, diff)
	}
	if len(want) == 0 {
		return
	}
	back := walk(store.Page{Limit: 3, Iterator: want[len(want)-1], Prev: true})
	if diff := cmp.Diff(want[:len(want)-1], back); diff != "" {
		t.Errorf("%s, walking back (-want +got):\n%s", what, diff)
	}
	back = walk(store.Page{Limit: 3, Iterator: want[0], Prev: true, Desc: true})
	if diff := cmp.Diff(down[:len(down)-1], back); diff != "" {
		t.Errorf("%s, walking back, descending (-want +got):\n%s", what, diff)
	}
}

func testAppDeleteCascades(t *testing.T, s store.Store) {
	a, keep := newApp(t, s, "a"), newApp(t, s, "keep")
	newEndpoint(t, s, a.ID, nil)
	newEndpoint(t, s, keep.ID, nil)
	tried := publish(t, s, a.ID, "x")
	for _, task := range claim(t, s, t0, 10) {
		finish(t, s, task, hookline.StatusPending, t0, t0)
	}
	publish(t, s, a.ID, "x")
	kept := publish(t, s, keep.ID, "x")
	must(t, s.AppDelete(ctx, a.ID))
	if atts, _, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{MessageID: tried.Message.ID, Page: store.Page{Limit: 10}}); err != nil || len(atts) != 0 {
		t.Errorf("after deleting an app, its attempts are still listed: %d, %v", len(atts), err)
	}
	tasks := claim(t, s, t0, 10)
	if len(tasks) != 1 || tasks[0].Delivery.MessageID != kept.Message.ID {
		t.Errorf("after deleting an app, due deliveries = %+v, want only the other app's", tasks)
	}
	if _, _, err := s.EndpointList(ctx, a.ID, store.Page{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := s.MessageList(ctx, a.ID, store.MessageFilter{Page: store.Page{Limit: 10}})
	must(t, err)
	if len(msgs) != 0 {
		t.Errorf("%d messages of a deleted app remain", len(msgs))
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	resp, err := s.IdempotencyBegin(ctx, "k1", t0)
	must(t, err)
	if resp != nil {
		t.Fatalf("a new key replayed %+v", resp)
	}
	_, err = s.IdempotencyBegin(ctx, "k1", t0.Add(time.Second))
	wantKind(t, err, hookline.ErrConflict)
	saved := &store.IdempotentResponse{Status: 201, Body: []byte(`{"id":"app_1"}`)}
	must(t, s.IdempotencyEnd(ctx, "k1", saved))
	resp, err = s.IdempotencyBegin(ctx, "k1", t0.Add(time.Hour))
	must(t, err)
	if diff := cmp.Diff(saved, resp); diff != "" {
		t.Errorf("replay (-want +got):\n%s", diff)
	}
	resp, err = s.IdempotencyBegin(ctx, "k1", t0.Add(25*time.Hour))
	must(t, err)
	if resp != nil {
		t.Errorf("an expired key replayed %+v", resp)
	}

	// A failed request releases its key for a retry.
	_, err = s.IdempotencyBegin(ctx, "k2", t0)
	must(t, err)
	must(t, s.IdempotencyEnd(ctx, "k2", nil))
	resp, err = s.IdempotencyBegin(ctx, "k2", t0)
	if err != nil || resp != nil {
		t.Errorf("after release: %+v, %v", resp, err)
	}
}

func testSettings(t *testing.T, s store.Store) {
	_, err := s.SettingGet(ctx, "admin_token_hash")
	wantKind(t, err, hookline.ErrNotFound)
	must(t, s.SettingPut(ctx, "admin_token_hash", "one"))
	must(t, s.SettingPut(ctx, "admin_token_hash", "two"))
	got, err := s.SettingGet(ctx, "admin_token_hash")
	must(t, err)
	if got != "two" {
		t.Errorf("setting = %q", got)
	}

	// SettingInit: the first value set stays, and every caller learns it,
	// however many race for it.
	stored, err := s.SettingInit(ctx, "admin_token_hash", "three")
	must(t, err)
	if stored != "two" {
		t.Errorf("init of a set setting = %q, want the value it had", stored)
	}
	results := make([]string, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.SettingInit(ctx, "race", fmt.Sprintf("node-%d", i))
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	wg.Wait()
	got, err = s.SettingGet(ctx, "race")
	must(t, err)
	won := 0
	for i, v := range results {
		if v != got {
			t.Errorf("caller %d was told %q, but %q is stored", i, v, got)
		}
		if v == fmt.Sprintf("node-%d", i) {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d callers' values won, want 1", won)
	}
}

// testMessageLease publishes under a lease: the store must honour the
// lease's limit and exclusions, return tasks ready to send, and keep the
// leased deliveries from claims until the lease lapses.
// testMessageTraceParent checks that a message keeps the traceparent it
// was published with, for its deliveries to join the publisher's trace,
// and that a message published without one reads back without one.
func testMessageTraceParent(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traced := &store.MessageCreate{Message: &hookline.Message{
		ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", Payload: json.RawMessage(`{}`), TraceParent: tp, CreatedAt: t0,
	}}
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{traced}))
	must(t, traced.Err)
	plain := publish(t, s, a.ID, "x")
	want := map[string]string{traced.Message.ID: tp, plain.Message.ID: ""}
	for id, tp := range want {
		m, err := s.MessageGet(ctx, a.ID, id)
		must(t, err)
		if m.TraceParent != tp {
			t.Errorf("message %s reads back with traceparent %q, want %q", id, m.TraceParent, tp)
		}
	}
	tasks := claim(t, s, t0, 10)
	if len(tasks) != 2 {
		t.Fatalf("claimed %d deliveries, want 2", len(tasks))
	}
	for _, task := range tasks {
		if got := task.Message.TraceParent; got != want[task.Message.ID] {
			t.Errorf("claimed delivery of message %s has traceparent %q, want %q", task.Message.ID, got, want[task.Message.ID])
		}
	}
}

func testMessageLease(t *testing.T, s store.Store) {
	a, inherits, ownLimit := limitedApp(t, s, "a")
	appRate, own := limitedAppRate, limitedEndpointRate
	excluded := newEndpoint(t, s, a.ID, nil)
	until := t0.Add(time.Minute)
	lease := &store.Lease{Until: until, Limit: 3, Exclude: []string{excluded.ID}}
	var batch []*store.MessageCreate
	for range 2 {
		batch = append(batch, &store.MessageCreate{Lease: lease, Message: &hookline.Message{
			ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", Payload: json.RawMessage(`{"n":1}`), CreatedAt: t0,
		}})
	}
	must(t, s.MessageCreate(ctx, batch))

	leased := map[string]bool{}
	for _, item := range batch {
		must(t, item.Err)
		if len(item.Deliveries) != 3 {
			t.Fatalf("created %d deliveries, want one per endpoint", len(item.Deliveries))
		}
		for _, task := range item.Tasks {
			d := task.Delivery
			leased[d.ID] = true
			if d.Status != hookline.StatusSending || d.MessageID != item.Message.ID {
				t.Errorf("leased task %s: status %v of message %s, want sending, of %s", d.ID, d.Status, d.MessageID, item.Message.ID)
			}
			if task.Message == nil || task.Message.ID != d.MessageID || task.Endpoint == nil || task.Endpoint.ID != d.EndpointID {
				t.Fatalf("leased task %s lacks its message or endpoint: %+v", d.ID, task)
			}
			want := map[string]*int{inherits.ID: &appRate, ownLimit.ID: &own}[d.EndpointID]
			if diff := cmp.Diff(want, task.RateLimit); diff != "" {
				t.Errorf("rate limit of a task for %s (-want +got):\n%s", d.EndpointID, diff)
			}
			if d.EndpointID == excluded.ID {
				t.Errorf("leased a delivery to an excluded endpoint")
			}
		}
	}
	if len(leased) != lease.Limit {
		t.Errorf("leased %d deliveries, want the lease's limit, %d (4 were eligible)", len(leased), lease.Limit)
	}
	// Claims see only what was not leased, until the lease lapses.
	pending, err := s.DeliveryClaim(ctx, store.Claim{Now: t0, Limit: 100, LeaseUntil: until.Add(time.Hour)})
	must(t, err)
	if len(pending) != 6-len(leased) {
		t.Errorf("claimed %d deliveries while the lease held, want the %d not leased", len(pending), 6-len(leased))
	}
	for _, task := range pending {
		if leased[task.Delivery.ID] {
			t.Errorf("claimed leased delivery %s while its lease held", task.Delivery.ID)
		}
	}
	if again := claim(t, s, until, 100); len(again) != len(leased) {
		t.Errorf("after the lease lapsed claimed %d, want the %d leased ones", len(again), len(leased))
	}
}

// testClaimMessagesApart checks that the tasks of one claim do not keep one
// another's messages: the dispatcher keeps some of a claim's tasks and
// hands the others back when their payloads do not fit in its memory, and
// those it keeps must not hold the payloads of the others.
func testClaimMessagesApart(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	for range 3 {
		publish(t, s, a.ID, "x")
	}
	tasks := claim(t, s, t0.Add(time.Minute), 10)
	if len(tasks) != 3 {
		t.Fatalf("%d deliveries claimed, want 3", len(tasks))
	}
	others := []weak.Pointer[hookline.Message]{weak.Make(tasks[1].Message), weak.Make(tasks[2].Message)}
	kept := tasks[0].Message
	tasks = nil
	runtime.GC()
	for i, w := range others {
		if w.Value() != nil {
			t.Errorf("message of task %d still reachable from the one task kept", i+1)
		}
	}
	runtime.KeepAlive(kept)
}
