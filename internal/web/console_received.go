package web

import (
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/ops"
)

// receivedFilter is the inspector's filter, as its GET form sends it.
type receivedFilter struct {
	// Verified is "", "true" or "false".
	Verified string
	// Since and Until bound the time received, as a datetime-local input
	// writes it, in UTC.
	Since, Until string
	// Header is "name=value"; Match is "json.path=value".
	Header, Match string
}

// timeInput is the layout of a datetime-local input.
const timeInput = "2006-01-02T15:04"

func readReceivedFilter(q url.Values) receivedFilter {
	v := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return receivedFilter{Verified: v("verified"), Since: v("since"), Until: v("until"), Header: v("header"), Match: v("match")}
}

// query turns the filter into the operation's query, or says what is wrong
// with it by field.
func (f receivedFilter) query() (ops.ReceivedQuery, map[string]string) {
	var q ops.ReceivedQuery
	errs := map[string]string{}
	switch f.Verified {
	case "":
	case "true":
		q.VerifiedOnly = true
	case "false":
		q.Rejected = true
	default:
		errs["verified"] = "Choose verified, rejected or all."
	}
	parse := func(k, v string) *time.Time {
		if v == "" {
			return nil
		}
		t, err := time.Parse(timeInput, v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				errs[k] = "Give a date and time such as 2026-01-31T14:00 (UTC)."
				return nil
			}
		}
		t = t.UTC()
		return &t
	}
	q.After, q.Before = parse("since", f.Since), parse("until", f.Until)
	if f.Header != "" {
		name, value, ok := strings.Cut(f.Header, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs["header"] = "Write it as name=value, such as X-GitHub-Event=push."
		}
		q.Header, q.HeaderValue = name, strings.TrimSpace(value)
	}
	if f.Match != "" {
		path, value, ok := strings.Cut(f.Match, "=")
		path = strings.TrimSpace(path)
		if !ok || path == "" {
			errs["match"] = "Write it as path=value, such as repository.name=hookline."
		}
		q.Path, q.PathValue = path, strings.TrimSpace(value)
	}
	return q, errs
}

// values is the filter as query parameters, for links that keep it.
func (f receivedFilter) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"verified": f.Verified, "since": f.Since, "until": f.Until, "header": f.Header, "match": f.Match} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// Query is the filter as a query string, "" when it selects everything.
func (f receivedFilter) Query() string { return f.values().Encode() }

// Link is a link to path with the filter and the pairs kv in its query.
// It is built here, not in a template: a template escapes a query string
// put into an attribute as one value.
func (f receivedFilter) Link(path string, kv ...string) template.URL {
	v := f.values()
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	u := url.URL{Path: path, RawQuery: v.Encode()}
	return template.URL(u.String())
}

// Active reports whether the filter selects anything less than all.
func (f receivedFilter) Active() bool { return f.Query() != "" }

// inspectorPage is a source's page: its settings and its received
// requests, filtered.
type inspectorPage struct {
	basePage
	Source   *hookline.Source
	Provider string
	Filter   receivedFilter
	Errors   map[string]string
	Requests []receivedRow
	// Stopped is set when a filter the store cannot apply read its bound
	// of requests without filling the page; Read is how many it read.
	Stopped      bool
	Read         int
	Newer, Older string
	// OldURLUntil is when the URL replaced by the last rotation stops
	// working, if it still works.
	OldURLUntil *time.Time
}

// receivedRow is a received request as lists show it.
type receivedRow struct {
	*hookline.Received
	Size string
	// When is the time received, to the second: requests often come in
	// bursts.
	When string
}

func newReceivedRow(x *hookline.Received) receivedRow {
	return receivedRow{Received: x, Size: byteSize(len(x.Body)), When: stamp(x.CreatedAt)}
}

// stamp writes a time to the second.
func stamp(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04:05 UTC") }

// byteSize says a size in bytes for people.
func byteSize(n int) string {
	switch {
	case n < 1024:
		return strconv.Itoa(n) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

func (s *server) receivedList(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := readReceivedFilter(q)
	rq, errs := f.query()
	p, err := pageOf(q, hookline.PrefixReceived, pageSize)
	if err != nil {
		return err
	}
	src, err := s.ops.Source(ctx, sess.acc, r.PathValue("source_id"))
	if err != nil {
		return err
	}
	pg := inspectorPage{basePage: s.base(sess, src.Name, "sources"), Source: src, Provider: provider(src), Filter: f, Errors: errs}
	if pg.Title == "" {
		pg.Title = src.ID
	}
	if n := q.Get("replayed"); n != "" {
		pg.Flash = "Replayed " + n + " requests through the source's routes."
	}
	if src.PrevTokenExpires != nil && len(src.PrevTokenHash) > 0 && src.PrevTokenExpires.After(s.now()) {
		pg.OldURLUntil = src.PrevTokenExpires
	}
	status := http.StatusOK
	if len(errs) > 0 {
		return s.render(w, http.StatusUnprocessableEntity, "console/source", pg)
	}
	rq.Page = p
	_, page, err := s.ops.ReceivedList(ctx, sess.acc, src.ID, rq)
	if err != nil {
		return err
	}
	for i := range page.Reqs {
		pg.Requests = append(pg.Requests, newReceivedRow(&page.Reqs[i]))
	}
	pg.Stopped, pg.Read = page.Stopped, page.Read
	if len(page.Reqs) > 0 {
		pg.Newer, _ = neighbours(p, page.Done, page.Reqs[0].ID, page.Reqs[len(page.Reqs)-1].ID)
	}
	// Older goes on after the last request read, even one filtered out,
	// so that it is not read again.
	if page.Last != "" && (!page.Done || p.Prev) {
		pg.Older = page.Last
	}
	return s.render(w, status, "console/source", pg)
}

// receivedPage shows one received request.
type receivedPage struct {
	basePage
	Source *hookline.Source
	Req    *hookline.Received
	Path   string
	// Text is the body when it is valid UTF-8; Hex its dump otherwise.
	Text, Hex string
	Size      string
	When      string
	Headers   []headerRow
	// View is the request's JSON view, indented.
	View    string
	Results []ops.RouteResult
}

type headerRow struct {
	Name, Value string
}

func (s *server) receivedShow(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	src, x, runs, err := s.ops.Received(ctx, sess.acc, r.PathValue("source_id"), r.PathValue("request_id"))
	if err != nil {
		return err
	}
	results, err := s.ops.ReceivedRoutes(ctx, sess.acc, src, x, runs)
	if err != nil {
		return err
	}
	pg := receivedPage{basePage: s.base(sess, "Request "+x.ID, "sources"), Source: src, Req: x, Path: inbound.MaskPath(x.Path),
		Size: byteSize(len(x.Body)), When: stamp(x.CreatedAt), Results: results}
	if r.URL.Query().Get("done") == "replayed" {
		pg.Flash = "Replayed through the source's routes."
	}
	if utf8.Valid(x.Body) {
		pg.Text = string(x.Body)
	} else {
		pg.Hex = hex.Dump(x.Body)
	}
	for name, vals := range x.Headers {
		for _, v := range vals {
			pg.Headers = append(pg.Headers, headerRow{Name: name, Value: v})
		}
	}
	slices.SortStableFunc(pg.Headers, func(a, b headerRow) int { return strings.Compare(a.Name, b.Name) })
	if len(x.View) > 0 && string(x.View) != "null" {
		pg.View = indentJSON(x.View)
	}
	return s.render(w, http.StatusOK, "console/received", pg)
}

func (s *server) receivedReplay(w http.ResponseWriter, r *http.Request, sess *session) error {
	srcKey, id := r.PathValue("source_id"), r.PathValue("request_id")
	if err := s.ops.Replay(r.Context(), sess.acc, srcKey, id); err != nil {
		return err
	}
	http.Redirect(w, r, sourcePath(srcKey)+"/requests/"+url.PathEscape(id)+"?done=replayed", http.StatusSeeOther)
	return nil
}

// replayPage confirms the replay of every request a filter selects.
type replayPage struct {
	basePage
	Source *hookline.Source
	Filter receivedFilter
	ops.Replayable
	Max int
	// Upto bounds the replay to the requests received by the time the
	// count was made, so the replay does what the confirmation said.
	Upto string
}

// replayQuery reads the filter of a replay, bounded to the time of the
// confirmation when it names one.
func replayQuery(f receivedFilter, upto string) (ops.ReceivedQuery, error) {
	q, errs := f.query()
	if len(errs) > 0 {
		for _, m := range errs {
			return q, hookline.Invalid([]string{"query"}, m)
		}
	}
	if upto != "" {
		t, err := time.Parse(time.RFC3339Nano, upto)
		if err != nil {
			return q, hookline.Invalid([]string{"upto"}, "not a time")
		}
		if q.Before == nil || t.Before(*q.Before) {
			q.Before = &t
		}
	}
	return q, nil
}

func (s *server) replayConfirm(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	ctx := r.Context()
	f := readReceivedFilter(r.URL.Query())
	// Requests received after the count are left out of the replay.
	upto := s.now().Add(time.Microsecond)
	q, err := replayQuery(f, upto.Format(time.RFC3339Nano))
	if err != nil {
		return err
	}
	src, err := s.ops.Source(ctx, sess.acc, r.PathValue("source_id"))
	if err != nil {
		return err
	}
	n, err := s.ops.ReplayCount(ctx, sess.acc, src.ID, q)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "console/source_replay", replayPage{basePage: s.base(sess, "Replay requests", "sources"),
		Source: src, Filter: f, Replayable: n, Max: ops.MaxReplay, Upto: upto.Format(time.RFC3339Nano)})
}

func (s *server) replayMatching(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := receivedFilter{Verified: r.PostFormValue("verified"), Since: r.PostFormValue("since"), Until: r.PostFormValue("until"),
		Header: r.PostFormValue("header"), Match: r.PostFormValue("match")}
	q, err := replayQuery(f, r.PostFormValue("upto"))
	if err != nil {
		return err
	}
	srcKey := r.PathValue("source_id")
	n, err := s.ops.ReplayMatching(r.Context(), sess.acc, srcKey, q)
	if err != nil {
		return err
	}
	v := f.values()
	v.Set("replayed", strconv.Itoa(n.Count))
	http.Redirect(w, r, sourcePath(srcKey)+"?"+v.Encode(), http.StatusSeeOther)
	return nil
}
