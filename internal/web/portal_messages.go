package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/encode"
	"github.com/hookline/hookline/internal/store"
)

// localTime is the layout of a datetime-local input, read as UTC.
const localTime = "2006-01-02T15:04"

// statusWords name a delivery's status for a customer.
var statusWords = map[hookline.Status]string{
	hookline.StatusSuccess: "Delivered",
	hookline.StatusFail:    "Failed",
	hookline.StatusPending: "Pending",
	hookline.StatusSending: "Sending",
}

// statusClass is the state-* style of a status.
func statusClass(st hookline.Status) string {
	switch st {
	case hookline.StatusSuccess:
		return "enabled"
	case hookline.StatusFail:
		return "disabled"
	}
	return "pending"
}

// logFilter is the filter form of the logs, named as the API's query
// parameters are.
type logFilter struct {
	Endpoint  string
	Status    string
	EventType string
	Since     string
	Until     string
	Q         string
}

// Query returns the filter as a query string, for the pager's links.
func (f logFilter) Query() string {
	v := url.Values{}
	for k, s := range map[string]string{"endpoint": f.Endpoint, "status": f.Status, "eventType": f.EventType, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "&" + v.Encode()
}

// logsPage is the list of the app's messages.
type logsPage struct {
	basePage
	Filter    logFilter
	Endpoints []option
	Types     []option
	Statuses  []option
	Rows      []messageRow
	// Errors are the filter's mistakes, by input name.
	Errors       map[string]string
	NotFound     string
	Newer, Older string
}

type option struct {
	Value, Label string
	Selected     bool
}

// messageRow is a message as the logs show it: with its delivery's state
// when the list is of one endpoint, else a summary of its deliveries.
type messageRow struct {
	ID, EventType, EventID string
	CreatedAt              time.Time
	State, StateText       string
}

func parseLocal(name, v string, errs map[string]string) *time.Time {
	if v == "" {
		return nil
	}
	t, err := time.ParseInLocation(localTime, v, time.UTC)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v)
	}
	if err != nil {
		errs[name] = "must be a date and time such as 2026-01-02T15:04"
		return nil
	}
	t = t.UTC()
	return &t
}

// pageOf reads the iterator of a keyset page of IDs with prefix.
func pageOf(q url.Values, prefix string, limit int) (store.Page, error) {
	p := store.Page{Limit: limit, Desc: true, Iterator: q.Get("iterator")}
	if it, ok := strings.CutPrefix(p.Iterator, "-"); ok {
		p.Iterator, p.Prev = it, true
	}
	if p.Iterator != "" && !hookline.IsID(prefix, p.Iterator) {
		return p, errPageNotFound
	}
	return p, nil
}

// neighbours returns the iterators of the pages beside one of ids.
func neighbours(p store.Page, done bool, first, last string) (newer, older string) {
	if first == "" {
		return "", ""
	}
	// Walking back, done means no newer page; walking on, no older one.
	if (p.Prev && !done) || (!p.Prev && p.Iterator != "") {
		newer = "-" + first
	}
	if (!p.Prev && !done) || p.Prev {
		older = last
	}
	return newer, older
}

func (s *server) messageList(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	f := logFilter{Endpoint: q.Get("endpoint"), Status: q.Get("status"), EventType: q.Get("eventType"),
		Since: q.Get("since"), Until: q.Get("until"), Q: strings.TrimSpace(q.Get("q"))}
	ctx := r.Context()
	pg := logsPage{basePage: s.base(sess, "Logs", "messages"), Filter: f, Errors: map[string]string{}}
	pg.Flash = flashes[q.Get("done")]
	if f.Q != "" {
		m, err := s.ops.Message(ctx, sess.acc, sess.app.ID, f.Q)
		if err == nil {
			http.Redirect(w, r, sess.base+"/messages/"+m.ID, http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, hookline.ErrNotFound) {
			return err
		}
		pg.NotFound = f.Q
	}
	p, err := pageOf(q, hookline.PrefixMessage, pageSize)
	if err != nil {
		return err
	}
	win := store.Window{}
	if since := parseLocal("since", f.Since, pg.Errors); since != nil {
		after := since.Add(-time.Microsecond)
		win.After = &after
	}
	win.Before = parseLocal("until", f.Until, pg.Errors)
	var types []string
	if f.EventType != "" {
		types = []string{f.EventType}
	}
	var status *hookline.Status
	if f.Status != "" {
		st, ok := parseStatus(f.Status)
		switch {
		case !ok:
			pg.Errors["status"] = "is not a status"
		case f.Endpoint == "":
			pg.Errors["status"] = "Choose an endpoint to see its webhooks by status."
		default:
			status = &st
		}
	}
	if err := s.logChoices(ctx, sess, &pg); err != nil {
		return err
	}
	if f.Endpoint != "" {
		ms, done, err := s.ops.EndpointMessages(ctx, sess.acc, sess.app.ID, f.Endpoint,
			store.EndpointMessageFilter{Page: p, Window: win, Status: status, EventTypes: types})
		if errors.Is(err, hookline.ErrNotFound) {
			pg.Errors["endpoint"] = "There is no such endpoint; it may have been deleted."
			err = nil
		}
		if err != nil {
			return err
		}
		for _, m := range ms {
			pg.Rows = append(pg.Rows, messageRow{ID: m.Message.ID, EventType: m.Message.EventType, EventID: m.Message.EventID,
				CreatedAt: m.Message.CreatedAt, State: statusClass(m.Delivery.Status), StateText: statusWords[m.Delivery.Status]})
		}
		if len(ms) > 0 {
			pg.Newer, pg.Older = neighbours(p, done, ms[0].Message.ID, ms[len(ms)-1].Message.ID)
		}
	} else {
		ms, done, err := s.ops.MessageList(ctx, sess.acc, sess.app.ID, store.MessageFilter{Page: p, Window: win, EventTypes: types})
		if err != nil {
			return err
		}
		for i := range ms {
			row := messageRow{ID: ms[i].ID, EventType: ms[i].EventType, EventID: ms[i].EventID, CreatedAt: ms[i].CreatedAt}
			if row.State, row.StateText, err = s.deliverySummary(ctx, sess, ms[i].ID); err != nil {
				return err
			}
			pg.Rows = append(pg.Rows, row)
		}
		if len(ms) > 0 {
			pg.Newer, pg.Older = neighbours(p, done, ms[0].ID, ms[len(ms)-1].ID)
		}
	}
	return s.render(w, http.StatusOK, "messages", pg)
}

// parseStatus reads a status by its API name.
func parseStatus(v string) (hookline.Status, bool) {
	for st := range statusWords {
		if st.String() == v {
			return st, true
		}
	}
	return 0, false
}

// summaryEndpoints is how many of a message's deliveries a summary reads.
const summaryEndpoints = 50

// deliverySummary says how a message's deliveries stand, in a few words.
func (s *server) deliverySummary(ctx context.Context, sess *session, msgID string) (state, text string, err error) {
	return s.summaryOf(ctx, sess.acc, sess.app.ID, msgID)
}

// summaryOf says how the deliveries of a message of app appID stand.
func (s *server) summaryOf(ctx context.Context, acc *hookline.Access, appID, msgID string) (state, text string, err error) {
	eps, _, err := s.ops.MessageEndpoints(ctx, acc, appID, msgID, store.Page{Limit: summaryEndpoints})
	if err != nil {
		return "", "", err
	}
	if len(eps) == 0 {
		return "none", "No endpoint", nil
	}
	counts := map[hookline.Status]int{}
	for _, e := range eps {
		counts[e.Delivery.Status]++
	}
	if len(counts) == 1 {
		st := eps[0].Delivery.Status
		return statusClass(st), statusWords[st], nil
	}
	var parts []string
	state = "failing"
	for _, st := range []hookline.Status{hookline.StatusFail, hookline.StatusPending, hookline.StatusSending, hookline.StatusSuccess} {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(statusWords[st])))
		}
	}
	if counts[hookline.StatusFail] > 0 {
		state = "disabled"
	}
	return state, strings.Join(parts, ", "), nil
}

// logChoices fills the filter form's choices: the app's endpoints, the
// catalog's event types, the statuses.
func (s *server) logChoices(ctx context.Context, sess *session, pg *logsPage) error {
	eps, _, err := s.ops.EndpointList(ctx, sess.acc, sess.app.ID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	for _, e := range eps {
		pg.Endpoints = append(pg.Endpoints, option{Value: e.ID, Label: e.URL, Selected: e.ID == pg.Filter.Endpoint})
	}
	ets, err := s.ops.EventTypes(ctx, sess.acc, catalogMax)
	if err != nil {
		return err
	}
	for _, et := range ets {
		pg.Types = append(pg.Types, option{Value: et.Name, Label: et.Name, Selected: et.Name == pg.Filter.EventType})
	}
	for _, st := range []hookline.Status{hookline.StatusSuccess, hookline.StatusFail, hookline.StatusPending, hookline.StatusSending} {
		pg.Statuses = append(pg.Statuses, option{Value: st.String(), Label: statusWords[st], Selected: st.String() == pg.Filter.Status})
	}
	return nil
}

// messagePage shows one message: its payload, where it went, the attempts.
type messagePage struct {
	basePage
	Message    *hookline.Message
	Payload    string
	Deliveries []deliveryRow
	Attempts   []attemptRow
	// Refresh is set while a delivery is still on its way, so the page
	// can reload itself.
	Refresh bool
}

type deliveryRow struct {
	EndpointID, URL  string
	State, StateText string
	NextAttempt      *time.Time
}

type attemptRow struct {
	*hookline.Attempt
	State, StateText string
}

func newAttemptRow(a *hookline.Attempt) attemptRow {
	row := attemptRow{Attempt: a, State: "enabled", StateText: "Succeeded"}
	if a.Status != hookline.StatusSuccess {
		row.State, row.StateText = "disabled", "Failed"
	}
	return row
}

// messageAttempts is how many attempts the message page shows.
const messageAttempts = 50

func (s *server) messageShow(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	m, err := s.ops.Message(ctx, sess.acc, sess.app.ID, r.PathValue("msg_id"))
	if err != nil {
		return err
	}
	pg := messagePage{basePage: s.base(sess, "Message", "messages"), Message: m, Payload: indentJSON(m.Payload)}
	pg.Flash = flashes[r.URL.Query().Get("done")]
	eps, _, err := s.ops.MessageEndpoints(ctx, sess.acc, sess.app.ID, m.ID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	for _, e := range eps {
		d := deliveryRow{EndpointID: e.Endpoint.ID, URL: e.Endpoint.URL, State: statusClass(e.Delivery.Status),
			StateText: statusWords[e.Delivery.Status]}
		switch st := e.Delivery.Status; {
		case st == hookline.StatusSending:
			pg.Refresh = true
		case st == hookline.StatusPending && !e.Delivery.NextAttempt.IsZero():
			t := e.Delivery.NextAttempt
			d.NextAttempt = &t
			// A retry due soon is worth waiting for on the page.
			pg.Refresh = pg.Refresh || !t.After(s.now().Add(time.Minute))
		}
		pg.Deliveries = append(pg.Deliveries, d)
	}
	ats, _, err := s.ops.AttemptList(ctx, sess.acc, sess.app.ID, store.AttemptFilter{MessageID: m.ID,
		Page: store.Page{Limit: messageAttempts, Desc: true}})
	if err != nil {
		return err
	}
	for i := range ats {
		pg.Attempts = append(pg.Attempts, newAttemptRow(&ats[i]))
	}
	return s.render(w, http.StatusOK, "message", pg)
}

// attemptPage shows one attempt: the request as sent and the response.
type attemptPage struct {
	basePage
	Attempt attemptRow
	Message *hookline.Message
	// Request is the request as hookline sends it to the endpoint now;
	// ReqNote says what may differ from what was sent then.
	ReqHeaders [][2]string
	ReqBody    string
	// RespHeaders are sorted by name.
	RespHeaders [][2]string
	RespBody    string
	Endpoint    *hookline.Endpoint
}

func (s *server) attemptShow(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	m, err := s.ops.Message(ctx, sess.acc, sess.app.ID, r.PathValue("msg_id"))
	if err != nil {
		return err
	}
	a, err := s.ops.Attempt(ctx, sess.acc, sess.app.ID, m.ID, r.PathValue("attempt_id"))
	if err != nil {
		return err
	}
	pg := attemptPage{basePage: s.base(sess, "Attempt", "messages"), Attempt: newAttemptRow(a), Message: m}
	pg.RespBody = a.Response
	if pg.RespBody == "" && a.StatusCode == 0 {
		pg.RespBody = a.Error
	}
	for _, k := range slices.Sorted(maps.Keys(a.ResponseHeaders)) {
		for _, v := range a.ResponseHeaders[k] {
			pg.RespHeaders = append(pg.RespHeaders, [2]string{k, v})
		}
	}
	e, err := s.ops.Endpoint(ctx, sess.acc, sess.app.ID, a.EndpointID)
	if err != nil && !errors.Is(err, hookline.ErrNotFound) {
		return err
	}
	pg.Endpoint = e
	pg.ReqHeaders, pg.ReqBody = requestOf(e, m, a)
	return s.render(w, http.StatusOK, "attempt", pg)
}

// requestOf shows the request of an attempt: its body in the endpoint's
// format and its headers, with signature values and credential headers
// left out (signatures are not kept; credentials are not shown).
func requestOf(e *hookline.Endpoint, m *hookline.Message, a *hookline.Attempt) ([][2]string, string) {
	body, contentType := []byte(m.Payload), m.ContentType
	if contentType == "" {
		format := hookline.FormatJSON
		if e != nil {
			format = e.Format
		}
		b, ct, err := encode.Body(format, m.Payload)
		if err != nil {
			return nil, "(the payload could not be written in this format: " + err.Error() + ")"
		}
		body, contentType = b, ct
	}
	h := map[string]string{}
	if e != nil {
		for k, v := range e.Headers {
			if hookline.SensitiveHeader(k) {
				v = "(hidden)"
			}
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	h["Content-Type"] = contentType
	h["Webhook-Id"] = m.ID
	h["Webhook-Timestamp"] = strconv.FormatInt(a.CreatedAt.Unix(), 10)
	h["Webhook-Signature"] = "v1,… (signed with the endpoint's secret)"
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(h)) {
		out = append(out, [2]string{k, h[k]})
	}
	text := string(body)
	if contentType == "application/json" {
		text = indentJSON(body)
	}
	return out, text
}

func (s *server) messageResend(w http.ResponseWriter, r *http.Request, sess *session) error {
	msgID := r.PathValue("msg_id")
	if err := s.ops.Resend(r.Context(), sess.acc, sess.app.ID, msgID, r.PostFormValue("endpoint")); err != nil {
		return err
	}
	seeOther(w, r, sess.base+"/messages/"+url.PathEscape(msgID), "resent")
	return nil
}
