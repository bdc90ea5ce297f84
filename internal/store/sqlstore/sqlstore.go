// Package sqlstore holds what the SQL adapters of the store share apart
// from their SQL: the building of paged list queries and their filter
// conditions, the reading of rows and JSON columns, and the folding of a
// batch's attempts into each endpoint's health. Each adapter keeps the SQL
// where the dialects differ, and passes those parts in as a Dialect.
package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Dialect is what a Query needs to know of its database.
type Dialect struct {
	// Numbered has a Query number its placeholders $1, $2, ... in order,
	// as PostgreSQL wants, instead of leaving each a ?.
	Numbered bool
	// Time converts a time to the argument its columns are compared with.
	Time func(time.Time) any
	// In returns the condition, written with ?, that column col holds one
	// of values, and its arguments.
	In func(col string, values []string) (string, []any)
	// Contains returns the condition, written with ?, that the JSON array
	// of strings in column col holds s, and its arguments.
	Contains func(col, s string) (string, []any)
	// PinOwner has a Query write the condition on a list's owner (see
	// Query.Owner) as col = ANY(array) and order the list by the owner's
	// column first. PostgreSQL drops from a list's order a column equal to
	// a constant, and then may walk the primary key back from the newest
	// row, testing the owner of each, rather than the owner's index: it
	// costs the index's reads of the table as scattered and the primary
	// key's as in order, and so reads the newer rows of every other owner.
	// An array is no constant, and the order by the owner's column first
	// is one only the owner's index gives.
	PinOwner bool
}

// rebind numbers the placeholders of query from after+1, for a Numbered
// dialect.
func (d *Dialect) rebind(query string, after int) string {
	if !d.Numbered || strings.IndexByte(query, '?') < 0 {
		return query
	}
	var b strings.Builder
	n := after
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Query builds the WHERE clause of a paged list query. Conditions are
// written with ? for each argument.
type Query struct {
	d     *Dialect
	raw   bool // leave ? as they are: the conditions go into another query's
	where []string
	args  []any
	first string // ordered by before the ID column; see OrderFirst
	floor string // the least ID the list can hold; see Since
	size  string // the SQL expression of a row's weight; see Weigh
	exact bool   // read no row past the page; see SQL
}

// Query starts a query in dialect d.
func (d *Dialect) Query() Query { return Query{d: d} }

// Add adds a condition with its arguments.
func (q *Query) Add(cond string, args ...any) {
	if !q.raw {
		cond = q.d.rebind(cond, len(q.args))
	}
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

// Where returns the conditions joined by AND.
func (q *Query) Where() string { return strings.Join(q.where, " AND ") }

// Args returns the arguments of the conditions, in order.
func (q *Query) Args() []any { return q.args }

// Owner adds the condition that column col, the list's owner (its app,
// endpoint or message), is v: see Dialect.PinOwner.
func (q *Query) Owner(col, v string) {
	if !q.d.PinOwner {
		q.Add(col+" = ?", v)
		return
	}
	q.Add(col+" = ANY(?)", []string{v})
	q.OrderFirst(col)
}

// Window adds the conditions of w on the time column col.
func (q *Query) Window(col string, w store.Window) {
	if w.Before != nil {
		q.Add(col+" < ?", q.d.Time(*w.Before))
	}
	if w.After != nil {
		q.Add(col+" > ?", q.d.Time(*w.After))
	}
}

// Since adds the bound on the ID column idcol that a window starting at
// w.After implies (see hookline.IDFloor), for rows whose IDs have the given
// prefix and whose creation time the window filters on. A list newest
// first then stops at the IDs of the window's start instead of testing the
// creation time of every older row, which on a filter that matches fewer
// rows than a page reads the owner's whole history.
func (q *Query) Since(idcol, prefix string, w store.Window) {
	if w.After == nil {
		return
	}
	q.floor = hookline.IDFloor(prefix, *w.After)
	q.Add(idcol+" >= ?", q.floor)
}

// Until adds the bound on the ID column idcol that a window ending at
// w.Before implies (see hookline.IDCeiling), for rows whose IDs have the
// given prefix and whose creation time the window filters on. A list
// newest first then starts at the IDs of the window's end instead of
// testing the creation time of every newer row.
func (q *Query) Until(idcol, prefix string, w store.Window) {
	if w.Before == nil {
		return
	}
	q.Add(idcol+" <= ?", hookline.IDCeiling(prefix, *w.Before))
}

// Floor returns the bound on the ID column that Since added, or "".
func (q *Query) Floor() string { return q.floor }

// MessageConds adds the event type and channel conditions on messages (or
// received requests, with no channel), whose columns are qualified by
// prefix.
func (q *Query) MessageConds(prefix string, eventTypes []string, channel string) {
	switch len(eventTypes) {
	case 0:
	case 1:
		// An equality, unlike a list, lets the index on the app's event
		// types give the rows of one type in the order of their IDs.
		q.Add(prefix+"event_type = ?", eventTypes[0])
	default:
		cond, args := q.d.In(prefix+"event_type", eventTypes)
		q.Add(cond, args...)
	}
	if channel != "" {
		cond, args := q.d.Contains(prefix+"channels", channel)
		q.Add(cond, args...)
	}
}

// ReceivedListConds adds the conditions of f on the received requests of
// source sourceID.
func (q *Query) ReceivedListConds(sourceID string, f store.ReceivedFilter) {
	q.Add("source_id = ?", sourceID)
	if f.VerifiedOnly {
		q.Add("verified = ?", true)
	}
	q.Window("created_at", f.Window)
	q.Since("id", hookline.PrefixReceived, f.Window)
	q.MessageConds("", f.EventTypes, "")
}

// MessageListConds adds the conditions of f on the messages of app appID.
func (q *Query) MessageListConds(appID string, f store.MessageFilter) {
	if appID != "" {
		q.Owner("app_id", appID)
	}
	q.Window("created_at", f.Window)
	q.Since("id", hookline.PrefixMessage, f.Window)
	q.Until("id", hookline.PrefixMessage, f.Window)
	q.MessageConds("", f.EventTypes, f.Channel)
}

// EndpointMessageConds adds the conditions of f on the deliveries, aliased
// d, of app appID to endpoint endpointID, joined with their messages,
// aliased m.
func (q *Query) EndpointMessageConds(appID, endpointID string, f store.EndpointMessageFilter) {
	q.Add("d.app_id = ?", appID)
	q.Add("d.endpoint_id = ?", endpointID)
	if f.Status != nil {
		q.Add("d.status = ?", *f.Status)
	}
	q.Window("m.created_at", f.Window)
	q.Since("d.msg_id", hookline.PrefixMessage, f.Window)
	q.Until("d.msg_id", hookline.PrefixMessage, f.Window)
	q.MessageConds("m.", f.EventTypes, f.Channel)
}

// AttemptConds adds the conditions of f on the attempts of app appID,
// aliased a; its message conditions look up the attempt's message. The
// list's owner is its message, else its endpoint, else its app. A window's
// end bounds no attempt IDs: an attempt is named when its result is
// written, after its request, as late as the store lets the write through.
func (q *Query) AttemptConds(appID string, f store.AttemptFilter) {
	switch {
	case f.MessageID != "":
		q.Add("a.app_id = ?", appID)
		q.Owner("a.msg_id", f.MessageID)
		if f.EndpointID != "" {
			q.Add("a.endpoint_id = ?", f.EndpointID)
		}
	case f.EndpointID != "":
		q.Add("a.app_id = ?", appID)
		q.Owner("a.endpoint_id", f.EndpointID)
	default:
		q.Owner("a.app_id", appID)
	}
	if f.Status != nil {
		q.Add("a.status = ?", *f.Status)
	}
	switch c := f.StatusCodeClass; {
	case c == 1:
		q.Add("a.status_code = 0")
	case c >= 100:
		q.Add("a.status_code >= ? AND a.status_code < ?", c, c+100)
	}
	q.Window("a.created_at", f.Window)
	q.Since("a.id", hookline.PrefixAttempt, f.Window)
	if len(f.EventTypes) > 0 || f.Channel != "" {
		mq := Query{d: q.d, raw: true}
		mq.MessageConds("m.", f.EventTypes, f.Channel)
		q.Add("EXISTS (SELECT 1 FROM messages m WHERE m.id = a.msg_id AND "+mq.Where()+")", mq.args...)
	}
}

// Weigh has List cap the bytes of a page (store.Page.MaxBytes): size is
// the SQL expression of a row's weight in bytes, the lengths of its
// bodies or payloads, which the database tells without reading them.
func (q *Query) Weigh(size string) { q.size = size }

// clone returns a copy of q that conditions can be added to without
// changing q.
func (q *Query) clone() Query {
	c := *q
	c.where = slices.Clone(q.where)
	c.args = slices.Clone(q.args)
	return c
}

// OrderFirst has the list ordered by col before its ID column, in the
// same direction: for a list whose rows come in groups of ID ranges that
// do not overlap, col naming the group, so that the database walks the
// groups in order instead of sorting the rows.
func (q *Query) OrderFirst(col string) { q.first = col }

// SQL renders "SELECT cols FROM from WHERE ... ORDER BY idcol LIMIT n+1"
// for page p; the extra row tells whether the list is done. The second
// query of a weighed list reads no extra row: see List.
func (q *Query) SQL(cols, from, idcol string, p store.Page) (string, []any) {
	desc := p.Desc != p.Prev // walking back reverses the order
	if p.Iterator != "" {
		if desc {
			q.Add(idcol+" < ?", p.Iterator)
		} else {
			q.Add(idcol+" > ?", p.Iterator)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT " + cols + " FROM " + from)
	if len(q.where) > 0 {
		b.WriteString(" WHERE " + q.Where())
	}
	dir := ""
	if desc {
		dir = " DESC"
	}
	b.WriteString(" ORDER BY ")
	if q.first != "" {
		b.WriteString(q.first + dir + ", ")
	}
	b.WriteString(idcol + dir)
	n := Limit(p)
	if !q.exact {
		n++
	}
	b.WriteString(" LIMIT " + strconv.Itoa(n))
	return b.String(), q.args
}

// Limit returns the number of items on page p: its limit, within
// store.MaxLimit.
func Limit(p store.Page) int {
	if p.Limit <= 0 || p.Limit > store.MaxLimit {
		return store.MaxLimit
	}
	return p.Limit
}

// FinishPage trims the extra row a query from Query.SQL reads and restores
// the list's direction for a page walked backwards. It reports whether the
// list is done.
func FinishPage[T any](items []T, p store.Page) ([]T, bool) {
	n := Limit(p)
	done := len(items) <= n
	if !done {
		items = items[:n]
	}
	if p.Prev {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	return items, done
}

// Prefixed qualifies each column of a column list with a table alias.
func Prefixed(alias, cols string) string {
	return alias + strings.ReplaceAll(strings.ReplaceAll(cols, "\n\t", " "), ", ", ", "+alias)
}

// Rows is a query's result set: *sql.Rows or pgx.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Collect scans every row of a query with scan, then closes the rows. It
// takes the query's error too, so that a query and its scanning are one
// call.
func Collect[R Rows, T any](rows R, err error, scan func(R) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer closeRows(rows)
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// closeRows closes *sql.Rows, whose Close returns an error that Err
// reports as well, or pgx.Rows, whose Close returns nothing.
func closeRows(rows any) {
	switch r := rows.(type) {
	case interface{ Close() error }:
		r.Close()
	case interface{ Close() }:
		r.Close()
	}
}

// ScanString scans a row of one text column, such as an ID.
func ScanString[R Rows](r R) (string, error) {
	var v string
	return v, r.Scan(&v)
}

// ParseJSON decodes a JSON column; an empty or NULL one is T's zero value.
func ParseJSON[T any, S ~string | ~[]byte](s S) (T, error) {
	var v T
	if len(s) == 0 {
		return v, nil
	}
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// NullInt is p's value as an argument, nil for a NULL column.
func NullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// List runs the paged list query q selecting cols from from in the order
// of idcol, with query (a method value such as (*sql.DB).QueryContext or
// (*pgxpool.Pool).Query), and scans page p of its rows with scan. It
// reports whether the list is done.
//
// A query that Weigh was called on is run in two steps: the IDs and
// weights of the page's rows first, then the rows that fit the page's
// byte cap, bounded by their IDs. Rows past the cap are never read, and a
// page cut short by it is not done. The second step reads no row past the
// page: the first told whether the list is done, and the range of IDs
// holds the page, so that asking for one row more would walk the rest of
// the list for a row the range cannot hold.
func List[R Rows, T any](ctx context.Context, query func(context.Context, string, ...any) (R, error), q *Query,
	cols, from, idcol string, p store.Page, scan func(R) (T, error),
) ([]T, bool, error) {
	if q.size != "" {
		return listWeighed(ctx, query, q, cols, from, idcol, p, scan)
	}
	sql, args := q.SQL(cols, from, idcol, p)
	rows, err := query(ctx, sql, args...)
	items, err := Collect(rows, err, scan)
	if err != nil {
		return nil, false, err
	}
	items, done := FinishPage(items, p)
	return items, done, nil
}

// weight is a row's ID and its weight in bytes.
type weight struct {
	id   string
	size int64
}

// listWeighed is List for a query with a weight: see List.
func listWeighed[R Rows, T any](ctx context.Context, query func(context.Context, string, ...any) (R, error), q *Query,
	cols, from, idcol string, p store.Page, scan func(R) (T, error),
) ([]T, bool, error) {
	wq := q.clone()
	sql, args := wq.SQL(idcol+", coalesce("+q.size+", 0)", from, idcol, p)
	rows, err := query(ctx, sql, args...)
	ws, err := Collect(rows, err, func(r R) (weight, error) {
		var w weight
		return w, r.Scan(&w.id, &w.size)
	})
	if err != nil {
		return nil, false, err
	}
	if len(ws) == 0 {
		return nil, true, nil
	}
	n, whole := fit(ws, Limit(p), p.MaxBytes)
	// The rows are those between the first and the last that fit: rows
	// stored since, or grown since, cannot take the page past its cap.
	first, last := ws[0].id, ws[n-1].id
	if p.Desc != p.Prev {
		first, last = last, first
	}
	q.Add(idcol+" >= ?", first)
	q.Add(idcol+" <= ?", last)
	pn := p
	pn.Limit = n
	q.exact = true
	sql, args = q.SQL(cols, from, idcol, pn)
	rows, err = query(ctx, sql, args...)
	items, err := Collect(rows, err, scan)
	if err != nil {
		return nil, false, err
	}
	items, _ = FinishPage(items, pn)
	return items, whole && len(ws) <= Limit(p), nil
}

// fit returns how many of the rows ws, in list order, go on a page of
// limit rows whose weights add up to at most maxBytes (0 for
// store.MaxPageBytes), the first row always; and whether every row up to
// the limit fit.
func fit(ws []weight, limit int, maxBytes int64) (int, bool) {
	if maxBytes <= 0 {
		maxBytes = store.MaxPageBytes
	}
	want := min(len(ws), limit)
	var sum int64
	for i := range want {
		sum += ws[i].size
		if i > 0 && sum > maxBytes {
			return i, false
		}
	}
	return want, true
}
