package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// FullStore is a store with both halves, outbound and inbound.
type FullStore interface {
	store.Store
	store.InboundStore
}

// RunInbound runs the inbound part of the suite. open returns a new, empty
// store for one test; the suite closes it.
func RunInbound(t *testing.T, open func(t *testing.T) FullStore) {
	tests := []suiteTest[FullStore]{
		{"Sources", testSources},
		{"TokenRotation", testTokenRotation},
		{"ReceivedRoutes", testReceivedRoutes},
		{"ReceivedDedup", testReceivedDedup},
		{"Runs", testRuns},
		{"Cursor", testCursor},
		{"ReceivedWindows", testReceivedWindows},
		{"ReceivedBytes", testReceivedBytes},
		{"ReceivedPageBytes", testReceivedPageBytes},
	}
	runEach(t, open, tests)
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func newSource(t *testing.T, s FullStore, uid string, routes ...hookline.Route) *hookline.Source {
	t.Helper()
	src := &hookline.Source{
		ID: hookline.NewID(hookline.PrefixSource), UID: uid, Name: "source " + uid, TokenHash: tokenHash("token-" + uid),
		Methods: []string{"POST"}, MaxBodyBytes: 1 << 20, Verification: json.RawMessage(`{"scheme":"github","secrets":["s"]}`),
		Response: hookline.DefaultSourceResponse, Routes: routes, CreatedAt: t0, UpdatedAt: t0,
	}
	must(t, s.SourceCreate(ctx, src))
	return src
}

func newReceived(src *hookline.Source, deliveryID string, verified bool) *hookline.Received {
	return &hookline.Received{
		ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: "POST", Path: "/in/x", Query: "a=1",
		Headers: map[string][]string{"Content-Type": {"application/json"}, "X-Github-Event": {"push"}},
		Body:    []byte(`{"ref":"main"}`), RemoteAddr: "127.0.0.1:5555", Verified: verified, View: json.RawMessage(`{"ref":"main"}`),
		EventType: "push", DeliveryID: deliveryID, CreatedAt: t0,
	}
}

func testSources(t *testing.T, s FullStore) {
	src := newSource(t, s, "gh", hookline.Route{ID: "rt_1", Type: hookline.RouteHold, Filter: hookline.RouteFilter{EventTypes: []string{"push"}}})
	for _, key := range []string{src.ID, "gh"} {
		got, err := s.SourceGet(ctx, key)
		must(t, err)
		if diff := cmp.Diff(src, got); diff != "" {
			t.Errorf("get %s (-want +got):\n%s", key, diff)
		}
	}
	got, err := s.SourceByToken(ctx, tokenHash("token-gh"), t0)
	must(t, err)
	if got.ID != src.ID {
		t.Errorf("by token = %s", got.ID)
	}
	_, err = s.SourceByToken(ctx, tokenHash("nope"), t0)
	wantKind(t, err, hookline.ErrNotFound)
	dup := *src
	dup.ID, dup.TokenHash = hookline.NewID(hookline.PrefixSource), tokenHash("other")
	wantKind(t, s.SourceCreate(ctx, &dup), hookline.ErrConflict)

	src.Name, src.Methods, src.KeepRejected, src.Handshakes, src.UpdatedAt = "renamed", []string{"GET", "POST"}, true, true, t0.Add(time.Hour)
	src.Response = hookline.SourceResponse{Status: http.StatusAccepted, Body: "ok", ContentType: "text/plain"}
	must(t, s.SourceUpdate(ctx, src))
	got, err = s.SourceGet(ctx, src.ID)
	must(t, err)
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	other := newSource(t, s, "other")
	list, done, err := s.SourceList(ctx, store.Page{Limit: 1})
	must(t, err)
	if len(list) != 1 || list[0].ID != src.ID || done {
		t.Errorf("first page = %v done=%v", ids(list, func(s hookline.Source) string { return s.ID }), done)
	}
	orphan := &hookline.Run{ID: hookline.NewID(hookline.PrefixRun), SourceID: other.ID, RouteID: "r", Command: "c", NextAttempt: t0, UpdatedAt: t0}
	x := newReceived(other, "", true)
	orphan.ReceivedID = x.ID
	must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x, Runs: []*hookline.Run{orphan}}))
	must(t, s.SourceDelete(ctx, other.ID))
	if runs, err := s.RunClaim(ctx, store.RunClaim{Now: t0.Add(time.Hour), Limit: 10, LeaseUntil: t0.Add(2 * time.Hour)}); err != nil || len(runs) != 0 {
		t.Errorf("after deleting a source, its runs are still claimed: %v, %v", runs, err)
	}
	wantKind(t, s.SourceDelete(ctx, other.ID), hookline.ErrNotFound)
	reqs, _, err := s.ReceivedList(ctx, other.ID, store.ReceivedFilter{Page: store.Page{Limit: 10}})
	must(t, err)
	if len(reqs) != 0 {
		t.Errorf("%d requests of a deleted source remain", len(reqs))
	}
}

func testTokenRotation(t *testing.T, s FullStore) {
	src := newSource(t, s, "rot")
	expires := t0.Add(time.Hour)
	src.PrevTokenHash, src.PrevTokenExpires, src.TokenHash = src.TokenHash, &expires, tokenHash("new")
	must(t, s.SourceUpdate(ctx, src))
	for _, tc := range []struct {
		token string
		at    time.Time
		found bool
	}{
		{"new", t0, true},
		{"token-rot", t0.Add(59 * time.Minute), true},
		{"token-rot", t0.Add(time.Hour), false},
	} {
		_, err := s.SourceByToken(ctx, tokenHash(tc.token), tc.at)
		if (err == nil) != tc.found {
			t.Errorf("token %s at %v: err=%v, want found=%v", tc.token, tc.at, err, tc.found)
		}
	}
}

func testReceivedRoutes(t *testing.T, s FullStore) {
	src := newSource(t, s, "routes")
	app := newApp(t, s, "target")
	ep := newEndpoint(t, s, app.ID, nil)
	x := newReceived(src, "d-1", true)
	raw := &store.MessageCreate{Message: &hookline.Message{
		ID: hookline.NewID(hookline.PrefixMessage), AppID: app.ID, EventType: "push", Payload: x.Body,
		ContentType: "application/x-www-form-urlencoded", Headers: map[string][]string{"X-Hub-Signature-256": {"sha256=ab"}}, CreatedAt: t0,
	}}
	run := &hookline.Run{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: "rt_cmd", Command: "deploy", NextAttempt: t0, UpdatedAt: t0}
	rc := &store.Receive{Received: x, Messages: []*store.MessageCreate{raw}, Runs: []*hookline.Run{run}}
	must(t, s.ReceivedCreate(ctx, rc))
	if rc.Duplicate || len(raw.Deliveries) != 1 || raw.Deliveries[0].EndpointID != ep.ID {
		t.Fatalf("duplicate=%v deliveries=%+v", rc.Duplicate, raw.Deliveries)
	}
	got, err := s.ReceivedGet(ctx, src.ID, x.ID)
	must(t, err)
	if diff := cmp.Diff(x, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	msg, err := s.MessageGet(ctx, app.ID, raw.Message.ID)
	must(t, err)
	if diff := cmp.Diff(raw.Message, msg); diff != "" {
		t.Errorf("raw message (-want +got):\n%s", diff)
	}
	tasks := claim(t, s, t0, 10)
	if len(tasks) != 1 || tasks[0].Message.ContentType != raw.Message.ContentType {
		t.Errorf("claimed %+v", tasks)
	}
	runs, err := s.RunList(ctx, x.ID)
	must(t, err)
	if len(runs) != 1 || runs[0].Command != "deploy" || runs[0].Status != hookline.RunPending {
		t.Errorf("runs = %+v", runs)
	}

	rejected := newReceived(src, "d-2", false)
	rejected.VerifyError = "no matching signature"
	must(t, s.ReceivedCreate(ctx, &store.Receive{Received: rejected}))
	all, _, err := s.ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: store.Page{Limit: 10}})
	must(t, err)
	verified, _, err := s.ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: store.Page{Limit: 10}, VerifiedOnly: true})
	must(t, err)
	if len(all) != 2 || len(verified) != 1 || verified[0].ID != x.ID {
		t.Errorf("all=%d verified=%d", len(all), len(verified))
	}
}

func testReceivedDedup(t *testing.T, s FullStore) {
	src := newSource(t, s, "dedup")
	// A forged request carrying a real delivery ID is kept but does not
	// take the ID from the genuine one that follows.
	forged := newReceived(src, "d-1", false)
	must(t, s.ReceivedCreate(ctx, &store.Receive{Received: forged}))
	first := newReceived(src, "d-1", true)
	rc := &store.Receive{Received: first}
	must(t, s.ReceivedCreate(ctx, rc))
	if rc.Duplicate {
		t.Fatal("an unverified request made the genuine one a duplicate")
	}
	again := &store.Receive{Received: newReceived(src, "d-1", true), Runs: []*hookline.Run{{ID: hookline.NewID(hookline.PrefixRun), SourceID: src.ID, RouteID: "r", Command: "c", NextAttempt: t0, UpdatedAt: t0}}}
	must(t, s.ReceivedCreate(ctx, again))
	if !again.Duplicate || again.Received.ID != first.ID {
		t.Errorf("retry: duplicate=%v id=%s, want the first %s", again.Duplicate, again.Received.ID, first.ID)
	}
	if runs, _ := s.RunClaim(ctx, store.RunClaim{Now: t0, Limit: 10, LeaseUntil: t0.Add(time.Minute)}); len(runs) != 0 {
		t.Errorf("a duplicate queued %d runs", len(runs))
	}
	// No delivery ID: nothing to compare, every request is new.
	for range 2 {
		rc := &store.Receive{Received: newReceived(src, "", true)}
		must(t, s.ReceivedCreate(ctx, rc))
		if rc.Duplicate {
			t.Error("a request without a delivery ID counted as a duplicate")
		}
	}
}

func testRuns(t *testing.T, s FullStore) {
	src := newSource(t, s, "runs")
	x := newReceived(src, "", true)
	run := &hookline.Run{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: "rt", Command: "deploy", NextAttempt: t0, UpdatedAt: t0}
	must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x, Runs: []*hookline.Run{run}}))
	claimRuns := func(now time.Time) []hookline.Run {
		runs, err := s.RunClaim(ctx, store.RunClaim{Now: now, Limit: 10, LeaseUntil: now.Add(time.Minute)})
		must(t, err)
		return runs
	}
	runs := claimRuns(t0)
	if len(runs) != 1 || runs[0].Status != hookline.RunRunning {
		t.Fatalf("claimed %+v", runs)
	}
	if again := claimRuns(t0.Add(time.Second)); len(again) != 0 {
		t.Fatal("a leased run was claimed twice")
	}
	r := runs[0]
	r.Status, r.Attempts, r.NextAttempt, r.ExitCode, r.Output, r.UpdatedAt = hookline.RunPending, 1, t0.Add(10*time.Second), 3, "boom", t0
	must(t, s.RunFinish(ctx, &r))
	if got := claimRuns(t0.Add(5 * time.Second)); len(got) != 0 {
		t.Fatal("claimed before the retry was due")
	}
	runs = claimRuns(t0.Add(10 * time.Second))
	if len(runs) != 1 || runs[0].Attempts != 1 {
		t.Fatalf("retry claimed %+v", runs)
	}
	r = runs[0]
	r.Status, r.Attempts, r.NextAttempt, r.ExitCode, r.Output = hookline.RunSucceeded, 2, time.Time{}, 0, "done"
	must(t, s.RunFinish(ctx, &r))
	replay := &hookline.Run{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: "rt", Command: "deploy", NextAttempt: t0.Add(time.Hour), UpdatedAt: t0}
	must(t, s.RunCreate(ctx, []*hookline.Run{replay}))
	if got := claimRuns(t0.Add(time.Hour)); len(got) != 1 || got[0].ID != replay.ID {
		t.Errorf("after RunCreate claimed %+v, want the replay", got)
	}
	list, err := s.RunList(ctx, x.ID)
	must(t, err)
	if len(list) != 2 || list[0].Status != hookline.RunSucceeded || list[0].Output != "done" || !list[0].NextAttempt.IsZero() {
		t.Errorf("runs = %+v", list)
	}
	if got := claimRuns(t0.Add(time.Hour)); len(got) != 0 {
		t.Error("a finished run was claimed")
	}
}

func testCursor(t *testing.T, s FullStore) {
	src := newSource(t, s, "cursor")
	cur, err := s.SourceCursorGet(ctx, src.ID)
	must(t, err)
	if cur != "" {
		t.Errorf("new cursor = %q", cur)
	}
	a, b := newReceived(src, "", true), newReceived(src, "", true)
	must(t, s.SourceCursorPut(ctx, src.ID, b.ID))
	must(t, s.SourceCursorPut(ctx, src.ID, a.ID)) // never moves back
	cur, err = s.SourceCursorGet(ctx, src.ID)
	must(t, err)
	if cur != b.ID {
		t.Errorf("cursor = %q, want %q", cur, b.ID)
	}
	wantKind(t, s.SourceCursorPut(ctx, "src_missing", a.ID), hookline.ErrNotFound)
}

// clearPathToken is the receive token in the paths that ClearTokenPaths
// stores.
const clearPathToken = "k3q7x2m9vd5wz8hc4tyfnb6ajr"

// ClearTokenPaths stores received requests whose paths hold their receive
// token in clear, as versions before the token was masked stored them, for
// a test of the migration that masks them. It returns the token and the
// requests' source ID, for WantMaskedPaths.
func ClearTokenPaths(t *testing.T, s FullStore) (token, sourceID string) {
	t.Helper()
	src := newSource(t, s, "clear")
	for i, p := range []string{"/in/" + clearPathToken, "/in/" + clearPathToken + "/more/parts", "/in/****"} {
		x := newReceived(src, "", i != 1)
		x.Path = p
		must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x}))
	}
	return clearPathToken, src.ID
}

// WantMaskedPaths checks that the requests ClearTokenPaths stored show
// their paths masked, and nothing else of them changed.
func WantMaskedPaths(t *testing.T, s FullStore, sourceID string) {
	t.Helper()
	list, _, err := s.ReceivedList(ctx, sourceID, store.ReceivedFilter{Page: store.Page{Limit: 10}})
	must(t, err)
	var paths []string
	for _, x := range list {
		paths = append(paths, x.Path)
		if x.Query != "a=1" || string(x.Body) != `{"ref":"main"}` || x.EventType != "push" {
			t.Errorf("request %s changed: %+v", x.ID, x)
		}
	}
	if want := []string{"/in/****", "/in/****/more/parts", "/in/****"}; !cmp.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}
