package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
	"github.com/hookline/hookline/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	pgtest.BaseURL(t)
	storetest.Run(t, open)
}

func TestInboundConformance(t *testing.T) {
	t.Parallel()
	pgtest.BaseURL(t)
	storetest.RunInbound(t, func(t *testing.T) storetest.FullStore { return open(t).(*postgres.Store) })
}

var ctx = context.Background()

// openN opens n stores on one schema, as n nodes would.
func openN(t *testing.T, n int) []*postgres.Store {
	t.Helper()
	u := pgtest.URL(t)
	stores := make([]*postgres.Store, n)
	errs := make(chan error, n)
	for i := range stores {
		go func() {
			var err error
			stores[i], err = postgres.Open(ctx, u, postgres.Options{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	for _, s := range stores {
		t.Cleanup(func() { s.Close() })
	}
	return stores
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	stores := openN(t, 4)
	// Every node sees the same tables.
	for _, s := range stores {
		if _, _, err := s.AppList(ctx, store.Page{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	base := pgtest.BaseURL(t)
	tests := []struct {
		name, dsn, want string
	}{
		{"missing schema", pgtest.WithSchema(t, base, "no_such_schema_hookline"), "CREATE SCHEMA"},
		{"bad url", "postgres://%zz", "want postgres://"},
		{"wrong port", "postgres://postgres:secretpw@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "is the server up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.Open(ctx, tt.dsn, postgres.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func newApp(t *testing.T, s store.Store) (*hookline.App, *hookline.Endpoint) {
	t.Helper()
	now := time.Now().UTC()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), Name: "a", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	pgtest.Must(t, s.AppCreate(ctx, a))
	e := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: a.ID, URL: "https://example.com/", Version: 1, Format: hookline.FormatJSON,
		Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef01234567")}}, CreatedAt: now, UpdatedAt: now}
	pgtest.Must(t, s.EndpointCreate(ctx, e))
	return a, e
}

func message(appID, eventID string) *store.MessageCreate {
	return &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: appID, EventType: "x", EventID: eventID,
		Payload: json.RawMessage(`{}`), CreatedAt: time.Now().UTC()}}
}

// TestNotify checks that a publish on one node wakes a listener on another,
// and that a listener on another schema is not woken.
func TestNotify(t *testing.T) {
	t.Parallel()
	stores := openN(t, 2)
	other := openN(t, 1)[0]
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	woken, otherWoken := make(chan struct{}, 100), make(chan struct{}, 100)
	done := make(chan error, 2)
	go func() { done <- stores[1].Listen(lctx, func() { woken <- struct{}{} }) }()
	go func() { done <- other.Listen(lctx, func() { otherWoken <- struct{}{} }) }()
	// Each listener wakes once when it starts listening.
	for _, c := range []chan struct{}{woken, otherWoken} {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal("the listener did not start")
		}
	}
	a, _ := newApp(t, stores[0])
	pgtest.Must(t, stores[0].MessageCreate(ctx, []*store.MessageCreate{message(a.ID, "")}))
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("a publish on one node did not wake the other")
	}
	// A notification is sent at commit; the other schema's listener saw
	// it come and ignored it by now, since notifications arrive in order.
	b, _ := newApp(t, other)
	pgtest.Must(t, other.MessageCreate(ctx, []*store.MessageCreate{message(b.ID, "")}))
	select {
	case <-otherWoken:
	case <-time.After(10 * time.Second):
		t.Fatal("the other schema's listener missed its own publish")
	}
	select {
	case <-woken:
		t.Error("a publish on another schema woke this schema's listener")
	default:
	}
	cancel()
	for range 2 {
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Listen returned %v, want context.Canceled", err)
		}
	}
}

func TestLeaderElection(t *testing.T) {
	t.Parallel()
	stores := openN(t, 3)
	leaders := 0
	var leader *postgres.Store
	for range 2 {
		leaders = 0
		for _, s := range stores {
			ok, err := s.TryLead(ctx)
			pgtest.Must(t, err)
			if ok {
				leaders++
				leader = s
			}
		}
		if leaders != 1 {
			t.Fatalf("%d leaders, want 1", leaders)
		}
	}
	// The leader goes away; another takes over at its next try.
	pgtest.Must(t, leader.Close())
	leaders = 0
	for _, s := range stores {
		if s == leader {
			continue
		}
		ok, err := s.TryLead(ctx)
		pgtest.Must(t, err)
		if ok {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("after the leader closed, %d leaders, want 1", leaders)
	}
	// A leader whose session dies without unlocking (a killed process)
	// loses the role once the server has ended the session.
	var next *postgres.Store
	for _, s := range stores {
		if s != leader {
			if ok, _ := s.TryLead(ctx); ok {
				next = s
			}
		}
	}
	pgtest.Must(t, next.KillLeaderSession(ctx))
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaders = 0
		for _, s := range stores {
			if s == leader || s == next {
				continue
			}
			if ok, _ := s.TryLead(ctx); ok {
				leaders++
			}
		}
		if leaders == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the leader's session died, %d leaders, want 1", leaders)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNodeBeat(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	now := time.Now()
	beat := func(id string, worker bool, at time.Time) int {
		n, err := s.NodeBeat(ctx, store.Node{ID: id, Worker: worker}, at, 10*time.Second)
		pgtest.Must(t, err)
		return n
	}
	if n := beat("a", true, now); n != 1 {
		t.Errorf("one worker: counted %d", n)
	}
	beat("api", false, now)
	if n := beat("b", true, now.Add(time.Second)); n != 2 {
		t.Errorf("two workers and an api node: counted %d workers", n)
	}
	// a falls silent; b beats on.
	if n := beat("b", true, now.Add(15*time.Second)); n != 1 {
		t.Errorf("after a fell silent: counted %d", n)
	}
	pgtest.Must(t, s.NodeLeave(ctx, "b"))
	if n := beat("c", true, now.Add(16*time.Second)); n != 1 {
		t.Errorf("after b left: counted %d", n)
	}
}

// TestEventIDRace publishes the same event IDs from several nodes at once:
// each event ID makes one message, and every publish sees that one.
func TestEventIDRace(t *testing.T) {
	t.Parallel()
	stores := openN(t, 4)
	a, _ := newApp(t, stores[0])
	const n = 50
	results := make([][]*store.MessageCreate, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]*store.MessageCreate, n)
			for j := range batch {
				batch[j] = message(a.ID, fmt.Sprintf("evt-%d", j))
			}
			if err := s.MessageCreate(ctx, batch); err != nil {
				t.Error(err)
			}
			results[i] = batch
		}()
	}
	wg.Wait()
	for j := range n {
		ids := map[string]bool{}
		created := 0
		for i := range stores {
			item := results[i][j]
			pgtest.Must(t, item.Err)
			ids[item.Message.ID] = true
			if !item.Existing {
				created++
			}
		}
		if len(ids) != 1 || created != 1 {
			t.Errorf("evt-%d: %d message IDs, created %d times; want 1 and 1", j, len(ids), created)
		}
	}
	tasks, err := stores[0].DeliveryClaim(ctx, store.Claim{Now: time.Now().Add(time.Minute), Limit: 1000, LeaseUntil: time.Now().Add(time.Hour)})
	pgtest.Must(t, err)
	if len(tasks) != n {
		t.Errorf("%d deliveries, want %d: one per message", len(tasks), n)
	}
}

// TestNulInResponse stores a response PostgreSQL text cannot hold as is.
func TestNulInResponse(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	a, e := newApp(t, s)
	m := message(a.ID, "")
	pgtest.Must(t, s.MessageCreate(ctx, []*store.MessageCreate{m}))
	now := time.Now().UTC()
	tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: now.Add(time.Second), Limit: 10, LeaseUntil: now.Add(time.Minute)})
	pgtest.Must(t, err)
	if len(tasks) != 1 {
		t.Fatalf("claimed %d", len(tasks))
	}
	d := tasks[0].Delivery
	d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = hookline.StatusSuccess, 1, time.Time{}, now
	att := &hookline.Attempt{ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: a.ID, MessageID: d.MessageID, EndpointID: e.ID,
		URL: e.URL, Status: hookline.StatusSuccess, StatusCode: 200, Response: "a\x00b", ResponseHeaders: map[string][]string{"X-Nul": {"c\x00d"}}, CreatedAt: now}
	pgtest.Must(t, s.DeliveryFinish(ctx, []store.Result{{Delivery: d, Attempt: att}}))
	got, err := s.AttemptGet(ctx, a.ID, d.MessageID, att.ID)
	pgtest.Must(t, err)
	if got.Response != "a\uFFFDb" || got.ResponseHeaders["X-Nul"][0] != "c\uFFFDd" {
		t.Errorf("response %q headers %q", got.Response, got.ResponseHeaders)
	}
}

// TestBigBatch publishes a batch of the size the group commit writes.
func TestBigBatch(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	a, _ := newApp(t, s)
	batch := make([]*store.MessageCreate, 512)
	for i := range batch {
		batch[i] = message(a.ID, "")
		if i%2 == 0 {
			batch[i].Message.EventID = fmt.Sprintf("e%d", i)
		}
	}
	batch = append(batch, message("app_missing", ""))
	pgtest.Must(t, s.MessageCreate(ctx, batch))
	for _, item := range batch[:512] {
		if item.Err != nil || len(item.Deliveries) != 1 {
			t.Fatalf("item: err %v, %d deliveries", item.Err, len(item.Deliveries))
		}
	}
	if !errors.Is(batch[512].Err, hookline.ErrNotFound) {
		t.Errorf("missing app: err %v", batch[512].Err)
	}
}

// TestReceivedDedupRace has several nodes receive the same delivery at
// once, as when a provider retries while the first request is still being
// stored: one stores it with its routes' message and run, and every other
// reports it as a duplicate of that one, without failing.
func TestReceivedDedupRace(t *testing.T) {
	t.Parallel()
	stores := openN(t, 4)
	a, _ := newApp(t, stores[0])
	now := time.Now().UTC()
	src := &hookline.Source{ID: hookline.NewID(hookline.PrefixSource), Name: "s", TokenHash: []byte("token-hash"), MaxBodyBytes: 1 << 20,
		Response: hookline.DefaultSourceResponse, CreatedAt: now, UpdatedAt: now}
	pgtest.Must(t, stores[0].SourceCreate(ctx, src))
	for round := range 10 {
		deliveryID := fmt.Sprintf("d-%d", round)
		receives := make([]*store.Receive, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: "POST", Path: "/in/x",
				Headers: map[string][]string{}, Body: []byte(`{}`), Verified: true, DeliveryID: deliveryID, CreatedAt: now}
			rc := &store.Receive{Received: x, Messages: []*store.MessageCreate{message(a.ID, "")},
				Runs: []*hookline.Run{{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: "r", Command: "c", NextAttempt: now, UpdatedAt: now}}}
			receives[i] = rc
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.ReceivedCreate(ctx, rc); err != nil {
					t.Errorf("node %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		var first string
		stored := 0
		for _, rc := range receives {
			if !rc.Duplicate {
				stored++
				first = rc.Received.ID
			}
		}
		if stored != 1 {
			t.Fatalf("%s: stored %d times, want once", deliveryID, stored)
		}
		for i, rc := range receives {
			if rc.Duplicate && rc.Received.ID != first {
				t.Errorf("%s: node %d reports a duplicate of %s, want %s", deliveryID, i, rc.Received.ID, first)
			}
		}
		runs, err := stores[0].RunList(ctx, first)
		pgtest.Must(t, err)
		if len(runs) != 1 {
			t.Errorf("%s: %d runs, want 1", deliveryID, len(runs))
		}
	}
	reqs, _, err := stores[0].ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: store.Page{Limit: 100}})
	pgtest.Must(t, err)
	if len(reqs) != 10 {
		t.Errorf("%d requests stored, want 10", len(reqs))
	}
	tasks, err := stores[0].DeliveryClaim(ctx, store.Claim{Now: now.Add(time.Minute), Limit: 1000, LeaseUntil: now.Add(time.Hour)})
	pgtest.Must(t, err)
	if len(tasks) != 10 {
		t.Errorf("%d deliveries, want 10: one per delivery ID", len(tasks))
	}
}

// TestRunClaimConcurrent claims runs from several nodes at once: no run is
// handed out twice while its lease holds.
func TestRunClaimConcurrent(t *testing.T) {
	t.Parallel()
	stores := openN(t, 4)
	now := time.Now().UTC()
	runs := make([]*hookline.Run, 100)
	for i := range runs {
		runs[i] = &hookline.Run{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: "in_x", SourceID: "src_x", RouteID: "r", Command: "c", NextAttempt: now, UpdatedAt: now}
	}
	pgtest.Must(t, stores[0].RunCreate(ctx, runs))
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for _, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.RunClaim(ctx, store.RunClaim{Now: now, Limit: 7, LeaseUntil: now.Add(time.Minute)})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got {
					seen[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != len(runs) {
		t.Errorf("claimed %d distinct runs, want %d", len(seen), len(runs))
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("run %s claimed %d times", id, n)
		}
	}
}

// TestInboundText stores what PostgreSQL text cannot hold as is, and
// SQLite keeps: NUL and bytes that are not UTF-8, in a received request's
// fields and a command's output.
func TestInboundText(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	now := time.Now().UTC()
	src := &hookline.Source{ID: hookline.NewID(hookline.PrefixSource), Name: "s", TokenHash: []byte("token-hash"), MaxBodyBytes: 1 << 20,
		Response: hookline.DefaultSourceResponse, CreatedAt: now, UpdatedAt: now}
	pgtest.Must(t, s.SourceCreate(ctx, src))
	x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: "POST", Path: "/in/x/\xff",
		Headers: map[string][]string{"X-Odd": {"a\x00\xfeb"}}, Body: []byte("\x00\xff"), Verified: true, DeliveryID: "d\xff", EventType: "e\x00", CreatedAt: now}
	run := &hookline.Run{ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: "r", Command: "c", NextAttempt: now, UpdatedAt: now}
	pgtest.Must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x, Runs: []*hookline.Run{run}}))
	got, err := s.ReceivedGet(ctx, src.ID, x.ID)
	pgtest.Must(t, err)
	if got.Path != "/in/x/\uFFFD" || got.Headers["X-Odd"][0] != "a\uFFFD\uFFFDb" || string(got.Body) != "\x00\xff" || got.DeliveryID != "d\uFFFD" || got.EventType != "e\uFFFD" {
		t.Errorf("stored %+v", got)
	}
	// A retry carrying the same odd delivery ID is still a duplicate.
	again := *x
	again.ID = hookline.NewID(hookline.PrefixReceived)
	rc := &store.Receive{Received: &again}
	pgtest.Must(t, s.ReceivedCreate(ctx, rc))
	if !rc.Duplicate {
		t.Error("a retry with the same delivery ID was stored again")
	}
	run.Status, run.Attempts, run.NextAttempt, run.Output, run.Error = hookline.RunFailed, 1, time.Time{}, "out\x00\xc3", "exit\xff"
	pgtest.Must(t, s.RunFinish(ctx, run))
	runs, err := s.RunList(ctx, x.ID)
	pgtest.Must(t, err)
	if len(runs) != 1 || runs[0].Output != "out\uFFFD\uFFFD" || runs[0].Error != "exit\uFFFD" {
		t.Errorf("runs = %+v", runs)
	}
}

// TestMigrationMasksReceivedPaths opens a schema in which an earlier
// version stored received requests with their receive token in the path:
// the migration masks the token.
func TestMigrationMasksReceivedPaths(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	s, err := postgres.Open(ctx, u, postgres.Options{})
	pgtest.Must(t, err)
	_, sourceID := storetest.ClearTokenPaths(t, s)
	// The schema is made to look as if the migration had not run yet.
	conn, err := pgx.Connect(ctx, u)
	pgtest.Must(t, err)
	_, err = conn.Exec(ctx, `DELETE FROM schema_migrations WHERE version = 4`)
	pgtest.Must(t, err)
	pgtest.Must(t, conn.Close(ctx))
	s.Close()

	s, err = postgres.Open(ctx, u, postgres.Options{})
	pgtest.Must(t, err)
	defer s.Close()
	storetest.WantMaskedPaths(t, s, sourceID)
}

// TestFailedPublishStoresNothing checks that a publish batch that fails in
// its second round trip stores none of its messages, and that the store
// publishes again after it.
func TestFailedPublishStoresNothing(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	a, _ := newApp(t, s)
	first := message(a.ID, "")
	pgtest.Must(t, s.MessageCreate(ctx, []*store.MessageCreate{first}))
	fresh, again := message(a.ID, ""), message(a.ID, "")
	again.Message.ID = first.Message.ID // a message ID taken: the insert fails
	if err := s.MessageCreate(ctx, []*store.MessageCreate{fresh, again}); err == nil {
		t.Fatal("a batch repeating a stored message ID was stored")
	}
	if _, err := s.MessageGet(ctx, a.ID, fresh.Message.ID); !errors.Is(err, hookline.ErrNotFound) {
		t.Errorf("the failed batch's other message: %v, want not found", err)
	}
	later := message(a.ID, "")
	pgtest.Must(t, s.MessageCreate(ctx, []*store.MessageCreate{later}))
	if _, err := s.MessageGet(ctx, a.ID, later.Message.ID); err != nil {
		t.Errorf("publish after a failed batch: %v", err)
	}
}

// TestSettleVacuums checks that Settle leaves the tables of the store's
// schema vacuumed and analyzed, as autovacuum would after a bulk load.
func TestSettleVacuums(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	s, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, _ := newApp(t, s)
	if err := s.MessageCreate(ctx, []*store.MessageCreate{message(app.ID, "")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var vacuumed, analyzed bool
	err = conn.QueryRow(ctx, `SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = 'messages'`).Scan(&vacuumed, &analyzed)
	if err != nil {
		t.Fatal(err)
	}
	if !vacuumed || !analyzed {
		t.Errorf("after Settle, messages vacuumed %v and analyzed %v; want both", vacuumed, analyzed)
	}
}
