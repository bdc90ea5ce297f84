package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
)

// eventTypesPage is the catalog as an operator manages it.
type eventTypesPage struct {
	basePage
	Types        []catalogEntry
	Archived     bool
	Newer, Older string
}

func (s *server) eventTypeList(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	pg := eventTypesPage{basePage: s.base(sess, "Event types", "event-types"), Archived: q.Get("archived") == "1"}
	pg.Flash = eventTypeFlashes[q.Get("done")]
	p := store.Page{Limit: pageSize, Iterator: q.Get("iterator")}
	if it, ok := strings.CutPrefix(p.Iterator, "-"); ok {
		p.Iterator, p.Prev = it, true
	}
	ets, done, err := s.ops.EventTypeList(r.Context(), sess.acc, p, pg.Archived)
	if err != nil {
		return err
	}
	for i := range ets {
		c := newCatalogEntry(&ets[i])
		c.Archived = ets[i].Archived
		pg.Types = append(pg.Types, c)
	}
	if len(ets) > 0 {
		// Names list in ascending order: newer means earlier names here.
		if (p.Prev && !done) || (!p.Prev && p.Iterator != "") {
			pg.Newer = "-" + ets[0].Name
		}
		if (!p.Prev && !done) || p.Prev {
			pg.Older = ets[len(ets)-1].Name
		}
	}
	return s.render(w, http.StatusOK, "console/event_types", pg)
}

var eventTypeFlashes = map[string]string{
	"created": "Event type created.",
	"updated": "Event type saved.",
}

// eventTypeForm is the form of an event type: its name, description, and
// an example payload, kept as the example of its schema.
type eventTypeForm struct {
	Name, Description, Example string
	Deprecated, Archived       bool
}

type eventTypeFormPage struct {
	basePage
	// Edit is set when changing an existing event type.
	Edit   bool
	Form   eventTypeForm
	Errors map[string]string
}

func readEventTypeForm(r *http.Request) eventTypeForm {
	return eventTypeForm{
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Example:     strings.TrimSpace(r.PostFormValue("example")),
		Deprecated:  r.PostFormValue("deprecated") == "1",
		Archived:    r.PostFormValue("archived") == "1",
	}
}

// setter checks the form's example and returns what sets the form on an
// event type: the example goes into the newest schema version's
// "examples", keeping the rest of the schema.
func (f eventTypeForm) setter() (func(*hookline.EventType), error) {
	var example any
	if f.Example != "" {
		if err := json.Unmarshal([]byte(f.Example), &example); err != nil {
			return nil, hookline.Invalid([]string{"body", "example"}, "must be JSON, such as {\"invoiceId\": \"in_1\"}")
		}
		if _, ok := example.(map[string]any); !ok {
			return nil, hookline.Invalid([]string{"body", "example"}, "must be a JSON object: a webhook payload")
		}
	}
	return func(e *hookline.EventType) {
		e.Description = f.Description
		e.Deprecated = f.Deprecated
		e.Archived = f.Archived
		e.Schemas = withExample(e.Schemas, example)
	}, nil
}

// withExample sets the examples of the newest version of schemas to just
// example (or none when it is nil), creating version "1" when there is
// none.
func withExample(schemas json.RawMessage, example any) json.RawMessage {
	byVersion := map[string]map[string]any{}
	_ = json.Unmarshal(schemas, &byVersion)
	version := "1"
	if len(byVersion) > 0 {
		version = ops.NewestVersion(slices.Collect(maps.Keys(byVersion)))
	}
	schema := byVersion[version]
	if schema == nil {
		if example == nil {
			return schemas
		}
		schema = map[string]any{"type": "object"}
	}
	if example == nil {
		delete(schema, "examples")
	} else {
		schema["examples"] = []any{example}
	}
	byVersion[version] = schema
	b, err := json.Marshal(byVersion)
	if err != nil {
		return schemas
	}
	return b
}

func (s *server) eventTypeNew(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "console/event_type_form", eventTypeFormPage{
		basePage: s.base(sess, "New event type", "event-types"), Errors: map[string]string{}})
}

func (s *server) eventTypeCreate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := readEventTypeForm(r)
	set, err := f.setter()
	if err == nil {
		e := &hookline.EventType{Name: f.Name}
		set(e)
		err = s.ops.EventTypeCreate(r.Context(), sess.acc, e)
	}
	if err != nil {
		return s.eventTypeFormError(w, sess, false, f, err)
	}
	http.Redirect(w, r, "/console/event-types?done=created", http.StatusSeeOther)
	return nil
}

func (s *server) eventTypeEdit(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	e, err := s.ops.EventTypeGet(r.Context(), sess.acc, r.PathValue("name"))
	if err != nil {
		return err
	}
	f := eventTypeForm{Name: e.Name, Description: e.Description, Deprecated: e.Deprecated, Archived: e.Archived}
	if c := newCatalogEntry(e); c.Example != "" {
		f.Example = c.Example
	}
	return s.render(w, http.StatusOK, "console/event_type_form", eventTypeFormPage{
		basePage: s.base(sess, "Edit event type", "event-types"), Edit: true, Form: f, Errors: map[string]string{}})
}

func (s *server) eventTypeUpdate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := readEventTypeForm(r)
	f.Name = r.PathValue("name")
	set, err := f.setter()
	if err == nil {
		if _, err = s.ops.EventTypeGet(r.Context(), sess.acc, f.Name); err == nil {
			_, _, err = s.ops.EventTypePut(r.Context(), sess.acc, f.Name, set)
		}
	}
	if err != nil {
		return s.eventTypeFormError(w, sess, true, f, err)
	}
	http.Redirect(w, r, "/console/event-types?done=updated#"+url.PathEscape(f.Name), http.StatusSeeOther)
	return nil
}

// eventTypeFormError shows the form again with a refused post's errors,
// or returns any other error.
func (s *server) eventTypeFormError(w http.ResponseWriter, sess *session, edit bool, f eventTypeForm, err error) error {
	pg := eventTypeFormPage{basePage: s.base(sess, "New event type", "event-types"), Edit: edit, Form: f, Errors: map[string]string{}}
	if edit {
		pg.Title = "Edit event type"
	}
	var ve *hookline.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			name := fe.Loc[len(fe.Loc)-1]
			if _, seen := pg.Errors[name]; !seen {
				pg.Errors[name] = fe.Msg
			}
		}
	case errors.Is(err, hookline.ErrConflict):
		pg.Errors["name"] = "An event type of this name already exists."
	default:
		return err
	}
	return s.render(w, http.StatusUnprocessableEntity, "console/event_type_form", pg)
}
