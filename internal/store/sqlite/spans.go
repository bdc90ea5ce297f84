package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/ksuid"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

// Deliveries and attempts are listed by endpoint, in the order of their
// message's ID and of their own ID. An index keyed by endpoint would take
// one entry per row in the middle of its B-tree, on as many pages as a
// batch has endpoints: at fan-out 10 those two indexes were a fifth of
// the writer's work. Instead, endpoint_spans holds, per endpoint, ranges
// of keys that cover its rows; an endpoint's spans never overlap, so in
// the order of their upper ends they are in key order. A list walks the
// endpoint's spans and, within each, the rows of every endpoint in that
// key range through the index on the key.
//
// A write adds, per endpoint, one span over its keys above every span the
// endpoint has: keys only grow, so that is nearly all of them, and the
// span is as wide as the write. A key below that top (a message published
// a moment before the last batch committed, an old message sent again, an
// attempt that took long) gets a span of its own unless a span already
// holds it. Spans are never widened, so a list reads at most a write's
// worth of other endpoints' rows per span beyond those it returns. No
// span holds keys whose IDs were made seconds apart (an attempt that
// timed out, written with fresh ones; an old database copied in).

// The kinds of span.
const (
	spanDeliveries = 0 // deliveries, by message ID
	spanAttempts   = 1 // attempts, by attempt ID
)

// spanGap is how far apart, by the time in their IDs, the keys of one
// span may be.
const spanGap = 2 * time.Second

// spans gathers the keys each endpoint's new rows take in one write.
type spans struct {
	kind  int
	order []string
	keys  map[string][]string
}

func newSpans(kind int) *spans { return &spans{kind: kind, keys: map[string][]string{}} }

// add counts key as a row of endpointID.
func (sp *spans) add(endpointID, key string) {
	k, ok := sp.keys[endpointID]
	if !ok {
		sp.order = append(sp.order, endpointID)
	}
	sp.keys[endpointID] = append(k, key)
}

const (
	// spanTopSQL finds the upper end of an endpoint's last span.
	spanTopSQL = `SELECT hi FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? ORDER BY hi DESC LIMIT 1`
	// spanHolderSQL finds the span that would hold a key: the first to end
	// at or above it, which holds it if it starts at or below it.
	spanHolderSQL = `SELECT lo FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? AND hi >= ? ORDER BY hi LIMIT 1`
	spanInsertSQL = `INSERT INTO endpoint_spans (endpoint_id, kind, lo, hi) VALUES (?, ?, ?, ?)`
)

var insertSpans = insertRows(spanInsertSQL, 4)

// spanTops holds, for each endpoint and kind of span seen since the store
// opened, a key at or above the upper end of every span of that endpoint
// and kind, so that a write need not look it up. A write that rolls back
// leaves it higher than it need be, which is still true, and deletes only
// lower the spans.
type spanTops struct {
	mu sync.Mutex
	m  map[spanTop]string
}

type spanTop struct {
	endpointID string
	kind       int
}

func (t *spanTops) get(endpointID string, kind int) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	top, ok := t.m[spanTop{endpointID, kind}]
	return top, ok
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

// save writes the gathered spans within tx.
func (sp *spans) save(ctx context.Context, s *Store, tx *sql.Tx) error {
	ins := s.rowWriter(tx, insertSpans)
	for _, ep := range sp.order {
		if err := sp.saveEndpoint(ctx, s, tx, ins, ep); err != nil {
			return fmt.Errorf("save spans: %w", err)
		}
	}
	if err := ins.flush(ctx); err != nil {
		return fmt.Errorf("save spans: %w", err)
	}
	return nil
}

func (sp *spans) saveEndpoint(ctx context.Context, s *Store, tx *sql.Tx, ins *rowWriter, ep string) error {
	keys := sp.keys[ep]
	slices.Sort(keys)
	keys = slices.Compact(keys)
	top, ok := s.tops.get(ep, sp.kind)
	if !ok {
		st, err := s.txStmt(ctx, tx, spanTopSQL)
		if err != nil {
			return err
		}
		switch err := st.QueryRowContext(ctx, ep, sp.kind).Scan(&top); {
		case errors.Is(err, sql.ErrNoRows):
			top = ""
		case err != nil:
			return err
		}
	}
	// Keys up to the top may be held by a span already; the rest are new
	// ground.
	i, found := slices.BinarySearch(keys, top)
	if found {
		i++
	}
	below, above := keys[:i], keys[i:]
	for _, k := range below {
		held, err := sp.held(ctx, s, tx, ep, k)
		if err != nil {
			return err
		}
		if !held {
			if err := ins.add(ctx, ep, sp.kind, k, k); err != nil {
				return err
			}
		}
	}
	for len(above) > 0 {
		n := 1
		for n < len(above) && !farApart(above[0], above[n]) {
			n++
		}
		if err := ins.add(ctx, ep, sp.kind, above[0], above[n-1]); err != nil {
			return err
		}
		top, above = above[n-1], above[n:]
	}
	if top != "" {
		s.tops.raise(ep, sp.kind, top)
	}
	return nil
}

// held returns whether a span of endpoint ep already holds key.
func (sp *spans) held(ctx context.Context, s *Store, tx *sql.Tx, ep, key string) (bool, error) {
	st, err := s.txStmt(ctx, tx, spanHolderSQL)
	if err != nil {
		return false, err
	}
	var lo string
	switch err := st.QueryRowContext(ctx, ep, sp.kind, key).Scan(&lo); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return lo <= key, nil
}

// farApart reports whether the times in two IDs (a prefix, "_" and a
// KSUID) are spanGap or more apart. IDs that are not of that form never
// are: they share a span as they come.
func farApart(a, b string) bool {
	ta, ok := idTime(a)
	if !ok {
		return false
	}
	tb, ok := idTime(b)
	return ok && tb.Sub(ta).Abs() >= spanGap
}

func idTime(id string) (time.Time, bool) {
	_, rest, ok := strings.Cut(id, "_")
	if !ok {
		return time.Time{}, false
	}
	k, err := ksuid.Parse(rest)
	if err != nil {
		return time.Time{}, false
	}
	return k.Time(), true
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
