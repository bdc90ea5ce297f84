package sqlite

import (
	"context"
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
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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

// TestSpansMigration opens a database written before spans existed, with
// its indexes keyed by endpoint: the migration gives every delivery and
// attempt a span, drops those indexes, and the lists by endpoint see old
// and new rows alike.
func TestSpansMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), Name: "a", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	must(t, s.AppCreate(ctx, a))
	var eps []*hookline.Endpoint
	for range 2 {
		e := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: a.ID, URL: "http://127.0.0.1:9/hook", Version: 1,
			Format: hookline.FormatJSON, Metadata: map[string]string{}, Headers: map[string]string{},
			Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef01234567")}}, CreatedAt: now, UpdatedAt: now}
		must(t, s.EndpointCreate(ctx, e))
		eps = append(eps, e)
	}
	var msgIDs, attIDs []string
	publishAndFinish := func(n int) {
		t.Helper()
		batch := make([]*store.MessageCreate, n)
		for i := range batch {
			batch[i] = &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID,
				EventType: "x", Payload: []byte(`{}`), CreatedAt: now}}
			msgIDs = append(msgIDs, batch[i].Message.ID)
		}
		must(t, s.MessageCreate(ctx, batch))
		tasks, err := s.DeliveryClaim(ctx, store.Claim{Now: now, Limit: 100, LeaseUntil: now.Add(time.Minute)})
		must(t, err)
		var results []store.Result
		for _, task := range tasks {
			d := task.Delivery
			d.Status, d.Attempts, d.UpdatedAt = hookline.StatusSuccess, 1, now
			att := &hookline.Attempt{ID: hookline.NewID(hookline.PrefixAttempt), DeliveryID: d.ID, AppID: a.ID, MessageID: d.MessageID,
				EndpointID: d.EndpointID, URL: task.Endpoint.URL, Status: hookline.StatusSuccess, StatusCode: 200, CreatedAt: now}
			if d.EndpointID == eps[0].ID {
				attIDs = append(attIDs, att.ID)
			}
			results = append(results, store.Result{Delivery: d, Attempt: att})
		}
		must(t, s.DeliveryFinish(ctx, results))
	}
	publishAndFinish(5)
	_, err = s.w.ExecContext(ctx, `DROP TABLE endpoint_spans;
		CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
		CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
		DELETE FROM schema_migrations WHERE version = 7`)
	must(t, err)
	must(t, s.Close())

	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	must(t, s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('deliveries_endpoint', 'attempts_endpoint')`).Scan(&n))
	if n != 0 {
		t.Errorf("%d indexes keyed by endpoint are left", n)
	}
	publishAndFinish(4)
	slices.Sort(attIDs)
	msgs, _, err := s.EndpointMessageList(ctx, a.ID, eps[0].ID, store.EndpointMessageFilter{Page: store.Page{Limit: 50}})
	must(t, err)
	if got := idsOf(msgs, func(m store.MessageStatus) string { return m.Message.ID }); !slices.Equal(got, msgIDs) {
		t.Errorf("endpoint messages after the migration = %v, want %v", got, msgIDs)
	}
	atts, _, err := s.AttemptList(ctx, a.ID, store.AttemptFilter{Page: store.Page{Limit: 50}, EndpointID: eps[0].ID})
	must(t, err)
	if got := idsOf(atts, func(a hookline.Attempt) string { return a.ID }); !slices.Equal(got, attIDs) {
		t.Errorf("endpoint attempts after the migration = %v, want %v", got, attIDs)
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
