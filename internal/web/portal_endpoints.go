package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
)

// pageSize is how many endpoints a page of the list shows.
const pageSize = 20

// catalogMax is how many event types the endpoint form offers.
const catalogMax = 1000

// endpointsPage is the list of the app's endpoints.
type endpointsPage struct {
	basePage
	Endpoints []endpointRow
	// Newer and Older are the iterators of the neighbouring pages, ""
	// when there is none.
	Newer, Older string
}

// endpointRow is an endpoint as the list shows it.
type endpointRow struct {
	*hookline.Endpoint
	// State is "enabled", "failing" or "disabled"; StateText says it in
	// words, with why when hookline disabled it.
	State, StateText string
	// FormatLabel names the body format as the form does.
	FormatLabel string
	// Rate is the share of the latest attempts that succeeded.
	Rate successRate
}

// formatLabels name the body formats.
var formatLabels = map[hookline.Format]string{hookline.FormatJSON: "JSON", hookline.FormatForm: "Form-encoded", hookline.FormatXML: "XML"}

func newRow(e *hookline.Endpoint) endpointRow {
	r := endpointRow{Endpoint: e, State: "enabled", StateText: "Enabled", FormatLabel: formatLabels[e.Format]}
	switch {
	case e.Disabled && e.DisabledReason != "":
		r.State, r.StateText = "disabled", "Disabled by hookline: "+e.DisabledReason
	case e.Disabled:
		r.State, r.StateText = "disabled", "Disabled"
	case e.FailingSince != nil:
		r.State, r.StateText = "failing", "Failing since "+e.FailingSince.UTC().Format("2 Jan 2006, 15:04 UTC")
	}
	return r
}

func (s *server) endpointList(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	p := store.Page{Limit: pageSize, Desc: true, Iterator: q.Get("iterator")}
	if it, ok := strings.CutPrefix(p.Iterator, "-"); ok {
		p.Iterator, p.Prev = it, true
	}
	if p.Iterator != "" && !hookline.IsID(hookline.PrefixEndpoint, p.Iterator) {
		return errPageNotFound
	}
	eps, done, err := s.ops.EndpointList(r.Context(), sess.acc, sess.app.ID, p)
	if err != nil {
		return err
	}
	pg := endpointsPage{basePage: s.base(sess, "Endpoints", "endpoints")}
	pg.Flash = flashes[q.Get("done")]
	for i := range eps {
		row := newRow(&eps[i])
		if row.Rate, err = s.successRate(r.Context(), sess, eps[i].ID); err != nil {
			return err
		}
		pg.Endpoints = append(pg.Endpoints, row)
	}
	if len(eps) > 0 {
		// Walking back, done means no newer page; walking on, no older one.
		if (p.Prev && !done) || (!p.Prev && p.Iterator != "") {
			pg.Newer = "-" + eps[0].ID
		}
		if (!p.Prev && !done) || p.Prev {
			pg.Older = eps[len(eps)-1].ID
		}
	}
	return s.render(w, http.StatusOK, "endpoints", pg)
}

// endpointForm is the form of a new or changed endpoint. Its inputs are
// named as the API's JSON fields, which FieldError.Loc names.
type endpointForm struct {
	URL         string
	Description string
	EventTypes  []string
	Format      string
	// Channels are comma-separated; RateLimit is a number or "".
	Channels  string
	RateLimit string
	// Headers has one "Name: value" per line; a sensitive header's value
	// is shown as maskedValue, which keeps the stored value when posted.
	Headers string
}

// maskedValue stands for a sensitive header's value in the form.
const maskedValue = "********"

func readEndpointForm(r *http.Request) endpointForm {
	f := endpointForm{
		URL:         strings.TrimSpace(r.PostFormValue("url")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Format:      strings.TrimSpace(r.PostFormValue("format")),
		Channels:    strings.TrimSpace(r.PostFormValue("channels")),
		RateLimit:   strings.TrimSpace(r.PostFormValue("rateLimit")),
		Headers:     strings.TrimSpace(r.PostFormValue("headers")),
	}
	for _, et := range r.PostForm["eventTypes"] {
		if et = strings.TrimSpace(et); et != "" && !slices.Contains(f.EventTypes, et) {
			f.EventTypes = append(f.EventTypes, et)
		}
	}
	if f.Format == "" {
		f.Format = string(hookline.FormatJSON)
	}
	return f
}

// formOf fills the form with an endpoint's settings.
func formOf(e *hookline.Endpoint) endpointForm {
	f := endpointForm{URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Format: string(e.Format),
		Channels: strings.Join(e.Channels, ", ")}
	if e.RateLimit != nil {
		f.RateLimit = strconv.Itoa(*e.RateLimit)
	}
	names := slices.Sorted(maps.Keys(e.Headers))
	var b strings.Builder
	for _, k := range names {
		v := e.Headers[k]
		if hookline.SensitiveHeader(k) {
			v = maskedValue
		}
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	f.Headers = strings.TrimSpace(b.String())
	return f
}

// parse checks what the form holds beyond the endpoint's own rules: a
// rate limit that is a number, header lines with a name and a value.
func (f *endpointForm) parse() (rate *int, channels []string, headers map[string]string, err error) {
	var v []hookline.FieldError
	if f.RateLimit != "" {
		n, perr := strconv.Atoi(f.RateLimit)
		if perr != nil {
			v = append(v, hookline.FieldError{Loc: []string{"body", "rateLimit"}, Msg: "must be a whole number of deliveries per second", Type: "value_error"})
		} else {
			rate = &n
		}
	}
	for _, c := range strings.Split(f.Channels, ",") {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(channels, c) {
			channels = append(channels, c)
		}
	}
	for i, line := range strings.Split(f.Headers, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			v = append(v, hookline.FieldError{Loc: []string{"body", "headers"},
				Msg: fmt.Sprintf("line %d must be a header name, a colon and its value, such as X-Team: payments", i+1), Type: "value_error"})
			continue
		}
		if headers == nil {
			headers = map[string]string{}
		}
		headers[name] = value
	}
	if len(v) > 0 {
		return nil, nil, nil, &hookline.ValidationError{Fields: v}
	}
	return rate, channels, headers, nil
}

// setter returns what sets the form's fields on an endpoint, and reports
// that it set the event types; a sensitive header posted as maskedValue
// keeps its stored value.
func (f *endpointForm) setter() (func(e *hookline.Endpoint) bool, error) {
	rate, channels, headers, err := f.parse()
	if err != nil {
		return nil, err
	}
	return func(e *hookline.Endpoint) bool {
		for k, v := range headers {
			if v == maskedValue {
				if old, ok := e.Headers[k]; ok {
					headers[k] = old
				}
			}
		}
		e.URL = f.URL
		e.Description = f.Description
		e.EventTypes = f.EventTypes
		e.Format = hookline.Format(f.Format)
		e.RateLimit = rate
		e.Channels = channels
		e.Headers = headers
		return true
	}, nil
}

// endpointFormPage shows the form, with the errors of a refused post.
type endpointFormPage struct {
	basePage
	// ID is the endpoint being changed; "" for a new one.
	ID      string
	Form    endpointForm
	Catalog []catalogEntry
	Formats []formatChoice
	// Errors are the messages by input name; Summary lists them all,
	// each linking to its input.
	Errors  map[string]string
	Summary []summaryItem
	// Masked is what a sensitive header's value shows as.
	Masked string
}

type summaryItem struct {
	// Target is the ID of the input the message is about.
	Target, Text string
}

type catalogEntry struct {
	Name, Description string
	Checked           bool
	Deprecated        bool
	Archived          bool
	// Example is an example payload, indented; "" when there is none.
	Example string
}

// newCatalogEntry describes an event type with its example.
func newCatalogEntry(et *hookline.EventType) catalogEntry {
	c := catalogEntry{Name: et.Name, Description: et.Description, Deprecated: et.Deprecated}
	if ex, err := ops.Example(et, 0); err == nil && string(ex) != "{}" {
		c.Example = indentJSON(ex)
	}
	return c
}

type formatChoice struct {
	Value, Label, Hint string
	Checked            bool
}

func (s *server) formPage(r *http.Request, sess *session, id string, f endpointForm, verr error) (endpointFormPage, error) {
	title := "New endpoint"
	if id != "" {
		title = "Edit endpoint"
	}
	pg := endpointFormPage{basePage: s.base(sess, title, "endpoints"), ID: id, Form: f, Errors: map[string]string{}, Masked: maskedValue}
	ets, err := s.ops.EventTypes(r.Context(), sess.acc, catalogMax)
	if err != nil {
		return pg, err
	}
	for i := range ets {
		c := newCatalogEntry(&ets[i])
		c.Checked = slices.Contains(f.EventTypes, c.Name)
		pg.Catalog = append(pg.Catalog, c)
	}
	for _, c := range []formatChoice{
		{Value: "json", Label: formatLabels[hookline.FormatJSON], Hint: "The payload as sent, application/json."},
		{Value: "form", Label: formatLabels[hookline.FormatForm], Hint: "application/x-www-form-urlencoded fields."},
		{Value: "xml", Label: formatLabels[hookline.FormatXML], Hint: "application/xml."},
	} {
		c.Checked = c.Value == f.Format
		pg.Formats = append(pg.Formats, c)
	}
	var ve *hookline.ValidationError
	if errors.As(verr, &ve) {
		for _, fe := range ve.Fields {
			name := "form"
			if len(fe.Loc) > 1 {
				name = fe.Loc[len(fe.Loc)-1]
			}
			if name == "url" && errors.Is(verr, netguard.ErrBlocked) {
				// The guard's own words name the operator's flag, which
				// a customer cannot set.
				fe.Msg = blockedURL
			}
			if _, seen := pg.Errors[name]; !seen {
				pg.Errors[name] = fe.Msg
			}
			pg.Summary = append(pg.Summary, summaryItem{Target: fieldTarget(name, len(pg.Catalog) > 0), Text: fieldLabel(name) + ": " + fe.Msg})
		}
	}
	return pg, nil
}

// blockedURL is what a customer is told of an endpoint URL the network
// guard refuses.
const blockedURL = "Webhooks are not sent to this address: it is private, local or internal to a cloud. Use a URL that is reachable from the internet."

// fieldTarget is the ID of the first input of a field, "" for none.
func fieldTarget(name string, catalog bool) string {
	switch name {
	case "url", "description", "channels", "rateLimit", "headers":
		return name
	case "eventTypes":
		if catalog {
			return "et-0"
		}
	case "format":
		return "format-json"
	}
	return ""
}

// fieldLabel names an input as its label does.
func fieldLabel(name string) string {
	switch name {
	case "url":
		return "URL"
	case "description":
		return "Description"
	case "eventTypes":
		return "Event types"
	case "format":
		return "Body format"
	case "channels":
		return "Channels"
	case "rateLimit":
		return "Rate limit"
	case "headers":
		return "Custom headers"
	}
	return name
}

func (s *server) endpointNew(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapManageEndpoint, sess.app.ID); err != nil {
		return err
	}
	pg, err := s.formPage(r, sess, "", endpointForm{Format: "json"}, nil)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "endpoint_form", pg)
}

func (s *server) endpointCreate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := readEndpointForm(r)
	set, err := f.setter()
	if err == nil {
		_, err = s.ops.EndpointCreate(r.Context(), sess.acc, sess.app.ID, "", func(e *hookline.Endpoint) { set(e) })
	}
	if err != nil {
		return s.formError(w, r, sess, "", f, err)
	}
	seeOther(w, r, sess.base+"/endpoints", "created")
	return nil
}

// formError re-renders the form with a refused post's field errors (422),
// or returns any other error.
func (s *server) formError(w http.ResponseWriter, r *http.Request, sess *session, id string, f endpointForm, err error) error {
	if !errors.Is(err, hookline.ErrInvalid) {
		return err
	}
	pg, perr := s.formPage(r, sess, id, f, err)
	if perr != nil {
		return perr
	}
	return s.render(w, http.StatusUnprocessableEntity, "endpoint_form", pg)
}

func (s *server) endpointEdit(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapManageEndpoint, sess.app.ID); err != nil {
		return err
	}
	e, err := s.ops.Endpoint(r.Context(), sess.acc, sess.app.ID, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	pg, err := s.formPage(r, sess, e.ID, formOf(e), nil)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "endpoint_form", pg)
}

func (s *server) endpointUpdate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := readEndpointForm(r)
	id := r.PathValue("endpoint_id")
	set, err := f.setter()
	if err == nil {
		_, err = s.ops.EndpointUpdate(r.Context(), sess.acc, sess.app.ID, id, set)
	}
	if err != nil {
		return s.formError(w, r, sess, id, f, err)
	}
	seeOther(w, r, sess.base+"/endpoints", "updated")
	return nil
}

func (s *server) endpointEnable(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.setDisabled(w, r, sess, false)
}

func (s *server) endpointDisable(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.setDisabled(w, r, sess, true)
}

func (s *server) setDisabled(w http.ResponseWriter, r *http.Request, sess *session, disabled bool) error {
	_, err := s.ops.EndpointUpdate(r.Context(), sess.acc, sess.app.ID, r.PathValue("endpoint_id"), func(e *hookline.Endpoint) bool {
		ops.SetDisabled(e, disabled)
		return false
	})
	if err != nil {
		return err
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	seeOther(w, r, sess.base+"/endpoints", done)
	return nil
}

// deletePage asks to confirm a deletion.
type deletePage struct {
	basePage
	Endpoint *hookline.Endpoint
}

func (s *server) endpointDeleteConfirm(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapManageEndpoint, sess.app.ID); err != nil {
		return err
	}
	e, err := s.ops.Endpoint(r.Context(), sess.acc, sess.app.ID, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "endpoint_delete", deletePage{basePage: s.base(sess, "Delete endpoint", "endpoints"), Endpoint: e})
}

func (s *server) endpointDelete(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.ops.EndpointDelete(r.Context(), sess.acc, sess.app.ID, r.PathValue("endpoint_id")); err != nil {
		return err
	}
	seeOther(w, r, sess.base+"/endpoints", "deleted")
	return nil
}

// recentAttempts is how many of an endpoint's latest attempts its success
// rate is of.
const recentAttempts = 100

// successRate is the share of an endpoint's latest attempts that
// succeeded.
type successRate struct {
	Succeeded, Of int
}

// Percent is the rate in whole percent.
func (r successRate) Percent() int {
	if r.Of == 0 {
		return 0
	}
	return r.Succeeded * 100 / r.Of
}

func (s *server) successRate(ctx context.Context, sess *session, endpointID string) (successRate, error) {
	ats, _, err := s.ops.AttemptList(ctx, sess.acc, sess.app.ID, store.AttemptFilter{EndpointID: endpointID,
		Page: store.Page{Limit: recentAttempts, Desc: true}})
	if err != nil {
		return successRate{}, err
	}
	r := successRate{Of: len(ats)}
	for _, a := range ats {
		if a.Status == hookline.StatusSuccess {
			r.Succeeded++
		}
	}
	return r, nil
}

// endpointPage shows one endpoint: its settings and health, its latest
// webhooks, and the forms to test it and to recover its failures.
type endpointPage struct {
	basePage
	Endpoint endpointRow
	Rate     successRate
	Recent   []messageRow
	Types    []option
	// Since is the recover form's start, Errors its mistakes by input.
	Since  string
	Errors map[string]string
}

// endpointRecent is how many of its latest webhooks an endpoint's page
// shows.
const endpointRecent = 10

func (s *server) endpointShow(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderEndpoint(w, r, sess, http.StatusOK, nil)
}

// renderEndpoint shows the endpoint's page, with the field errors of a
// refused form.
func (s *server) renderEndpoint(w http.ResponseWriter, r *http.Request, sess *session, status int, errs map[string]string) error {
	ctx := r.Context()
	e, err := s.ops.Endpoint(ctx, sess.acc, sess.app.ID, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	pg := endpointPage{basePage: s.base(sess, "Endpoint", "endpoints"), Endpoint: newRow(e), Errors: errs,
		Since: s.now().Add(-24 * time.Hour).Format(localTime)}
	if pg.Errors == nil {
		pg.Errors = map[string]string{}
	}
	q := r.URL.Query()
	pg.Flash = flashes[q.Get("done")]
	if n, err := strconv.Atoi(q.Get("recovered")); err == nil {
		pg.Flash = fmt.Sprintf("%d failed webhook%s queued to be sent again.", n, plural(n))
	}
	if v := r.PostFormValue("since"); v != "" {
		pg.Since = v
	}
	if pg.Rate, err = s.successRate(ctx, sess, e.ID); err != nil {
		return err
	}
	ms, _, err := s.ops.EndpointMessages(ctx, sess.acc, sess.app.ID, e.ID,
		store.EndpointMessageFilter{Page: store.Page{Limit: endpointRecent, Desc: true}})
	if err != nil {
		return err
	}
	for _, m := range ms {
		pg.Recent = append(pg.Recent, messageRow{ID: m.Message.ID, EventType: m.Message.EventType, EventID: m.Message.EventID,
			CreatedAt: m.Message.CreatedAt, State: statusClass(m.Delivery.Status), StateText: statusWords[m.Delivery.Status]})
	}
	ets, err := s.ops.EventTypes(ctx, sess.acc, catalogMax)
	if err != nil {
		return err
	}
	for _, et := range ets {
		if len(e.EventTypes) == 0 || slices.Contains(e.EventTypes, et.Name) {
			pg.Types = append(pg.Types, option{Value: et.Name, Label: et.Name})
		}
	}
	return s.render(w, status, "endpoint", pg)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
