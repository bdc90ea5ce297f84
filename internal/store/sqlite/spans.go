package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

// Deliveries and attempts are listed by endpoint, in the order of their
// message's ID and of their own ID. An index keyed by endpoint would take
// one entry per row in the middle of its B-tree, on as many pages as a
// batch has endpoints: at fan-out 10 those two indexes were a fifth of
// the writer's work. Instead, endpoint_spans holds, per endpoint, the
// ranges of keys its rows take. A write adds one span per endpoint, and
// merges it with the spans it overlaps, so an endpoint's spans never
// overlap and, in the order of their upper ends, are in key order. A list
// walks the endpoint's spans and, within each, the rows of every endpoint
// in that key range through the index on the key: at most a batch's
// other rows beyond those it returns.

// The kinds of span.
const (
	spanDeliveries = 0 // deliveries, by message ID
	spanAttempts   = 1 // attempts, by attempt ID
)

// spans gathers the key range each endpoint's new rows take in one write.
type spans struct {
	kind  int
	order []string
	r     map[string]*[2]string
}

func newSpans(kind int) *spans { return &spans{kind: kind, r: map[string]*[2]string{}} }

// add counts key as a row of endpointID.
func (sp *spans) add(endpointID, key string) {
	r, ok := sp.r[endpointID]
	if !ok {
		sp.r[endpointID] = &[2]string{key, key}
		sp.order = append(sp.order, endpointID)
		return
	}
	r[0], r[1] = min(r[0], key), max(r[1], key)
}

const (
	// spanOverlapSQL finds an endpoint's spans that overlap [lo, hi]: those
	// from the first whose upper end is at least lo, for as long as their
	// lower end is at most hi (the caller stops reading there).
	spanOverlapSQL = `SELECT lo, hi FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? AND hi >= ? ORDER BY hi`
	spanDeleteSQL  = `DELETE FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? AND hi = ?`
	spanInsertSQL  = `INSERT INTO endpoint_spans (endpoint_id, kind, lo, hi) VALUES (?, ?, ?, ?)`
)

// spanTops holds, for each endpoint and kind of span written since the
// store opened, a key at or above the upper end of every span of that
// endpoint and kind: a new span that starts above it overlaps none, and
// a write (nearly always) needs no search. A write that rolls back leaves
// it higher than it need be, which is still true; deletes only lower the
// spans.
type spanTops struct {
	mu sync.Mutex
	m  map[spanTop]string
}

type spanTop struct {
	endpointID string
	kind       int
}

// above returns whether key is above every span of endpointID and kind.
func (t *spanTops) above(endpointID string, kind int, key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	top, ok := t.m[spanTop{endpointID, kind}]
	return ok && key > top
}

// raise records that no span of endpointID and kind ends above key.
func (t *spanTops) raise(endpointID string, kind int, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[spanTop]string{}
	}
	k := spanTop{endpointID, kind}
	if top, ok := t.m[k]; !ok || key > top {
		t.m[k] = key
	}
}

// save writes the gathered spans within tx, each merged with the spans of
// its endpoint it overlaps.
func (sp *spans) save(ctx context.Context, s *Store, tx *sql.Tx) error {
	ins := s.rowWriter(tx, insertSpans)
	for _, ep := range sp.order {
		r, last := sp.r[ep], true
		if !s.tops.above(ep, sp.kind, r[0]) {
			var merged []string
			var err error
			if merged, last, err = sp.overlapping(ctx, s, tx, ep, r); err != nil {
				return err
			}
			for _, hi := range merged {
				if err := s.execStmt(ctx, tx, spanDeleteSQL, []any{ep, sp.kind, hi}); err != nil {
					return fmt.Errorf("save spans: %w", err)
				}
			}
		}
		if err := ins.add(ctx, ep, sp.kind, r[0], r[1]); err != nil {
			return fmt.Errorf("save spans: %w", err)
		}
		if last {
			s.tops.raise(ep, sp.kind, r[1])
		}
	}
	if err := ins.flush(ctx); err != nil {
		return fmt.Errorf("save spans: %w", err)
	}
	return nil
}

var insertSpans = insertRows(spanInsertSQL, 4)

// overlapping widens r to cover the spans of endpoint ep it overlaps and
// returns their upper ends, which name them, and whether the widened r
// is then the endpoint's last span.
func (sp *spans) overlapping(ctx context.Context, s *Store, tx *sql.Tx, ep string, r *[2]string) ([]string, bool, error) {
	overlap, err := s.txStmt(ctx, tx, spanOverlapSQL)
	if err != nil {
		return nil, false, fmt.Errorf("save spans: %w", err)
	}
	rows, err := overlap.QueryContext(ctx, ep, sp.kind, r[0])
	if err != nil {
		return nil, false, fmt.Errorf("save spans: %w", err)
	}
	defer rows.Close()
	var his []string
	for rows.Next() {
		var lo, hi string
		if err := rows.Scan(&lo, &hi); err != nil {
			return nil, false, fmt.Errorf("save spans: %w", err)
		}
		if lo > r[1] {
			return his, false, rows.Close()
		}
		his = append(his, hi)
		r[0], r[1] = min(r[0], lo), max(r[1], hi)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("save spans: %w", err)
	}
	return his, true, nil
}

// The FROM clauses of the lists through spans.
const (
	endpointMessagesFrom = `endpoint_spans s CROSS JOIN deliveries d INDEXED BY deliveries_msg JOIN messages m ON m.id = d.msg_id`
	endpointAttemptsFrom = `endpoint_spans s CROSS JOIN attempts a INDEXED BY sqlite_autoindex_attempts_1`
)

// throughSpans adds to q the conditions that list the rows of endpoint
// endpointID through its spans of kind, aliased s, page p at a time: key
// is the rows' key column, which p's iterator is a value of. The list's
// FROM starts with the spans, CROSS JOINed to the rows through the index
// on key, and q orders by the spans first, so that the database walks
// the spans in order and, within each, the index.
func throughSpans(q *sqlstore.Query, kind int, endpointID, key string, p store.Page) {
	q.Add("s.endpoint_id = ? AND s.kind = ?", endpointID, kind)
	q.Add(key + " >= s.lo AND " + key + " <= s.hi")
	q.OrderFirst("s.hi")
	if p.Iterator == "" {
		return
	}
	if p.Desc != p.Prev {
		// The one span that may hold keys on both sides of the iterator
		// is the first to end at or above it; every other span with keys
		// below it ends below it.
		q.Add(`s.hi <= coalesce((SELECT CASE WHEN x.lo < ? THEN x.hi END FROM endpoint_spans x
			WHERE x.endpoint_id = ? AND x.kind = ? AND x.hi >= ? ORDER BY x.hi LIMIT 1), ?)`,
			p.Iterator, endpointID, kind, p.Iterator, p.Iterator)
		return
	}
	q.Add("s.hi > ?", p.Iterator)
}

// spanRows selects, through the spans of kind of endpoint ?1, the rowids
// of the rows of table (the deliveries or the attempts), whose key column
// is key with index on it, that are that endpoint's and meet cond: for
// the updates and deletes of an endpoint's rows.
func spanRows(table, key, index string, kind int, cond string) string {
	q := `SELECT t.rowid FROM endpoint_spans s CROSS JOIN ` + table + ` t INDEXED BY ` + index +
		` WHERE s.endpoint_id = ?1 AND s.kind = ` + strconv.Itoa(kind) + ` AND t.` + key + ` >= s.lo AND t.` + key + ` <= s.hi AND t.endpoint_id = ?1`
	if cond != "" {
		q += " AND " + cond
	}
	return q
}
