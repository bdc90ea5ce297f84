package ops

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// Each source operation decides access itself: the read-only scope reads
// and changes nothing, an app's access reaches no source.
func TestSourceOperationsRequireAccess(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in := inbound.New(inbound.Options{Store: st, PublicURL: "https://hooks.example.com"})
	s := New(Options{Store: st, Inbound: in})
	admin := hookline.AdminAccess()
	hold := func(src *hookline.Source) error {
		src.Name, src.Response = "ci", hookline.DefaultSourceResponse
		src.Routes = []hookline.Route{{ID: "r1", Type: hookline.RouteHold}}
		return nil
	}
	src, u, err := s.SourceCreate(ctx, admin, hold)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) < len("https://hooks.example.com/in/")+20 {
		t.Fatalf("receive URL %q", u)
	}
	x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: "POST", Path: "/in/****",
		Body: []byte(`{"a":1}`), View: []byte(`{"a":1}`), Verified: true, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := st.ReceivedCreate(ctx, &store.Receive{Received: x}); err != nil {
		t.Fatal(err)
	}

	readOnly := &hookline.Access{Scope: hookline.ScopeReadOnly, ReadOnly: true, Capabilities: []hookline.Capability{hookline.CapViewBase}}
	app := &hookline.Access{Scope: hookline.ScopeApp, AppID: "app_x", Capabilities: hookline.AppCapabilities}
	q := ReceivedQuery{ReceivedFilter: store.ReceivedFilter{Page: store.Page{Limit: 10, Desc: true}}}
	ops := map[string]struct {
		writes bool
		do     func(acc *hookline.Access) error
	}{
		"list": {false, func(acc *hookline.Access) error {
			_, _, err := s.SourceList(ctx, acc, store.Page{Limit: 10})
			return err
		}},
		"get": {false, func(acc *hookline.Access) error { _, err := s.Source(ctx, acc, src.ID); return err }},
		"received": {false, func(acc *hookline.Access) error {
			_, _, err := s.ReceivedList(ctx, acc, src.ID, q)
			return err
		}},
		"request": {false, func(acc *hookline.Access) error { _, _, _, err := s.Received(ctx, acc, src.ID, x.ID); return err }},
		"count":   {false, func(acc *hookline.Access) error { _, err := s.ReplayCount(ctx, acc, src.ID, q); return err }},
		"create":  {true, func(acc *hookline.Access) error { _, _, err := s.SourceCreate(ctx, acc, hold); return err }},
		"rotate":  {true, func(acc *hookline.Access) error { _, _, err := s.SourceRotate(ctx, acc, src.ID, nil); return err }},
		"replay":  {true, func(acc *hookline.Access) error { return s.Replay(ctx, acc, src.ID, x.ID) }},
		"replay matching": {true, func(acc *hookline.Access) error {
			_, err := s.ReplayMatching(ctx, acc, src.ID, q)
			return err
		}},
	}
	for name, op := range ops {
		if err := op.do(app); !errors.Is(err, hookline.ErrForbidden) {
			t.Errorf("%s by an app's access: %v, want forbidden", name, err)
		}
		err := op.do(readOnly)
		if op.writes != errors.Is(err, hookline.ErrForbidden) || !op.writes && err != nil {
			t.Errorf("%s by read-only access: %v", name, err)
		}
		if err := op.do(admin); err != nil {
			t.Errorf("%s by admin: %v", name, err)
		}
	}

	// A rotation's grace is bounded; the old URL works for it.
	long := MaxTokenGrace + time.Second
	if _, _, err := s.SourceRotate(ctx, admin, src.ID, &long); !errors.Is(err, hookline.ErrInvalid) {
		t.Errorf("a rotation with a grace of %v: %v", long, err)
	}
	src, _, err = s.SourceRotate(ctx, admin, src.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src.PrevTokenExpires == nil || src.PrevTokenExpires.Sub(src.UpdatedAt) != DefaultTokenGrace {
		t.Errorf("the old URL works until %v, rotated at %v", src.PrevTokenExpires, src.UpdatedAt)
	}

	// Replays are counted, and bounded by the filter.
	n, err := s.ReplayCount(ctx, admin, src.ID, ReceivedQuery{Path: "a", PathValue: "1"})
	if err != nil || n.Count != 1 || n.More {
		t.Errorf("count of a=1: %+v, %v", n, err)
	}
	n, err = s.ReplayCount(ctx, admin, src.ID, ReceivedQuery{Path: "a", PathValue: "2"})
	if err != nil || n.Count != 0 {
		t.Errorf("count of a=2: %+v, %v", n, err)
	}
}
