package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

var (
	question = Dialect{
		Time: func(t time.Time) any { return t.UnixMicro() },
		In: func(col string, values []string) (string, []any) {
			args := make([]any, len(values))
			for i, v := range values {
				args[i] = v
			}
			return col + " IN (?, ?)", args
		},
		Contains: func(col, s string) (string, []any) {
			return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE value = ?)", []any{s}
		},
	}
	numbered = Dialect{
		Numbered: true,
		Time:     func(t time.Time) any { return t.UTC() },
		In:       func(col string, values []string) (string, []any) { return col + " = ANY(?)", []any{values} },
		Contains: func(col, s string) (string, []any) { return col + " @> jsonb_build_array(?::text)", []any{s} },
	}
	pinned = func() Dialect { d := numbered; d.PinOwner = true; return d }()
)

func TestAttemptQuery(t *testing.T) {
	t.Parallel()
	before := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	status := hookline.StatusFail
	f := store.AttemptFilter{
		EndpointID: "ep_1", Status: &status, StatusCodeClass: 500, EventTypes: []string{"a", "b"}, Channel: "c",
		Window: store.Window{Before: &before}, Page: store.Page{Iterator: "atmpt_9", Limit: 10, Desc: true},
	}
	tests := []struct {
		name     string
		d        *Dialect
		wantSQL  string
		wantArgs []any
	}{
		{"question marks", &question,
			"SELECT a.id FROM attempts a WHERE a.app_id = ? AND a.endpoint_id = ? AND a.status = ? AND a.status_code >= ? AND a.status_code < ? AND a.created_at < ?" +
				" AND EXISTS (SELECT 1 FROM messages m WHERE m.id = a.msg_id AND m.event_type IN (?, ?) AND EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ?))" +
				" AND a.id < ? ORDER BY a.id DESC LIMIT 11",
			[]any{"app_1", "ep_1", status, 500, 600, before.UnixMicro(), "a", "b", "c", "atmpt_9"}},
		{"numbered", &numbered,
			"SELECT a.id FROM attempts a WHERE a.app_id = $1 AND a.endpoint_id = $2 AND a.status = $3 AND a.status_code >= $4 AND a.status_code < $5 AND a.created_at < $6" +
				" AND EXISTS (SELECT 1 FROM messages m WHERE m.id = a.msg_id AND m.event_type = ANY($7) AND m.channels @> jsonb_build_array($8::text))" +
				" AND a.id < $9 ORDER BY a.id DESC LIMIT 11",
			[]any{"app_1", "ep_1", status, 500, 600, before, []string{"a", "b"}, "c", "atmpt_9"}},
		{"owner pinned", &pinned,
			"SELECT a.id FROM attempts a WHERE a.app_id = $1 AND a.endpoint_id = ANY($2) AND a.status = $3 AND a.status_code >= $4 AND a.status_code < $5 AND a.created_at < $6" +
				" AND EXISTS (SELECT 1 FROM messages m WHERE m.id = a.msg_id AND m.event_type = ANY($7) AND m.channels @> jsonb_build_array($8::text))" +
				" AND a.id < $9 ORDER BY a.endpoint_id DESC, a.id DESC LIMIT 11",
			[]any{"app_1", []string{"ep_1"}, status, 500, 600, before, []string{"a", "b"}, "c", "atmpt_9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.d.Query()
			q.AttemptConds("app_1", f)
			sql, args := q.SQL("a.id", "attempts a", "a.id", f.Page)
			if sql != tt.wantSQL {
				t.Errorf("SQL:\n got %s\nwant %s", sql, tt.wantSQL)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinishPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		items    []int
		p        store.Page
		want     []int
		wantDone bool
	}{
		{"short", []int{1, 2}, store.Page{Limit: 3}, []int{1, 2}, true},
		{"extra row", []int{1, 2, 3, 4}, store.Page{Limit: 3}, []int{1, 2, 3}, false},
		{"backwards", []int{3, 2, 1}, store.Page{Limit: 2, Prev: true}, []int{2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, done := FinishPage(tt.items, tt.p)
			if diff := cmp.Diff(tt.want, got); diff != "" || done != tt.wantDone {
				t.Errorf("FinishPage = %v, %v; want %v, %v", got, done, tt.want, tt.wantDone)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	result := func(ep string, status hookline.Status, at time.Time) store.Result {
		return store.Result{
			Delivery: hookline.Delivery{EndpointID: ep},
			Attempt:  &hookline.Attempt{Status: status, CreatedAt: at},
		}
	}
	var h Health
	h.Add(result("ep_b", hookline.StatusSuccess, t0))
	h.Add(result("ep_b", hookline.StatusFail, t0.Add(2*time.Second)))
	h.Add(result("ep_b", hookline.StatusFail, t0.Add(time.Second)))
	h.Add(result("ep_a", hookline.StatusFail, t0))
	h.Add(result("ep_a", hookline.StatusSuccess, t0.Add(time.Second)))
	h.Add(store.Result{Delivery: hookline.Delivery{EndpointID: "ep_c"}, DisableEndpoint: "gone"})
	if diff := cmp.Diff([]string{"ep_b", "ep_a", "ep_c"}, h.Endpoints()); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		id      string
		change  HealthChange
		since   time.Time
		disable string
	}{
		{"ep_b", HealthFailing, t0.Add(time.Second), ""},
		{"ep_a", HealthOK, time.Time{}, ""},
		{"ep_c", HealthSame, time.Time{}, "gone"},
	} {
		e := h.Endpoint(tt.id)
		change, since := e.Change()
		if change != tt.change || !since.Equal(tt.since) || e.Disable != tt.disable {
			t.Errorf("%s: Change() = %v, %v, Disable %q; want %v, %v, %q", tt.id, change, since, e.Disable, tt.change, tt.since, tt.disable)
		}
	}
}

func TestRebind(t *testing.T) {
	t.Parallel()
	const q = "SELECT id FROM apps WHERE id > ? ORDER BY id LIMIT ?"
	if got := question.rebind(q, 0); got != q {
		t.Errorf("question marks: %s", got)
	}
	if got, want := numbered.rebind(q, 2), "SELECT id FROM apps WHERE id > $3 ORDER BY id LIMIT $4"; got != want {
		t.Errorf("numbered: got %s, want %s", got, want)
	}
}

func TestFit(t *testing.T) {
	ws := func(sizes ...int64) []weight {
		out := make([]weight, len(sizes))
		for i, n := range sizes {
			out[i] = weight{id: string(rune('a' + i)), size: n}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		ws       []weight
		limit    int
		maxBytes int64
		n        int
		whole    bool
	}{
		{"all fit", ws(1, 2, 3), 3, 10, 3, true},
		{"limit first", ws(1, 2, 3, 4), 3, 100, 3, true},
		{"cut by bytes", ws(4, 4, 4), 3, 10, 2, false},
		{"exactly the cap", ws(5, 5, 1), 3, 10, 2, false},
		{"first alone over the cap", ws(50, 1), 2, 10, 1, false},
		{"default cap", ws(store.MaxPageBytes, 1), 2, 0, 1, false},
		{"empty", nil, 3, 10, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, whole := fit(tc.ws, tc.limit, tc.maxBytes)
			if n != tc.n || whole != tc.whole {
				t.Fatalf("fit = %d, %v; want %d, %v", n, whole, tc.n, tc.whole)
			}
		})
	}
}

// TestMessageQuery checks the conditions of a message list: the app as the
// list's owner, one event type as an equality, and a window bounding the
// IDs at both ends.
func TestMessageQuery(t *testing.T) {
	t.Parallel()
	after := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	before := after.Add(time.Hour)
	f := store.MessageFilter{
		EventTypes: []string{"a"}, Window: store.Window{After: &after, Before: &before}, Page: store.Page{Limit: 10, Desc: true},
	}
	floor, ceiling := hookline.IDFloor(hookline.PrefixMessage, after), hookline.IDCeiling(hookline.PrefixMessage, before)
	tests := []struct {
		name     string
		d        *Dialect
		wantSQL  string
		wantArgs []any
	}{
		{"question marks", &question,
			"SELECT id FROM messages WHERE app_id = ? AND created_at < ? AND created_at > ? AND id >= ? AND id <= ? AND event_type = ?" +
				" ORDER BY id DESC LIMIT 11",
			[]any{"app_1", before.UnixMicro(), after.UnixMicro(), floor, ceiling, "a"}},
		{"owner pinned", &pinned,
			"SELECT id FROM messages WHERE app_id = ANY($1) AND created_at < $2 AND created_at > $3 AND id >= $4 AND id <= $5 AND event_type = $6" +
				" ORDER BY app_id DESC, id DESC LIMIT 11",
			[]any{[]string{"app_1"}, before, after, floor, ceiling, "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.d.Query()
			q.MessageListConds("app_1", f)
			sql, args := q.SQL("id", "messages", "id", f.Page)
			if sql != tt.wantSQL {
				t.Errorf("SQL:\n got %s\nwant %s", sql, tt.wantSQL)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeRows are rows of IDs and weights, for a List that reads weights
// first.
type fakeRows struct {
	ids []string
	i   int
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.ids) }
func (r *fakeRows) Err() error { return nil }

func (r *fakeRows) Scan(dest ...any) error {
	*dest[0].(*string) = r.ids[r.i-1]
	if len(dest) > 1 {
		*dest[1].(*int64) = 1
	}
	return nil
}

// TestWeighedListReadsNoExtraRow checks that the second query of a weighed
// list asks for no more rows than its range of IDs holds: one more would
// have the database walk the rest of the list for a row the range cannot
// hold, which through the SQLite store's spans reads every span of an
// endpoint's history.
func TestWeighedListReadsNoExtraRow(t *testing.T) {
	t.Parallel()
	var queries []string
	query := func(_ context.Context, sql string, _ ...any) (*fakeRows, error) {
		queries = append(queries, sql)
		ids := make([]string, 4)
		for i := range ids {
			ids[i] = fmt.Sprintf("msg_%d", 9-i)
		}
		if len(queries) > 1 {
			ids = ids[:3]
		}
		return &fakeRows{ids: ids}, nil
	}
	q := question.Query()
	q.MessageListConds("app_1", store.MessageFilter{})
	q.Weigh("octet_length(payload)")
	p := store.Page{Limit: 3, Desc: true}
	items, done, err := List(context.Background(), query, &q, "id", "messages", "id", p, ScanString[*fakeRows])
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || done {
		t.Errorf("List = %v, done %v; want 3 items, not done", items, done)
	}
	if len(queries) != 2 {
		t.Fatalf("List ran %d queries, want 2: %q", len(queries), queries)
	}
	if !strings.HasSuffix(queries[0], " LIMIT 4") {
		t.Errorf("the first query does not read one row past the page:\n%s", queries[0])
	}
	if !strings.HasSuffix(queries[1], " LIMIT 3") {
		t.Errorf("the second query does not stop at the page's last row:\n%s", queries[1])
	}
}
