package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

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
// Keys nearly always grow, and a write covers the keys of each endpoint
// that are above every key written before it with one span, which holds
// only that write's rows and the few late keys of later writes: a list
// reads at most about a write's worth of other endpoints' rows per span.
// Any other key (a message published a moment before the last batch
// committed, an old message sent again) gets a span of its own, unless a
// span of its endpoint already holds it. Spans are never widened. The
// dispatcher names attempts as it writes their results, so attempt IDs
// grow in the order they are written.

// The kinds of span.
const (
	spanDeliveries = 0 // deliveries, by message ID
	spanAttempts   = 1 // attempts, by attempt ID
)

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
	// spanLastSQL finds an endpoint's last span, the one that ends highest.
	spanLastSQL = `SELECT lo, hi FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? ORDER BY hi DESC LIMIT 1`
	// spanHolderSQL finds the span that would hold a key: the first to end
	// at or above it, which holds it if it starts at or below it.
	spanHolderSQL = `SELECT lo FROM endpoint_spans WHERE endpoint_id = ? AND kind = ? AND hi >= ? ORDER BY hi LIMIT 1`
	spanInsertSQL = `INSERT INTO endpoint_spans (endpoint_id, kind, lo, hi) VALUES (?, ?, ?, ?)`
)

var insertSpans = insertRows(spanInsertSQL, 4)

// save writes the gathered spans within tx.
func (sp *spans) save(ctx context.Context, s *Store, tx *sql.Tx) error {
	high := s.tops.high(tx, sp.kind)
	written := high
	ins := s.rowWriter(tx, insertSpans)
	for _, ep := range sp.order {
		top, err := sp.saveEndpoint(ctx, s, tx, ins, ep, high)
		if err != nil {
			return fmt.Errorf("save spans: %w", err)
		}
		written = max(written, top)
	}
	if err := ins.flush(ctx); err != nil {
		return fmt.Errorf("save spans: %w", err)
	}
	s.tops.raise(tx, sp.kind, written)
	return nil
}

// saveEndpoint adds the spans of endpoint ep's keys, given high, a key at
// or above every key written before, and returns the upper end of the
// endpoint's last span.
func (sp *spans) saveEndpoint(ctx context.Context, s *Store, tx *sql.Tx, ins *rowWriter, ep, high string) (string, error) {
	keys := sp.keys[ep]
	slices.Sort(keys)
	keys = slices.Compact(keys)
	sp.keys[ep] = keys // as it is, should the transaction run again
	last, ok := s.tops.last(tx, ep, sp.kind)
	if !ok {
		st, err := s.txStmt(ctx, tx, spanLastSQL)
		if err != nil {
			return "", err
		}
		switch err := st.QueryRowContext(ctx, ep, sp.kind).Scan(&last[0], &last[1]); {
		case errors.Is(err, sql.ErrNoRows):
			last = [2]string{}
		case err != nil:
			return "", err
		}
	}
	// Keys up to the end of the last span may be held already.
	i, found := slices.BinarySearch(keys, last[1])
	if found {
		i++
	}
	for _, k := range keys[:i] {
		if last[0] <= k {
			continue
		}
		held, err := sp.held(ctx, s, tx, ep, k)
		if err != nil {
			return "", err
		}
		if !held {
			if err := ins.add(ctx, ep, sp.kind, k, k); err != nil {
				return "", err
			}
		}
	}
	// Above the endpoint's spans, keys below high are late: a span over
	// them would hold rows of earlier writes.
	keys = keys[i:]
	j, found := slices.BinarySearch(keys, high)
	if found {
		j++
	}
	for _, k := range keys[:j] {
		if err := ins.add(ctx, ep, sp.kind, k, k); err != nil {
			return "", err
		}
		last = [2]string{k, k}
	}
	if fresh := keys[j:]; len(fresh) > 0 {
		last = [2]string{fresh[0], fresh[len(fresh)-1]}
		if err := ins.add(ctx, ep, sp.kind, last[0], last[1]); err != nil {
			return "", err
		}
	}
	s.tops.setLast(tx, ep, sp.kind, last)
	return last[1], nil
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

// spanTops spares writes the lookups of spans: per endpoint and kind, the
// endpoint's last span, and per kind a key at or above every key written.
// What a transaction learns takes effect when it commits (settle); until
// then only that transaction sees it. Deleting spans forgets the last
// spans; the highest keys may only stay higher than they need be.
type spanTops struct {
	mu      sync.Mutex
	lasts   map[spanTop][2]string
	highs   [2]string
	pending map[*sql.Tx]*spanTopsTx
}

type spanTop struct {
	endpointID string
	kind       int
}

type spanTopsTx struct {
	lasts map[spanTop][2]string
	highs [2]string
}

// init sets the highest keys written, as the store opens.
func (t *spanTops) init(deliveries, attempts string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.highs = [2]string{spanDeliveries: deliveries, spanAttempts: attempts}
}

func (t *spanTops) tx(tx *sql.Tx) *spanTopsTx {
	if t.pending == nil {
		t.pending = map[*sql.Tx]*spanTopsTx{}
	}
	p, ok := t.pending[tx]
	if !ok {
		p = &spanTopsTx{lasts: map[spanTop][2]string{}}
		t.pending[tx] = p
	}
	return p
}

func (t *spanTops) last(tx *sql.Tx, endpointID string, kind int) ([2]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := spanTop{endpointID, kind}
	if p, ok := t.pending[tx]; ok {
		if last, ok := p.lasts[k]; ok {
			return last, true
		}
	}
	last, ok := t.lasts[k]
	return last, ok
}

func (t *spanTops) setLast(tx *sql.Tx, endpointID string, kind int, last [2]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tx(tx).lasts[spanTop{endpointID, kind}] = last
}

func (t *spanTops) high(tx *sql.Tx, kind int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.pending[tx]; ok {
		return max(t.highs[kind], p.highs[kind])
	}
	return t.highs[kind]
}

func (t *spanTops) raise(tx *sql.Tx, kind int, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.tx(tx)
	p.highs[kind] = max(p.highs[kind], key)
}

// settle ends what tx learned: kept if it committed, else dropped.
func (t *spanTops) settle(tx *sql.Tx, committed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.pending[tx]
	if !ok {
		return
	}
	delete(t.pending, tx)
	if !committed {
		return
	}
	if t.lasts == nil {
		t.lasts = map[spanTop][2]string{}
	}
	maps.Copy(t.lasts, p.lasts)
	for kind := range t.highs {
		t.highs[kind] = max(t.highs[kind], p.highs[kind])
	}
}

// forget drops the last spans known, for a transaction that deletes
// spans; it must run within that transaction, while no other can.
func (t *spanTops) forget() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lasts = nil
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
	if floor := q.Floor(); floor != "" {
		// No span that ends below the list's least key holds any of it.
		q.Add("s.hi >= ?", floor)
	}
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

// endpointDeliveryRows selects, through the spans of endpoint ?1, the
// rowids of all of that endpoint's deliveries, for deleting them.
var endpointDeliveryRows = `SELECT t.rowid FROM endpoint_spans s CROSS JOIN deliveries t INDEXED BY deliveries_msg
	WHERE s.endpoint_id = ?1 AND s.kind = ` + strconv.Itoa(spanDeliveries) + ` AND t.msg_id >= s.lo AND t.msg_id <= s.hi AND t.endpoint_id = ?1`
