package opwebhook_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
	"github.com/hookline/hookline/internal/store/storetest"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// stop stops em, which publishes what is queued.
func stop(t *testing.T, em *opwebhook.Emitter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := em.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestEmitterPublishes checks that events become messages of the
// reserved app, with a delivery to each of the operator's endpoints, in
// Svix's {type, data} shape and with the app's uid filled in.
func TestEmitterPublishes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, a := range []*hookline.App{
		{ID: opwebhook.AppID, Name: opwebhook.AppName, CreatedAt: now, UpdatedAt: now},
		{ID: hookline.NewID(hookline.PrefixApp), UID: "acme", Name: "Acme", CreatedAt: now, UpdatedAt: now},
	} {
		if err := st.AppCreate(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	acme, err := st.AppGet(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	op := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: opwebhook.AppID, URL: "http://127.0.0.1:9/",
		Version: 1, Format: hookline.FormatJSON, Secrets: []hookline.Secret{{Key: make([]byte, 24)}}, CreatedAt: now, UpdatedAt: now}
	if err := st.EndpointCreate(ctx, op); err != nil {
		t.Fatal(err)
	}
	wakes := 0
	em := opwebhook.New(opwebhook.Options{Store: st, Wake: func() { wakes++ }})
	if err := em.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ep := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: acme.ID, UID: "main"}
	em.Emit(opwebhook.Endpoint(opwebhook.EndpointCreated, ep))
	em.Emit(opwebhook.EndpointDisabledBy(ep, true))
	stop(t, em)
	em.Emit(opwebhook.Endpoint(opwebhook.EndpointDeleted, ep)) // after Stop: dropped

	if em.Published() != 2 || em.Dropped() != 1 || wakes == 0 {
		t.Errorf("published %d, dropped %d, wakes %d; want 2, 1, some", em.Published(), em.Dropped(), wakes)
	}
	msgs, _, err := st.MessageList(ctx, opwebhook.AppID, store.MessageFilter{Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, m := range msgs {
		var p map[string]any
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p["type"] != m.EventType {
			t.Errorf("payload type %v, event type %s", p["type"], m.EventType)
		}
		got = append(got, p)
	}
	want := []map[string]any{
		{"type": "endpoint.created", "data": map[string]any{"appId": acme.ID, "appUid": "acme", "endpointId": ep.ID, "endpointUid": "main"}},
		{"type": "endpoint.disabled", "data": map[string]any{"appId": acme.ID, "appUid": "acme", "endpointId": ep.ID, "endpointUid": "main",
			"failSince": nil, "trigger": "manual"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
	dls, _, err := st.EndpointMessageList(ctx, opwebhook.AppID, op.ID, store.EndpointMessageFilter{Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Errorf("%d deliveries to the operator's endpoint, want 2", len(dls))
	}
}

// TestEmitterWithoutEndpoints checks that events find nobody listening
// before the operator made an endpoint, and that a full queue drops.
func TestEmitterWithoutEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	em := opwebhook.New(opwebhook.Options{Store: st, Queue: 1})
	ep := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: hookline.NewID(hookline.PrefixApp)}
	em.Emit(opwebhook.Endpoint(opwebhook.EndpointCreated, ep))
	em.Emit(opwebhook.Endpoint(opwebhook.EndpointUpdated, ep)) // the queue holds one
	if err := em.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop(t, em)
	if em.Published() != 0 || em.Dropped() != 1 {
		t.Errorf("published %d, dropped %d; want 0, 1", em.Published(), em.Dropped())
	}
	if _, err := st.AppGet(ctx, opwebhook.AppID); err == nil {
		t.Error("publishing made the reserved app")
	}
}

// TestEmitterIDsWithinLag checks that the messages the emitter publishes
// are named within hookline.IDLag of their creation time, which lists with
// a before bound rely on to start their walk below it (see
// hookline.IDCeiling).
func TestEmitterIDsWithinLag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	now := time.Now()
	if err := st.AppCreate(ctx, &hookline.App{ID: opwebhook.AppID, Name: opwebhook.AppName, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	em := opwebhook.New(opwebhook.Options{Store: st})
	if err := em.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ep := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: hookline.NewID(hookline.PrefixApp), UID: "main"}
	em.Emit(opwebhook.Endpoint(opwebhook.EndpointCreated, ep))
	em.Emit(opwebhook.EndpointDisabledBy(ep, false))
	stop(t, em)
	msgs, _, err := st.MessageList(ctx, opwebhook.AppID, store.MessageFilter{Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages published, want 2", len(msgs))
	}
	for _, m := range msgs {
		storetest.WantIDLag(t, hookline.PrefixMessage, m.ID, m.CreatedAt)
	}
}
