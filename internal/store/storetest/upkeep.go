package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

func maintainer(t *testing.T, s store.Store) store.Maintainer {
	t.Helper()
	m, ok := s.(store.Maintainer)
	if !ok {
		t.Fatalf("%T does not implement store.Maintainer", s)
	}
	return m
}

func testDisableFailing(t *testing.T, s store.Store) {
	m := maintainer(t, s)
	lead, err := m.TryLead(ctx)
	must(t, err)
	if !lead {
		t.Fatal("the only process using the store is not the leader")
	}
	a := newApp(t, s, "a")
	old, recent := t0.Add(-6*24*time.Hour), t0.Add(-time.Hour)
	stale := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.FailingSince, e.UID = &old, "stale" })
	fresh := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.FailingSince = &recent })
	healthy := newEndpoint(t, s, a.ID, nil)
	off := newEndpoint(t, s, a.ID, func(e *hookline.Endpoint) { e.FailingSince, e.Disabled = &old, true })

	ids, err := m.EndpointDisableFailing(ctx, t0.Add(-5*24*time.Hour), "no successful delivery for 5 days")
	must(t, err)
	want := []hookline.Endpoint{{ID: stale.ID, AppID: a.ID, UID: stale.UID, FailingSince: &old, Disabled: true,
		DisabledReason: "no successful delivery for 5 days"}}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("disabled (-want +got):\n%s", diff)
	}
	for _, e := range []*hookline.Endpoint{stale, fresh, healthy, off} {
		got, err := s.EndpointGet(ctx, a.ID, e.ID)
		must(t, err)
		wantOff := e == stale || e == off
		if got.Disabled != wantOff {
			t.Errorf("endpoint %s disabled=%v, want %v", e.ID, got.Disabled, wantOff)
		}
	}
	got, err := s.EndpointGet(ctx, a.ID, stale.ID)
	must(t, err)
	if got.DisabledReason != "no successful delivery for 5 days" {
		t.Errorf("reason = %q", got.DisabledReason)
	}
	ids, err = m.EndpointDisableFailing(ctx, t0.Add(-5*24*time.Hour), "again")
	must(t, err)
	if len(ids) != 0 {
		t.Errorf("second pass disabled %v again", ids)
	}
}

func testRetentionPrune(t *testing.T, s store.Store) {
	m := maintainer(t, s)
	a := newApp(t, s, "a")
	newEndpoint(t, s, a.ID, nil)
	mk := func(at time.Time) *store.MessageCreate {
		mc := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x",
			Payload: json.RawMessage(`{"secret":"data"}`), CreatedAt: at}}
		must(t, s.MessageCreate(ctx, []*store.MessageCreate{mc}))
		return mc
	}
	var old []*store.MessageCreate
	for i := range 5 {
		old = append(old, mk(t0.Add(time.Duration(i)*time.Second)))
	}
	newer := mk(t0.Add(time.Hour))
	// Every old message is sent once; the attempts keep their bodies.
	var atts []*hookline.Attempt
	for _, task := range claim(t, s, t0.Add(2*time.Hour), 10) {
		if task.Delivery.MessageID == old[4].Message.ID {
			// Still due: a retry is pending, so the payload must stay.
			finish(t, s, task, hookline.StatusPending, task.Message.CreatedAt, t0.Add(10*time.Hour))
			continue
		}
		atts = append(atts, finish(t, s, task, hookline.StatusSuccess, task.Message.CreatedAt, time.Time{}))
	}
	cutoff := t0.Add(time.Minute)
	total := 0
	for range 10 {
		n, err := m.RetentionPrune(ctx, cutoff, 2)
		must(t, err)
		total += n
		if n < 4 {
			break
		}
	}
	// 4 payloads (old[4] is still due) and the attempts of old[0..3] plus
	// that of old[4], 5 in all.
	if total != 4+5 {
		t.Errorf("pruned %d rows, want 9", total)
	}
	for i, mc := range old {
		got, err := s.MessageGet(ctx, a.ID, mc.Message.ID)
		must(t, err)
		want := `{}`
		if i == 4 {
			want = `{"secret":"data"}`
		}
		if string(got.Payload) != want {
			t.Errorf("old message %d payload = %s, want %s", i, got.Payload, want)
		}
	}
	got, err := s.MessageGet(ctx, a.ID, newer.Message.ID)
	must(t, err)
	if string(got.Payload) != `{"secret":"data"}` {
		t.Errorf("a message newer than the cutoff lost its payload: %s", got.Payload)
	}
	for _, want := range atts {
		if want.MessageID == newer.Message.ID {
			continue
		}
		a2, err := s.AttemptGet(ctx, a.ID, want.MessageID, want.ID)
		must(t, err)
		if a2.Response != "" || a2.ResponseHeaders != nil {
			t.Errorf("attempt %s kept response %q headers %v", a2.ID, a2.Response, a2.ResponseHeaders)
		}
		if a2.Status != want.Status || a2.StatusCode != want.StatusCode || !a2.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("attempt %s lost its status row: %+v", a2.ID, a2)
		}
	}
	if n, err := m.RetentionPrune(ctx, cutoff, 100); err != nil || n != 0 {
		t.Errorf("a pass after catching up changed %d rows (err %v)", n, err)
	}
}

func testIdempotencyExpire(t *testing.T, s store.Store) {
	m := maintainer(t, s)
	for i, at := range []time.Time{t0, t0.Add(2 * time.Hour), t0.Add(30 * time.Hour)} {
		key := fmt.Sprintf("k%d", i)
		_, err := s.IdempotencyBegin(ctx, key, at)
		must(t, err)
		must(t, s.IdempotencyEnd(ctx, key, &store.IdempotentResponse{Status: 200, Body: []byte("{}")}))
	}
	now := t0.Add(25 * time.Hour)
	n, err := m.IdempotencyExpire(ctx, now, 1)
	must(t, err)
	if n != 1 {
		t.Fatalf("expired %d with limit 1", n)
	}
	n, err = m.IdempotencyExpire(ctx, now, 100)
	must(t, err)
	if n != 0 {
		t.Errorf("expired %d more, want 0: k1 is within its 24h window at %v", n, now)
	}
	resp, err := s.IdempotencyBegin(ctx, "k1", now)
	must(t, err)
	if resp == nil {
		t.Error("a key within its window was expired")
	}
}

// testClaimConcurrent claims from many goroutines at once: no delivery may
// be handed out twice while its lease holds.
func testClaimConcurrent(t *testing.T, s store.Store) {
	a := newApp(t, s, "a")
	for range 4 {
		newEndpoint(t, s, a.ID, nil)
	}
	batch := make([]*store.MessageCreate, 50)
	for i := range batch {
		batch[i] = &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", Payload: json.RawMessage(`{}`), CreatedAt: t0}}
	}
	must(t, s.MessageCreate(ctx, batch))
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: t0, Limit: 7, LeaseUntil: t0.Add(time.Minute)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, task := range tasks {
					seen[task.Delivery.ID]++
				}
				mu.Unlock()
				if len(tasks) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Errorf("claimed %d distinct deliveries, want 200", len(seen))
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("delivery %s claimed %d times", id, n)
		}
	}
}

// testCopy fills a store with one of everything, in every state, copies it
// into a second, empty store and compares the two record by record.
func testCopy(t *testing.T, open func(t *testing.T) store.Store) {
	src, dst := open(t), open(t)
	t.Cleanup(func() { src.Close(); dst.Close() })
	for _, s := range []store.Store{src, dst} {
		if _, ok := s.(store.Copier); !ok {
			t.Fatalf("%T does not implement store.Copier", s)
		}
	}
	rate := 3
	a := newApp(t, src, "a")
	a.RateLimit, a.Metadata = &rate, map[string]string{"tier": "gold"}
	must(t, src.AppUpdate(ctx, a))
	newApp(t, src, "")
	must(t, src.EventTypeCreate(ctx, &hookline.EventType{Name: "invoice.paid", Description: "paid", Schemas: json.RawMessage(`{"1":{}}`), CreatedAt: t0, UpdatedAt: t0}))
	must(t, src.EventTypeCreate(ctx, &hookline.EventType{Name: "old.type", Archived: true, Deprecated: true, FeatureFlag: "beta", CreatedAt: t0, UpdatedAt: t0}))
	expires := t0.Add(time.Hour)
	e1 := newEndpoint(t, src, a.ID, func(e *hookline.Endpoint) {
		e.UID, e.Headers, e.Channels, e.EventTypes = "main", map[string]string{"X-Tenant": "7"}, []string{"eu"}, []string{"invoice.paid"}
		e.Secrets = append(e.Secrets, hookline.Secret{Key: []byte("rotated-out-key-rotated!"), ExpiresAt: &expires})
		e.RateLimit, e.Format = &rate, hookline.FormatXML
	})
	newEndpoint(t, src, a.ID, func(e *hookline.Endpoint) { e.Disabled, e.DisabledReason = true, "gone" })
	e3 := newEndpoint(t, src, a.ID, nil)
	for i := range 5 {
		mc := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "invoice.paid",
			EventID: fmt.Sprintf("evt-%d", i), Channels: []string{"eu"}, Payload: json.RawMessage(`{"i": ` + fmt.Sprint(i) + ` }`), CreatedAt: t0.Add(time.Duration(i) * time.Second)}}
		must(t, src.MessageCreate(ctx, []*store.MessageCreate{mc}))
	}
	raw := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "invoice.paid",
		Channels: []string{"eu"}, Payload: json.RawMessage("a=1&b=2"), ContentType: "application/x-www-form-urlencoded",
		Headers: map[string][]string{"X-Signature": {"v1=abc"}}, TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		CreatedAt: t0.Add(10 * time.Second)}}
	must(t, src.MessageCreate(ctx, []*store.MessageCreate{raw}))
	tasks := claim(t, src, t0.Add(time.Minute), 4)
	finish(t, src, tasks[0], hookline.StatusSuccess, t0.Add(time.Minute), time.Time{})
	finish(t, src, tasks[1], hookline.StatusPending, t0.Add(time.Minute), t0.Add(time.Hour))
	finish(t, src, tasks[2], hookline.StatusFail, t0.Add(time.Minute), time.Time{})
	// tasks[3] stays claimed: sending, leased.
	_ = e1
	_ = e3
	must(t, src.SettingPut(ctx, "admin_token_sha256", "abc123"))
	portal, portalSecret := newToken(t, src, func(tok *hookline.Token) {
		tok.Scope, tok.AppID, tok.Capabilities, tok.ReadOnly, tok.SessionID, tok.FeatureFlags =
			hookline.ScopeApp, a.ID, []hookline.Capability{hookline.CapViewBase}, true, "s1", []string{"beta"}
		tok.ExpiresAt = &expires
	})
	must(t, src.TokenTouch(ctx, portal.ID, t0.Add(time.Minute)))
	revoked, _ := newToken(t, src, nil)
	must(t, src.TokenRevoke(ctx, revoked.ID, t0.Add(time.Minute)))
	want := map[string]int{"app": 2, "event type": 2, "endpoint": 3, "message": 6, "delivery": 12, "attempt": 3, "setting": 1, "token": 2}
	inSrc, inbound := src.(FullStore)
	inDst, dstInbound := dst.(FullStore)
	if inbound != dstInbound {
		t.Fatalf("one store has the inbound half and the other not")
	}
	var acked string
	if inbound {
		acked = fillInbound(t, inSrc)
		want["source"], want["cursor"], want["received"], want["run"] = 2, 1, 3, 3
	}

	var recs []store.Record
	must(t, src.(store.Copier).Dump(ctx, func(r store.Record) error { recs = append(recs, r); return nil }))
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.Kind()]++
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Fatalf("dumped records (-want +got):\n%s", diff)
	}
	// Loaded in two batches, the second twice, as a copy run again after
	// an interruption would.
	must(t, dst.(store.Copier).Load(ctx, recs[:7]))
	must(t, dst.(store.Copier).Load(ctx, recs[7:]))
	must(t, dst.(store.Copier).Load(ctx, recs[7:]))
	var got []store.Record
	must(t, dst.(store.Copier).Dump(ctx, func(r store.Record) error { got = append(got, r); return nil }))
	if diff := cmp.Diff(recs, got); diff != "" {
		t.Errorf("copy differs (-source +copy):\n%s", diff)
	}
	// The copy works: the pending delivery comes due and the event ID
	// still deduplicates.
	if got := claim(t, dst, t0.Add(2*time.Hour), 10); len(got) != 10 {
		t.Errorf("the copy has %d deliveries due, want 10 (8 never tried, the retry and the lapsed lease)", len(got))
	}
	dup := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", EventID: "evt-0", Payload: json.RawMessage(`{}`), CreatedAt: t0}}
	must(t, dst.MessageCreate(ctx, []*store.MessageCreate{dup}))
	if !dup.Existing {
		t.Error("an event ID copied over does not deduplicate")
	}
	if tok, err := dst.TokenByHash(ctx, hookline.HashSecret(portalSecret)); err != nil || tok.ID != portal.ID {
		t.Errorf("a copied token's secret finds %v, %v; want token %s", tok, err, portal.ID)
	}
	if inbound {
		checkInboundCopy(t, inDst, acked)
	}
}

// fillInbound gives a store for testCopy the inbound half in every state:
// a source mid token rotation with its held requests acknowledged, one
// without, verified and rejected requests, and runs finished, due and
// running. It returns the ID up to which the first source's requests were
// acknowledged.
func fillInbound(t *testing.T, s FullStore) string {
	src := newSource(t, s, "copy-gh",
		hookline.Route{ID: "hold", Type: hookline.RouteHold},
		hookline.Route{ID: "deploy", Type: hookline.RouteCommand, Command: "deploy", Filter: hookline.RouteFilter{Match: map[string]string{"ref": "main"}}})
	expires := t0.Add(time.Hour)
	src.PrevTokenHash, src.PrevTokenExpires, src.TokenHash = src.TokenHash, &expires, tokenHash("copy-new")
	must(t, s.SourceUpdate(ctx, src))
	newSource(t, s, "copy-other")
	first := newReceived(src, "d-1", true)
	rejected := newReceived(src, "d-1", false)
	rejected.VerifyError, rejected.View = "no matching signature", nil
	latest := newReceived(src, "", true)
	for _, x := range []*hookline.Received{first, rejected, latest} {
		rc := &store.Receive{Received: x}
		if x.Verified {
			rc.Runs = []*hookline.Run{{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: "deploy", Command: "deploy", NextAttempt: t0, UpdatedAt: t0}}
		}
		must(t, s.ReceivedCreate(ctx, rc))
	}
	claimed, err := s.RunClaim(ctx, store.RunClaim{Now: t0, Limit: 1, LeaseUntil: t0.Add(time.Minute)})
	must(t, err)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d runs", len(claimed))
	}
	done := claimed[0]
	done.Status, done.Attempts, done.NextAttempt, done.ExitCode, done.Output, done.UpdatedAt = hookline.RunSucceeded, 1, time.Time{}, 0, "deployed", t0.Add(time.Second)
	must(t, s.RunFinish(ctx, &done))
	// Another stays running, leased; a replay of the first is due later.
	if _, err := s.RunClaim(ctx, store.RunClaim{Now: t0, Limit: 1, LeaseUntil: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	must(t, s.RunCreate(ctx, []*hookline.Run{{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: first.ID, SourceID: src.ID, RouteID: "deploy", Command: "deploy",
		NextAttempt: t0.Add(time.Hour), UpdatedAt: t0}}))
	must(t, s.SourceCursorPut(ctx, src.ID, first.ID))
	return first.ID
}

// checkInboundCopy checks that the copy made by testCopy of fillInbound's
// store works: the previous token still finds the source until it
// expires, a provider's retry is still a duplicate, the cursor holds at
// acked, and the runs come due.
func checkInboundCopy(t *testing.T, s FullStore, acked string) {
	src, err := s.SourceByToken(ctx, tokenHash("token-copy-gh"), t0)
	must(t, err)
	if _, err := s.SourceByToken(ctx, tokenHash("copy-new"), t0.Add(2*time.Hour)); err != nil {
		t.Errorf("the current token: %v", err)
	}
	rc := &store.Receive{Received: newReceived(src, "d-1", true)}
	must(t, s.ReceivedCreate(ctx, rc))
	if !rc.Duplicate {
		t.Error("a delivery ID copied over does not deduplicate")
	}
	cur, err := s.SourceCursorGet(ctx, src.ID)
	must(t, err)
	if cur != acked {
		t.Errorf("the copy's cursor = %q, want %q", cur, acked)
	}
	if runs, err := s.RunClaim(ctx, store.RunClaim{Now: t0.Add(2 * time.Hour), Limit: 10, LeaseUntil: t0.Add(3 * time.Hour)}); err != nil || len(runs) != 2 {
		t.Errorf("the copy has %d runs due, want 2 (the lapsed lease and the replay); err %v", len(runs), err)
	}
}
