package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/health"
	"github.com/hookline/hookline/internal/store"
)

// RunFull checks what a store does when it runs out of space: a publish
// is refused with an error of kind hookline.ErrStorageFull and leaves
// nothing behind, the store's Checker reports the refusal until a write
// succeeds, and the store takes the same publish once there is room again.
//
// fill makes st refuse, for want of space, every write that stores more
// than it holds now, each adapter in its own way (a full disk cannot be
// had on demand); the function it returns makes room again.
func RunFull(t *testing.T, open func(t *testing.T) store.Store, fill func(t *testing.T, st store.Store) (undo func())) {
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	ck, ok := s.(store.Checker)
	if !ok {
		t.Fatalf("%T is not a store.Checker", s)
	}
	a := newApp(t, s, "full")
	newEndpoint(t, s, a.ID, nil)
	must(t, ck.Ping(ctx))
	if at, err := ck.WriteFault(); err != nil || !at.IsZero() {
		t.Fatalf("WriteFault() of a new store = %v, %v; want none", at, err)
	}

	undo := fill(t, s)
	// A payload larger than a page, so that storing it must take room.
	payload := json.RawMessage(`{"pad":"` + string(bytes.Repeat([]byte("x"), 64<<10)) + `"}`)
	m := &store.MessageCreate{Message: &hookline.Message{
		ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "full.test", Payload: payload, CreatedAt: t0,
	}}
	err := s.MessageCreate(ctx, []*store.MessageCreate{m})
	if err == nil {
		err = m.Err
	}
	if !errors.Is(err, hookline.ErrStorageFull) {
		t.Fatalf("publish to a full store: err = %v, want one of kind %v", err, hookline.ErrStorageFull)
	}
	if errors.Is(err, hookline.ErrUnavailable) {
		t.Errorf("err = %v is of kind %v too", err, hookline.ErrUnavailable)
	}
	if _, err := s.MessageGet(ctx, a.ID, m.Message.ID); !errors.Is(err, hookline.ErrNotFound) {
		t.Errorf("the refused message was stored: MessageGet err = %v", err)
	}
	if at, err := ck.WriteFault(); !errors.Is(err, hookline.ErrStorageFull) || at.IsZero() {
		t.Errorf("WriteFault() after a refusal = %v, %v; want the refusal", at, err)
	}
	// Reads go on while writes are refused, but the node is not ready.
	must(t, ck.Ping(ctx))
	if r := health.New(health.Options{Store: ck}).Ready(ctx); !slices.Equal(r.Failing, []string{health.CheckWrites}) {
		t.Errorf("readiness after a refusal: %+v, want writes failing", r)
	}

	undo()
	m.Err, m.Deliveries, m.Tasks = nil, nil, nil
	must(t, s.MessageCreate(ctx, []*store.MessageCreate{m}))
	must(t, m.Err)
	if len(m.Deliveries) != 1 {
		t.Errorf("publish after making room created %d deliveries, want 1", len(m.Deliveries))
	}
	got, err := s.MessageGet(ctx, a.ID, m.Message.ID)
	must(t, err)
	if !bytes.Equal(got.Payload, payload) {
		t.Errorf("stored payload differs from the one published")
	}
	if at, err := ck.WriteFault(); err != nil || !at.IsZero() {
		t.Errorf("WriteFault() after a write succeeded = %v, %v; want none", at, err)
	}
	if r := health.New(health.Options{Store: ck}).Ready(ctx); !r.Ready() {
		t.Errorf("readiness after a write succeeded: %+v, want ready", r)
	}
}
