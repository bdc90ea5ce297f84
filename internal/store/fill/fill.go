// Package fill gives a store a long history quickly, through its bulk
// path (store.Copier's Load), for measuring how hookline's costs grow with
// what it holds. The history looks like a busy installation's: several
// apps of unequal size with three endpoints each, a mix of event types of
// which one is rare, messages spread evenly over a span of time, each with
// its delivery and one attempt (one in twenty with a failed attempt before
// it), and requests received on a source.
//
// A History is a fixed sequence of rows; Grow stores a stretch of it.
// Growing a store in steps makes the same rows as growing it at once, and
// every step's IDs and times are above the previous step's, as they are
// when a store grows in use: SQLite's per-endpoint spans rely on keys that
// grow.
package fill

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/ksuid"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// The shape of every history.
const (
	// Apps is how many apps a history has; the first takes 70% of the
	// messages, the others 15%, 10% and 5%.
	Apps = 4
	// EndpointsPerApp is how many endpoints each app has; each message
	// goes to one of them, the first taking 60%, the others 30% and 10%.
	EndpointsPerApp = 3
	// RareEventType is the event type of one message in a thousand.
	RareEventType = "customer.deleted"
	// MaxReceived is the most received requests a history holds.
	MaxReceived = 100_000
	// SourceUID is the uid of the source the requests were received on.
	SourceUID = "growth-github"
)

// eventTypes are the event types with their share in thousandths; the
// last is RareEventType.
var eventTypes = []struct {
	name  string
	share uint64
}{{"invoice.paid", 550}, {"invoice.created", 250}, {"customer.updated", 199}, {RareEventType, 1}}

var (
	appShares      = []uint64{700, 150, 100, 50}
	endpointShares = []uint64{600, 300, 100}
	typeShares     = func() []uint64 {
		s := make([]uint64, len(eventTypes))
		for i, et := range eventTypes {
			s[i] = et.share
		}
		return s
	}()
)

// History is the sequence of rows a store is grown with.
type History struct {
	// End is when the history ends and Span how long it lasts: message i
	// of Total is created at End - Span + (i+1)×Span/(Total+1).
	End  time.Time
	Span time.Duration
	// Total is how many messages the whole history has; a store grown to
	// fewer holds its oldest ones.
	Total int64
	// Batch is how many messages one Load stores, with their deliveries
	// and attempts; 0 means 2,000.
	Batch int
}

// Counts are the rows a Grow stored.
type Counts struct {
	Messages, Deliveries, Attempts, Received int64
}

// Rows returns the sum of the counts.
func (c Counts) Rows() int64 { return c.Messages + c.Deliveries + c.Attempts + c.Received }

// Received returns how many received requests a store grown to n messages
// holds: a tenth of n, at most MaxReceived.
func Received(n int64) int64 { return min(n/10, MaxReceived) }

// start returns when the history begins.
func (h *History) start() time.Time { return h.End.Add(-h.Span).UTC() }

// MessageTime returns when message i was created.
func (h *History) MessageTime(i int64) time.Time {
	return h.start().Add(time.Duration(float64(h.Span) * float64(i+1) / float64(h.Total+1)))
}

// receivedTime returns when received request i came.
func (h *History) receivedTime(i int64) time.Time {
	n := max(Received(h.Total), 1)
	return h.start().Add(time.Duration(float64(h.Span) * float64(i+1) / float64(n+1)))
}

// id returns an ID with prefix at t whose remaining bits hold kind, seq
// and sub, so that IDs of one kind made at one second sort by seq and sub.
func id(prefix string, t time.Time, kind byte, seq int64, sub byte) string {
	var payload [16]byte
	payload[0] = kind
	binary.BigEndian.PutUint64(payload[1:9], uint64(seq))
	payload[9] = sub
	k, err := ksuid.FromParts(t, payload[:])
	if err != nil {
		panic(fmt.Sprintf("fill: id at %s: %v", t, err)) // the payload has the right size; a time before 2014 is a bug
	}
	return prefix + k.String()
}

// AppID returns the ID of app a, 0 to Apps-1; app 0 is the largest.
func (h *History) AppID(a int) string {
	return id(hookline.PrefixApp, h.start().Add(-time.Hour), 'a', int64(a), 0)
}

// EndpointID returns the ID of endpoint e of app a; endpoint 0 takes the
// most messages.
func (h *History) EndpointID(a, e int) string {
	return id(hookline.PrefixEndpoint, h.start().Add(-time.Hour), 'e', int64(a), byte(e))
}

// SourceID returns the ID of the source the requests were received on.
func (h *History) SourceID() string {
	return id(hookline.PrefixSource, h.start().Add(-time.Hour), 's', 0, 0)
}

// mix returns a well-spread hash of i and salt (SplitMix64), from which
// each message's app, endpoint, event type and outcome are drawn.
func mix(i int64, salt uint64) uint64 {
	z := uint64(i)*0x9e3779b97f4a7c15 + salt*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// pick returns the index of the share that draws r, in thousandths.
func pick(r uint64, shares []uint64) int {
	r %= 1000
	for i, s := range shares {
		if r < s {
			return i
		}
		r -= s
	}
	return len(shares) - 1
}

// message returns message i with its app and endpoint indexes.
func (h *History) message(i int64) (m *hookline.Message, app, ep int) {
	app = pick(mix(i, 1), appShares)
	ep = pick(mix(i, 2), endpointShares)
	et := eventTypes[pick(mix(i, 3), typeShares)].name
	t := h.MessageTime(i)
	payload := fmt.Sprintf(`{"id":"evt_%d","type":%q,"created":%d,"data":{"object":{"id":"in_%x","customer":"cus_%x","amount_due":%d,"currency":"eur","lines":[{"description":"Pro plan","quantity":%d}],"status":"paid"}}}`,
		i, et, t.Unix(), mix(i, 4)>>16, mix(i, 5)%5000, 100+mix(i, 6)%100000, 1+mix(i, 7)%9)
	return &hookline.Message{
		ID: id(hookline.PrefixMessage, t, 'm', i, 0), AppID: h.AppID(app), EventType: et, EventID: fmt.Sprintf("evt_%d", i),
		Payload: json.RawMessage(payload), CreatedAt: t,
	}, app, ep
}

// retryAfter is how long after a failed first attempt its retry comes:
// at most half the time between two messages, so that attempt IDs still
// grow with the message they belong to.
func (h *History) retryAfter() time.Duration {
	return min(h.Span/time.Duration(max(2*(h.Total+1), 1)), 5*time.Second)
}

// records appends message i's records: the message, its delivery and its
// attempts.
func (h *History) records(recs []store.Record, i int64, c *Counts) []store.Record {
	m, app, ep := h.message(i)
	epID := h.EndpointID(app, ep)
	url := fmt.Sprintf("https://hooks.example.com/%d/%d", app, ep)
	first := m.CreatedAt.Add(40 * time.Millisecond)
	failed := mix(i, 8)%20 == 0
	d := &hookline.Delivery{
		ID: id(hookline.PrefixDelivery, m.CreatedAt, 'd', i, 0), AppID: m.AppID, MessageID: m.ID, EndpointID: epID,
		Status: hookline.StatusSuccess, Trigger: hookline.TriggerScheduled, Attempts: 1, CreatedAt: m.CreatedAt, UpdatedAt: first,
	}
	recs = append(recs, store.Record{Message: m}, store.Record{Delivery: d})
	attempt := func(at time.Time, sub byte, code int, resp string) {
		status := hookline.StatusSuccess
		if code >= 300 {
			status = hookline.StatusFail
		}
		recs = append(recs, store.Record{Attempt: &hookline.Attempt{
			ID: id(hookline.PrefixAttempt, at, 't', i, sub), DeliveryID: d.ID, AppID: m.AppID, MessageID: m.ID, EndpointID: epID,
			URL: url, Status: status,
			Trigger: hookline.TriggerScheduled, StatusCode: code, Response: resp,
			ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}, "X-Request-Id": {fmt.Sprintf("req_%x", mix(i, 9+uint64(sub)))}},
			Duration:        time.Duration(20+mix(i, 11+uint64(sub))%80) * time.Millisecond, CreatedAt: at,
		}})
		c.Attempts++
	}
	if failed {
		attempt(first, 0, 500, `{"error":"internal server error"}`)
		retry := first.Add(h.retryAfter())
		d.Attempts, d.UpdatedAt = 2, retry
		attempt(retry, 1, 200, `{"ok":true}`)
	} else {
		attempt(first, 0, 200, `{"ok":true}`)
	}
	c.Messages++
	c.Deliveries++
	return recs
}

// setup returns the records every history starts with: its apps, event
// types, endpoints and source.
func (h *History) setup() []store.Record {
	at := h.start().Add(-time.Hour)
	var recs []store.Record
	for a := range Apps {
		recs = append(recs, store.Record{App: &hookline.App{ID: h.AppID(a), UID: fmt.Sprintf("growth-%d", a),
			Name: fmt.Sprintf("Growth %d", a), CreatedAt: at, UpdatedAt: at}})
	}
	for _, et := range eventTypes {
		recs = append(recs, store.Record{EventType: &hookline.EventType{Name: et.name, Description: "A " + et.name + " event.",
			CreatedAt: at, UpdatedAt: at}})
	}
	for a := range Apps {
		for e := range EndpointsPerApp {
			recs = append(recs, store.Record{Endpoint: &hookline.Endpoint{ID: h.EndpointID(a, e), AppID: h.AppID(a),
				UID: fmt.Sprintf("growth-%d-%d", a, e), URL: fmt.Sprintf("https://hooks.example.com/%d/%d", a, e),
				Version: 1, Secrets: []hookline.Secret{{Key: []byte(fmt.Sprintf("growth-secret-%d-%d-0123456789ab", a, e))}},
				CreatedAt: at, UpdatedAt: at}})
		}
	}
	recs = append(recs, store.Record{Source: &hookline.Source{ID: h.SourceID(), UID: SourceUID, Name: "GitHub",
		TokenHash: []byte(h.SourceID()), Methods: []string{"POST"}, MaxBodyBytes: hookline.DefaultSourceMaxBody,
		Response: hookline.DefaultSourceResponse, KeepRejected: true, Routes: []hookline.Route{{ID: "rt_growth", Type: hookline.RouteHold}},
		CreatedAt: at, UpdatedAt: at}})
	return recs
}

// received returns received request i: a GitHub pull request event, one
// in a hundred rejected for its signature.
func (h *History) received(i int64) *hookline.Received {
	t := h.receivedTime(i)
	body := fmt.Sprintf(`{"action":"opened","number":%d,"repository":{"name":"repo-%d"},"sender":{"login":"user-%d"}}`, i, i%50, mix(i, 12)%500)
	r := &hookline.Received{ID: id(hookline.PrefixReceived, t, 'r', i, 0), SourceID: h.SourceID(), Method: "POST", Path: "/in/****",
		Headers: map[string][]string{"Content-Type": {"application/json"}, "X-Github-Event": {"pull_request"}},
		Body:    []byte(body), View: json.RawMessage(body), Verified: i%100 != 0, EventType: "pull_request",
		RemoteAddr: "192.0.2.1:443", CreatedAt: t}
	if !r.Verified {
		r.VerifyError = "no matching signature"
	}
	return r
}

// Progress is how far a Grow has come.
type Progress struct {
	Done    Counts
	Elapsed time.Duration
}

// Grow stores the stretch of the history from message from (the count a
// store already holds) up to message to, with the received requests that
// go with it, and returns the rows it stored. Given from 0, it stores the
// apps, event types, endpoints and source first. progress, when not nil,
// is called after each Load.
func (h *History) Grow(ctx context.Context, st store.Store, from, to int64, progress func(Progress)) (Counts, error) {
	var c Counts
	if from < 0 || to < from || to > h.Total {
		return c, fmt.Errorf("fill: grow from %d to %d messages: want 0 <= from <= to <= %d", from, to, h.Total)
	}
	if h.Span <= 0 || h.End.IsZero() {
		return c, errors.New("fill: the history needs an End and a positive Span")
	}
	cp, ok := st.(store.Copier)
	if !ok {
		return c, errors.New("fill: this store has no bulk load (store.Copier)")
	}
	batch := h.Batch
	if batch <= 0 {
		batch = 2000
	}
	began := time.Now()
	load := func(recs []store.Record) error {
		if err := cp.Load(ctx, recs); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		if progress != nil {
			progress(Progress{Done: c, Elapsed: time.Since(began)})
		}
		return nil
	}
	if from == 0 {
		if err := load(h.setup()); err != nil {
			return c, err
		}
	}
	recs := make([]store.Record, 0, batch*3)
	for r, rTo := Received(from), Received(to); r < rTo; {
		recs = recs[:0]
		for ; r < rTo && len(recs) < batch; r++ {
			recs = append(recs, store.Record{Received: h.received(r)})
			c.Received++
		}
		if err := load(recs); err != nil {
			return c, err
		}
	}
	for i := from; i < to; {
		recs = recs[:0]
		for end := min(i+int64(batch), to); i < end; i++ {
			recs = h.records(recs, i, &c)
		}
		if err := load(recs); err != nil {
			return c, err
		}
	}
	return c, nil
}
