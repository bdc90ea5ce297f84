package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// TestSpanListsWalkInOrder checks the plans of the lists through spans:
// the spans outside, each span's range of the key's index inside, and no
// sort of the endpoint's rows, whichever way a page goes.
func TestSpanListsWalkInOrder(t *testing.T) {
	s := emptyStore(t)
	status := hookline.StatusFail
	for _, p := range []store.Page{
		{Limit: 50}, {Limit: 50, Desc: true},
		{Limit: 50, Iterator: "msg_x"}, {Limit: 50, Iterator: "msg_x", Desc: true}, {Limit: 50, Iterator: "msg_x", Prev: true},
	} {
		lists := map[string]func() (string, []any){
			"endpoint messages": func() (string, []any) {
				q := dialect.Query()
				q.EndpointMessageConds("app_x", "ep_x", store.EndpointMessageFilter{Status: &status, EventTypes: []string{"a"}})
				throughSpans(&q, spanDeliveries, "ep_x", "d.msg_id", p)
				return q.SQL("m.id, d.id", endpointMessagesFrom, "d.msg_id", p)
			},
			"endpoint attempts": func() (string, []any) {
				q := dialect.Query()
				q.AttemptConds("app_x", store.AttemptFilter{EndpointID: "ep_x", Status: &status})
				throughSpans(&q, spanAttempts, "ep_x", "a.id", p)
				return q.SQL("a.id", endpointAttemptsFrom, "a.id", p)
			},
		}
		for name, build := range lists {
			query, args := build()
			plan := explain(t, s, query, args)
			if strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s, page %+v: the plan sorts:\n%s", name, p, plan)
			}
			if first, rest, _ := strings.Cut(plan, "\n"); !strings.HasPrefix(first, "SEARCH s USING PRIMARY KEY") || !strings.Contains(rest, "USING INDEX") {
				t.Errorf("%s, page %+v: the plan does not walk the spans first, then an index:\n%s", name, p, plan)
			}
		}
	}
}

// emptyStore opens a store on a new file, for tests of statement plans,
// and closes it when the test ends.
func emptyStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookline.db"))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// explain returns the plan SQLite makes for query, a step a line.
func explain(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// spanFixture is a store with an app of two endpoints. publishAndFinish
// adds messages to both, with a successful attempt of each delivery;
// msgIDs and attIDs are the IDs of the messages and of the first
// endpoint's attempts, in order.
type spanFixture struct {
	s      *Store
	app    *hookline.App
	eps    []*hookline.Endpoint
	msgIDs []string
	attIDs []string
}

func newSpanFixture(t *testing.T, path string) *spanFixture {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	must(t, err)
	now := time.Now()
	f := &spanFixture{s: s, app: &hookline.App{ID: hookline.NewID(hookline.PrefixApp), Name: "a", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}}
	must(t, s.AppCreate(ctx, f.app))
	for range 2 {
		e := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: f.app.ID, URL: "http://127.0.0.1:9/hook", Version: 1,
			Format: hookline.FormatJSON, Metadata: map[string]string{}, Headers: map[string]string{},
			Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef01234567")}}, CreatedAt: now, UpdatedAt: now}
		must(t, s.EndpointCreate(ctx, e))
		f.eps = append(f.eps, e)
	}
	return f
}

func (f *spanFixture) publishAndFinish(t *testing.T, n int) {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	batch := make([]*store.MessageCreate, n)
	for i := range batch {
		batch[i] = &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: f.app.ID,
			EventType: "x", Payload: []byte(`{}`), CreatedAt: now}}
		f.msgIDs = append(f.msgIDs, batch[i].Message.ID)
	}
	must(t, f.s.MessageCreate(ctx, batch))
	tasks, err := f.s.DeliveryClaim(ctx, store.Claim{Now: now, Limit: 100, LeaseUntil: now.Add(time.Minute)})
	must(t, err)
	var results []store.Result
	for _, task := range tasks {
		d := task.Delivery
		d.Status, d.Attempts, d.UpdatedAt = hookline.StatusSuccess, 1, now
		att := &hookline.Attempt{ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: f.app.ID, MessageID: d.MessageID,
			EndpointID: d.EndpointID, URL: task.Endpoint.URL, Status: hookline.StatusSuccess, StatusCode: 200, CreatedAt: now}
		if d.EndpointID == f.eps[0].ID {
			f.attIDs = append(f.attIDs, att.ID)
		}
		results = append(results, store.Result{Delivery: d, Attempt: att})
	}
	must(t, f.s.DeliveryFinish(ctx, results))
	slices.Sort(f.attIDs)
}

// TestSpansMigration opens a database written before spans existed, with
// its indexes keyed by endpoint: the migration gives every delivery and
// attempt a span, drops those indexes, and the lists by endpoint see old
// and new rows alike.
func TestSpansMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	f := newSpanFixture(t, path)
	f.publishAndFinish(t, 5)
	_, err := f.s.w.ExecContext(ctx, `DROP TABLE endpoint_spans;
		CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
		CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
		DELETE FROM schema_migrations WHERE version = 7`)
	must(t, err)
	must(t, f.s.Close())

	if f.s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer f.s.Close()
	var n int
	must(t, f.s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('deliveries_endpoint', 'attempts_endpoint')`).Scan(&n))
	if n != 0 {
		t.Errorf("%d indexes keyed by endpoint are left", n)
	}
	f.publishAndFinish(t, 4)
	msgs, _, err := f.s.EndpointMessageList(ctx, f.app.ID, f.eps[0].ID, store.EndpointMessageFilter{Page: store.Page{Limit: 50}})
	must(t, err)
	if got := idsOf(msgs, func(m store.MessageStatus) string { return m.Message.ID }); !slices.Equal(got, f.msgIDs) {
		t.Errorf("endpoint messages after the migration = %v, want %v", got, f.msgIDs)
	}
	atts, _, err := f.s.AttemptList(ctx, f.app.ID, store.AttemptFilter{Page: store.Page{Limit: 50}, EndpointID: f.eps[0].ID})
	must(t, err)
	if got := idsOf(atts, func(a hookline.Attempt) string { return a.ID }); !slices.Equal(got, f.attIDs) {
		t.Errorf("endpoint attempts after the migration = %v, want %v", got, f.attIDs)
	}
}

// TestDeletesDropSpans deletes an endpoint, whose attempts stay, then its
// app: no span is left behind.
func TestDeletesDropSpans(t *testing.T) {
	ctx := context.Background()
	f := newSpanFixture(t, filepath.Join(t.TempDir(), "hookline.db"))
	defer f.s.Close()
	f.publishAndFinish(t, 3)
	count := func(kind int) int {
		var n int
		must(t, f.s.r.QueryRowContext(ctx, `SELECT count(*) FROM endpoint_spans WHERE endpoint_id = ? AND kind = ?`, f.eps[0].ID, kind).Scan(&n))
		return n
	}
	must(t, f.s.EndpointDelete(ctx, f.app.ID, f.eps[0].ID))
	if count(spanDeliveries) != 0 || count(spanAttempts) == 0 {
		t.Errorf("after deleting the endpoint: %d spans of deliveries, %d of attempts; want none, and those of the attempts kept",
			count(spanDeliveries), count(spanAttempts))
	}
	kept := readSpans(t, f.s, f.eps[1].ID, spanAttempts)
	must(t, f.s.AppDelete(ctx, f.app.ID))
	var n int
	must(t, f.s.r.QueryRowContext(ctx, `SELECT count(*) FROM endpoint_spans`).Scan(&n))
	if n != 0 {
		t.Errorf("%d spans left after deleting the app", n)
	}
	// A key that a deleted span held, written after (an attempt in flight
	// when the app went), gets a span: none holds it any more.
	sp := newSpans(spanAttempts)
	sp.add(f.eps[1].ID, kept[0][1])
	saveSpans(t, f.s, sp, false)
	if got := readSpans(t, f.s, f.eps[1].ID, spanAttempts); len(got) != 1 || got[0] != [2]string{kept[0][1], kept[0][1]} {
		t.Errorf("spans after writing %s once its span was deleted = %v, want it alone", kept[0][1], got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func idsOf[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// TestSpansCoverWithoutOverlap writes keys of three endpoints in random
// order, in writes that commit or roll back, across reopens that forget
// the cached spans, and checks after each that every committed key lies
// in exactly one span of its endpoint, that no two spans of an endpoint
// overlap, and that every span of more than one key lies within the keys
// of the write that made it.
func TestSpansCoverWithoutOverlap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := Open(ctx, path)
	must(t, err)
	defer func() { s.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	eps := []string{"ep_a", "ep_b", "ep_c"}
	key := func(i int) string { return fmt.Sprintf("msg_%06d", i) }
	committed := map[string][]string{}
	var writes [][2]string
	for round := range 300 {
		if round%50 == 49 {
			must(t, s.Close())
			s, err = Open(ctx, path)
			must(t, err)
		}
		sp := newSpans(spanDeliveries)
		written := map[string][]string{}
		lo, hi := key(1<<20), key(0)
		// Mostly new keys just above the last ones, sometimes old ones.
		for range 1 + rng.IntN(12) {
			i := round*10 + rng.IntN(12)
			if rng.IntN(8) == 0 {
				i = rng.IntN(round*10 + 1)
			}
			ep := eps[rng.IntN(len(eps))]
			sp.add(ep, key(i))
			written[ep] = append(written[ep], key(i))
			lo, hi = min(lo, key(i)), max(hi, key(i))
		}
		rollback := rng.IntN(10) == 0
		saveSpans(t, s, sp, rollback)
		if rollback {
			continue
		}
		writes = append(writes, [2]string{lo, hi})
		for ep, ks := range written {
			committed[ep] = append(committed[ep], ks...)
		}
		for _, ep := range eps {
			checkSpans(t, s, ep, committed[ep], writes)
		}
	}
}

// checkSpans checks that keys each lie in exactly one span of ep, that the
// spans do not overlap, and that each span of more than one key lies
// within the key range of one of writes.
func checkSpans(t *testing.T, s *Store, ep string, keys []string, writes [][2]string) {
	t.Helper()
	spans := readSpans(t, s, ep, spanDeliveries)
	for i, r := range spans {
		if r[0] > r[1] || (i > 0 && r[0] <= spans[i-1][1]) {
			t.Fatalf("%s: span %v is empty or overlaps %v", ep, r, spans[max(i-1, 0)])
		}
		if r[0] < r[1] && !slices.ContainsFunc(writes, func(w [2]string) bool { return w[0] <= r[0] && r[1] <= w[1] }) {
			t.Fatalf("%s: span %v is wider than any one write", ep, r)
		}
	}
	for _, k := range keys {
		n := 0
		for _, r := range spans {
			if r[0] <= k && k <= r[1] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s: key %s is in %d spans of %v", ep, k, n, spans)
		}
	}
}

// TestSpansOfLateKeys writes, for a quiet endpoint, a key older than a busy
// endpoint's writes together with a fresh one, as an attempt that took long
// is written with a quick one: the old key gets a span of its own, so that
// listing the quiet endpoint does not read the busy one's rows. A write
// rolled back and run again (as the shared transactions do after a
// failure) makes the spans it would have made the first time.
func TestSpansOfLateKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := Open(ctx, path)
	must(t, err)
	defer func() { s.Close() }()
	write := func(fail bool, keys map[string][]string) {
		t.Helper()
		sp := newSpans(spanAttempts)
		for ep, ks := range keys {
			for _, k := range ks {
				sp.add(ep, k)
			}
		}
		saveSpans(t, s, sp, fail)
	}
	spansOf := func(ep string) [][2]string { return readSpans(t, s, ep, spanAttempts) }
	write(false, map[string][]string{"ep_quiet": {"atmpt_10"}})
	for i := 20; i < 60; i += 10 {
		write(false, map[string][]string{"ep_busy": {fmt.Sprintf("atmpt_%d", i), fmt.Sprintf("atmpt_%d", i+5)}})
	}
	// Reopened, the store knows the highest key written from the rows.
	must(t, s.Close())
	s, err = Open(ctx, path)
	must(t, err)
	_, err = s.w.ExecContext(ctx, `INSERT INTO attempts (id, delivery_id, app_id, msg_id, endpoint_id, url, status, trigger_type,
		status_code, duration_us, created_at) VALUES ('atmpt_65', 'dlv_x', 'app_x', 'msg_x', 'ep_busy', 'http://x', 0, 0, 200, 1, 0)`)
	must(t, err)
	must(t, s.Close())
	s, err = Open(ctx, path)
	must(t, err)
	// atmpt_15 is above the quiet endpoint's span but below the busy
	// endpoint's writes; atmpt_70 and atmpt_71 are fresh.
	write(false, map[string][]string{"ep_quiet": {"atmpt_15", "atmpt_70", "atmpt_71"}, "ep_busy": {"atmpt_72"}})
	want := [][2]string{{"atmpt_10", "atmpt_10"}, {"atmpt_15", "atmpt_15"}, {"atmpt_70", "atmpt_71"}}
	if got := spansOf("ep_quiet"); !slices.Equal(got, want) {
		t.Errorf("quiet endpoint's spans = %v, want %v", got, want)
	}

	keys := map[string][]string{"ep_new": {"atmpt_80", "atmpt_81", "atmpt_82"}}
	write(true, keys)
	write(false, keys)
	if got, want := spansOf("ep_new"), [][2]string{{"atmpt_80", "atmpt_82"}}; !slices.Equal(got, want) {
		t.Errorf("spans written again after a rollback = %v, want %v", got, want)
	}

	// A write made before its transaction saves the same spans when the
	// transaction runs again, a key given twice included.
	sp := newSpans(spanAttempts)
	for _, k := range []string{"atmpt_92", "atmpt_91", "atmpt_92"} {
		sp.add("ep_busy", k)
	}
	saveSpans(t, s, sp, true)
	saveSpans(t, s, sp, false)
	busy := spansOf("ep_busy")
	if got, want := busy[len(busy)-1], [2]string{"atmpt_91", "atmpt_92"}; got != want || busy[0][0] != "atmpt_20" {
		t.Errorf("busy endpoint's spans after a write run twice = %v, want them to start at atmpt_20 and end with %v", busy, want)
	}
}

// saveSpans saves sp in a transaction of its own, rolled back if rollback.
func saveSpans(t *testing.T, s *Store, sp *spans, rollback bool) {
	t.Helper()
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		if err := sp.save(context.Background(), s, tx); err != nil {
			return err
		}
		if rollback {
			return errors.New("roll back")
		}
		return nil
	})
	if !rollback {
		must(t, err)
	}
}

// readSpans returns the spans of kind of endpoint ep, in order.
func readSpans(t *testing.T, s *Store, ep string, kind int) [][2]string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), `SELECT lo, hi FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? ORDER BY hi`, ep, kind)
	must(t, err)
	var out [][2]string
	for rows.Next() {
		var r [2]string
		must(t, rows.Scan(&r[0], &r[1]))
		out = append(out, r)
	}
	must(t, rows.Err())
	return out
}
