package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// defaultLimit is the page size when a list request gives none, as in Svix.
const defaultLimit = 50

// query reads query parameters and collects what is wrong with them, so
// that a request with several bad parameters hears about all of them in
// one 422 with loc ["query", name].
type query struct {
	values url.Values
	errs   hookline.ValidationError
}

func newQuery(r *http.Request) *query {
	return &query{values: r.URL.Query()}
}

func (q *query) fail(name, msg string) {
	q.errs.Fields = append(q.errs.Fields, hookline.FieldError{Loc: []string{"query", name}, Msg: msg, Type: "value_error"})
}

// err returns the collected errors, or nil.
func (q *query) err() error {
	if len(q.errs.Fields) == 0 {
		return nil
	}
	return &q.errs
}

// bool reads a boolean parameter, def when absent.
func (q *query) bool(name string, def bool) bool {
	s := q.values.Get(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(name, "must be true or false")
		return def
	}
	return v
}

// time reads an RFC 3339 timestamp parameter, nil when absent.
func (q *query) time(name string) *time.Time {
	s := q.values.Get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.fail(name, "must be an RFC 3339 date-time such as 2025-01-02T15:04:05Z")
		return nil
	}
	t = t.UTC()
	return &t
}

// window reads the before and after parameters.
func (q *query) window() store.Window {
	return store.Window{Before: q.time("before"), After: q.time("after")}
}

// name reads a parameter that must be a valid name (a channel, say), ""
// when absent.
func (q *query) name(name string) string {
	s := q.values.Get(name)
	if s != "" && !hookline.ValidName(s) {
		q.fail(name, "must be 1 to 256 characters of a-z, A-Z, 0-9, '-', '_' or '.'")
		return ""
	}
	return s
}

// eventTypes reads the event_types filter. Like Svix, it takes repeated
// parameters (event_types=a&event_types=b), the bracket forms
// (event_types[]=a, event_types[0]=a) and comma-separated lists, which is
// what the SDKs send.
func (q *query) eventTypes() []string {
	var names []string
	seen := map[string]bool{}
	for key, vals := range q.values {
		if key != "event_types" && !(strings.HasPrefix(key, "event_types[") && strings.HasSuffix(key, "]")) {
			continue
		}
		for _, v := range vals {
			for _, n := range strings.Split(v, ",") {
				if n == "" || seen[n] {
					continue
				}
				if !hookline.ValidName(n) {
					q.fail("event_types", "items must be 1 to 256 characters of a-z, A-Z, 0-9, '-', '_' or '.'")
					return nil
				}
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// status reads a message status filter (Svix's MessageStatus: 0 success,
// 1 pending, 2 fail, 3 sending), nil when absent.
func (q *query) status() *hookline.Status {
	s := q.values.Get("status")
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < int(hookline.StatusSuccess) || n > int(hookline.StatusSending) {
		q.fail("status", "must be 0 (success), 1 (pending), 2 (fail) or 3 (sending)")
		return nil
	}
	st := hookline.Status(n)
	return &st
}

// statusCodeClass reads Svix's StatusCodeClass (0 for no response, else
// 100, 200, 300, 400 or 500) and returns the store's encoding, in which 0
// means any and 1 means no response.
func (q *query) statusCodeClass() int {
	s := q.values.Get("status_code_class")
	if s == "" {
		return 0
	}
	switch s {
	case "0":
		return 1
	case "100", "200", "300", "400", "500":
		n, _ := strconv.Atoi(s)
		return n
	}
	q.fail("status_code_class", "must be 0, 100, 200, 300, 400 or 500")
	return 0
}

// pageSpec says how a list pages: whether an iterator is well formed, the
// default order, and whether the client may choose the order.
type pageSpec struct {
	validIterator func(string) bool
	desc          bool
	orderable     bool
}

// idIterator accepts iterators that are IDs with prefix.
func idIterator(prefix string) func(string) bool {
	return func(s string) bool { return hookline.IsID(prefix, s) }
}

// page reads limit, iterator and, where the list has one, order. An
// iterator starting with "-" is a prevIterator: it walks back.
func (q *query) page(spec pageSpec) store.Page {
	p := store.Page{Limit: defaultLimit, Desc: spec.desc}
	if s := q.values.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxLimit {
			q.fail("limit", "must be an integer from 1 to "+strconv.Itoa(store.MaxLimit))
		} else {
			p.Limit = n
		}
	}
	if it := q.values.Get("iterator"); it != "" {
		rest, prev := strings.CutPrefix(it, "-")
		if !spec.validIterator(rest) {
			q.fail("iterator", "must be an iterator or prevIterator returned by a previous page")
		} else {
			p.Iterator, p.Prev = rest, prev
		}
	}
	if spec.orderable {
		switch q.values.Get("order") {
		case "":
		case "ascending":
			p.Desc = false
		case "descending":
			p.Desc = true
		default:
			q.fail("order", "must be ascending or descending")
		}
	}
	return p
}

// listOut is Svix's ListResponse_*: one page and the iterators to the
// next (iterator) and previous (prevIterator) pages.
type listOut[T any] struct {
	Data         []T     `json:"data"`
	Iterator     *string `json:"iterator"`
	PrevIterator *string `json:"prevIterator,omitempty"`
	Done         bool    `json:"done"`
}

// newList builds a page from items in list order; id returns the value
// an item is paged by.
func newList[T any](items []T, done bool, id func(*T) string) listOut[T] {
	l := listOut[T]{Data: items, Done: done}
	if l.Data == nil {
		l.Data = []T{}
	}
	if n := len(items); n > 0 {
		next := id(&items[n-1])
		prev := "-" + id(&items[0])
		l.Iterator, l.PrevIterator = &next, &prev
	}
	return l
}

// appendJSON appends the JSON of the page.
func (l listOut[T]) appendJSON(b []byte) ([]byte, error) {
	return l.encode(nil, b)
}

// flushAt is how much of a page's JSON is gathered before it is written
// out: a page of large items is sent item by item, and never held whole.
const flushAt = 32 << 10

// encode appends the JSON of the page to b item by item, so that items
// that write their own JSON (messages, with their raw payloads) keep doing
// so. With w not nil, it writes b to w whenever it holds flushAt bytes,
// and an item that encodes larger goes to w without being copied into b;
// it returns what is left in b to write.
func (l listOut[T]) encode(w io.Writer, b []byte) ([]byte, error) {
	flush := func() error {
		if w == nil || len(b) == 0 {
			return nil
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	b = append(b, `{"data":[`...)
	for i := range l.Data {
		if i > 0 {
			b = append(b, ',')
		}
		var v any = l.Data[i]
		if a, ok := v.(appender); ok {
			var err error
			if b, err = a.appendJSON(b); err != nil {
				return b, err
			}
		} else {
			enc, err := json.Marshal(v)
			if err != nil {
				return b, err
			}
			if w != nil && len(enc) >= flushAt {
				if err := flush(); err != nil {
					return b, err
				}
				if _, err := w.Write(enc); err != nil {
					return b, err
				}
			} else {
				b = append(b, enc...)
			}
		}
		if w != nil && len(b) >= flushAt {
			if err := flush(); err != nil {
				return b, err
			}
		}
	}
	b = append(b, `],"iterator":`...)
	b, _ = appendValue(b, l.Iterator)
	if l.PrevIterator != nil {
		b = append(b, `,"prevIterator":`...)
		b, _ = appendValue(b, *l.PrevIterator)
	}
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, l.Done)
	return append(b, '}'), nil
}
