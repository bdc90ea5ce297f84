package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

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
		pg.Endpoints = append(pg.Endpoints, newRow(&eps[i]))
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
}

func readEndpointForm(r *http.Request) endpointForm {
	f := endpointForm{
		URL:         strings.TrimSpace(r.PostFormValue("url")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Format:      strings.TrimSpace(r.PostFormValue("format")),
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

// apply sets the form's fields on e, and reports that it set the event
// types.
func (f *endpointForm) apply(e *hookline.Endpoint) bool {
	e.URL = f.URL
	e.Description = f.Description
	e.EventTypes = f.EventTypes
	e.Format = hookline.Format(f.Format)
	return true
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
}

type summaryItem struct {
	// Target is the ID of the input the message is about.
	Target, Text string
}

type catalogEntry struct {
	Name, Description string
	Checked           bool
	Deprecated        bool
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
	pg := endpointFormPage{basePage: s.base(sess, title, "endpoints"), ID: id, Form: f, Errors: map[string]string{}}
	ets, err := s.ops.EventTypes(r.Context(), sess.acc, catalogMax)
	if err != nil {
		return pg, err
	}
	for _, et := range ets {
		pg.Catalog = append(pg.Catalog, catalogEntry{Name: et.Name, Description: et.Description,
			Checked: slices.Contains(f.EventTypes, et.Name), Deprecated: et.Deprecated})
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
	case "url", "description":
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
	_, err := s.ops.EndpointCreate(r.Context(), sess.acc, sess.app.ID, "", func(e *hookline.Endpoint) { f.apply(e) })
	if err != nil {
		return s.formError(w, r, sess, "", f, err)
	}
	seeOther(w, r, "/portal/endpoints", "created")
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
	f := endpointForm{URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Format: string(e.Format)}
	pg, err := s.formPage(r, sess, e.ID, f, nil)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "endpoint_form", pg)
}

func (s *server) endpointUpdate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := readEndpointForm(r)
	id := r.PathValue("endpoint_id")
	_, err := s.ops.EndpointUpdate(r.Context(), sess.acc, sess.app.ID, id, f.apply)
	if err != nil {
		return s.formError(w, r, sess, id, f, err)
	}
	seeOther(w, r, "/portal/endpoints", "updated")
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
	seeOther(w, r, "/portal/endpoints", done)
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
	seeOther(w, r, "/portal/endpoints", "deleted")
	return nil
}
