package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/ksuid"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestListPlans checks the plans PostgreSQL makes for the first query of
// message and attempt lists on a history shaped as one in use: a busy app
// whose rows are older than the newest rows of another app. Each list must
// walk its owner's index (of its type, for one event type) in order: the
// primary key walked back from the newest row, testing the owner of each,
// reads every newer row of other owners, and an index walked out of order
// reads every row of the owner and sorts them.
func TestListPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), Options{})
	pgtest.Must(t, err)
	t.Cleanup(func() { s.Close() })
	// 30,000 messages of apps a (70%), b and c over a day, one attempt
	// each, to one endpoint per app; 1 in 1,000 of type customer.deleted;
	// then 10,000 newer messages and attempts of app n.
	start := time.Now().Add(-24 * time.Hour)
	var ids, apps, types []string
	var times []time.Time
	for i := range 40000 {
		app, typ, at := "app_n", "invoice.paid", time.Now().Add(-time.Minute)
		if i < 30000 {
			app, at = []string{"app_a", "app_a", "app_a", "app_a", "app_a", "app_a", "app_a", "app_b", "app_b", "app_c"}[i%10], start.Add(time.Duration(i)*2*time.Second)
			if i%1000 == 0 {
				typ = "customer.deleted"
			}
		}
		k, err := ksuid.NewRandomWithTime(at)
		pgtest.Must(t, err)
		ids, apps, types, times = append(ids, k.String()), append(apps, app), append(types, typ), append(times, at)
	}
	for _, q := range []string{
		`INSERT INTO messages (id, app_id, event_type, payload, created_at)
			SELECT '` + hookline.PrefixMessage + `' || id, app_id, event_type, '\x7b7d', created_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS r (id, app_id, event_type, created_at)`,
		`INSERT INTO attempts (id, delivery_id, app_id, msg_id, endpoint_id, url, status, trigger_type, status_code, duration_us, created_at)
			SELECT '` + hookline.PrefixAttempt + `' || substr(id, 5), 'dlv_' || substr(id, 5), app_id, id, 'ep_' || substr(app_id, 5), 'http://x', 0, 0, 200, 1, created_at
			FROM messages`,
		`ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{ids, apps, types, times}
		}
		_, err := s.pool.Exec(ctx, q, args...)
		pgtest.Must(t, err)
	}
	before := start.Add(12 * time.Hour)
	after := before.Add(-time.Hour)
	first := store.Page{Limit: 50, Desc: true}
	for _, tt := range []struct {
		name  string
		build func() (string, []any)
		index string // the index the plan walks
		cond  string // a condition of its walk
		sorts bool   // whether the plan may sort: the walk is bounded
	}{
		{"messages", func() (string, []any) {
			q := dialect.Query()
			q.MessageListConds("app_a", store.MessageFilter{Page: first})
			return q.SQL("id, coalesce("+messageWeight+", 0)", "messages", "id", first)
		}, "Index Scan Backward using messages_app", "(app_id = ", false},
		{"messages of a quiet app", func() (string, []any) {
			q := dialect.Query()
			q.MessageListConds("app_c", store.MessageFilter{Page: first})
			return q.SQL("id, coalesce("+messageWeight+", 0)", "messages", "id", first)
		}, "Index Scan Backward using messages_app", "(app_id = ", false},
		{"messages of a rare type", func() (string, []any) {
			q := dialect.Query()
			q.MessageListConds("app_a", store.MessageFilter{Page: first, EventTypes: []string{"customer.deleted"}})
			return q.SQL("id, coalesce("+messageWeight+", 0)", "messages", "id", first)
		}, "Index Scan Backward using messages_event_type", "event_type = ", false},
		{"messages in a window", func() (string, []any) {
			q := dialect.Query()
			q.MessageListConds("app_a", store.MessageFilter{Page: first, Window: store.Window{After: &after, Before: &before}})
			return q.SQL("id, coalesce("+messageWeight+", 0)", "messages", "id", first)
		}, "Index Scan", "id <= ", true},
		{"attempts of an endpoint", func() (string, []any) {
			q := dialect.Query()
			q.AttemptConds("app_a", store.AttemptFilter{Page: first, EndpointID: "ep_a"})
			return q.SQL("a.id, coalesce("+attemptWeight+", 0)", "attempts a", "a.id", first)
		}, "Index Scan Backward using attempts_endpoint", "(endpoint_id = ", false},
		{"attempts of an app", func() (string, []any) {
			q := dialect.Query()
			q.AttemptConds("app_a", store.AttemptFilter{Page: first})
			return q.SQL("a.id, coalesce("+attemptWeight+", 0)", "attempts a", "a.id", first)
		}, "Index Scan Backward using attempts_app", "(app_id = ", false},
	} {
		query, args := tt.build()
		rows, err := s.pool.Query(ctx, "EXPLAIN "+query, args...)
		pgtest.Must(t, err)
		var plan strings.Builder
		for rows.Next() {
			var line string
			pgtest.Must(t, rows.Scan(&line))
			plan.WriteString(line + "\n")
		}
		pgtest.Must(t, rows.Err())
		p := plan.String()
		var walk string // the index's step up to its filter
		if i := strings.Index(p, tt.index); i >= 0 {
			walk, _, _ = strings.Cut(p[i:], "Filter:")
		}
		if !strings.Contains(walk, tt.cond) || !tt.sorts && strings.Contains(p, "Sort") {
			t.Errorf("%s: the plan does not walk %q in order with %q:\n%s\n%s", tt.name, tt.index, tt.cond, query, p)
		}
	}
}
