package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookline/hookline"
)

// eventTypeIn is Svix's EventTypeIn, and without its name EventTypeUpdate
// (the body of a PUT, which takes the name from the path).
type eventTypeIn struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	FeatureFlag *string         `json:"featureFlag"`
	Schemas     json.RawMessage `json:"schemas"`
}

// apply sets every caller-settable field of e but its name.
func (in *eventTypeIn) apply(e *hookline.EventType) {
	e.Description = in.Description
	e.Archived = in.Archived
	e.Deprecated = in.Deprecated
	e.FeatureFlag = deref(in.FeatureFlag)
	e.Schemas = schemas(in.Schemas)
}

// schemas returns nil for a JSON null: no schemas.
func schemas(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// eventTypePatch is Svix's EventTypePatch.
type eventTypePatch struct {
	Description field[string]          `json:"description"`
	Archived    field[bool]            `json:"archived"`
	Deprecated  field[bool]            `json:"deprecated"`
	FeatureFlag field[string]          `json:"featureFlag"`
	Schemas     field[json.RawMessage] `json:"schemas"`
}

func (p *eventTypePatch) apply(e *hookline.EventType) {
	e.Description = p.Description.valueOr(e.Description)
	e.Archived = p.Archived.valueOr(e.Archived)
	e.Deprecated = p.Deprecated.valueOr(e.Deprecated)
	if p.FeatureFlag.Set {
		e.FeatureFlag = p.FeatureFlag.Value
	}
	if p.Schemas.Set {
		e.Schemas = p.Schemas.Value
	}
}

// eventTypeOut is Svix's EventTypeOut.
type eventTypeOut struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	FeatureFlag *string         `json:"featureFlag,omitempty"`
	Schemas     json.RawMessage `json:"schemas"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

func eventTypeToWire(e *hookline.EventType, withSchemas bool) eventTypeOut {
	out := eventTypeOut{
		Name:        e.Name,
		Description: e.Description,
		Archived:    e.Archived,
		Deprecated:  e.Deprecated,
		FeatureFlag: ptr(e.FeatureFlag),
		CreatedAt:   e.CreatedAt.UTC(),
		UpdatedAt:   e.UpdatedAt.UTC(),
	}
	if withSchemas {
		out.Schemas = e.Schemas
	}
	return out
}

func (s *server) eventType(r *http.Request) (*hookline.EventType, error) {
	name := r.PathValue("event_type_name")
	e, err := s.st.EventTypeGet(r.Context(), name)
	return e, lookup(err, "event type", name)
}

// eventTypeIterator accepts an event type name as an iterator, "." and
// ".." included: earlier versions took them as names, and a list that
// holds one must still page past it.
func eventTypeIterator(s string) bool { return s == "." || s == ".." || hookline.ValidName(s) }

// eventTypeList lists event types by name. Schemas are left out unless
// with_content=true, and archived types unless include_archived=true.
func (s *server) eventTypeList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: eventTypeIterator, orderable: true})
	includeArchived := q.bool("include_archived", false)
	withContent := q.bool("with_content", false)
	if err := q.err(); err != nil {
		return err
	}
	types, done, err := s.st.EventTypeList(r.Context(), p, includeArchived)
	if err != nil {
		return err
	}
	out := make([]eventTypeOut, len(types))
	for i := range types {
		out[i] = eventTypeToWire(&types[i], withContent)
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(e *eventTypeOut) string { return e.Name }))
	return nil
}

// eventTypeCreate creates an event type. Creating one that is archived
// brings it back with the new fields, as in Svix; creating one that
// exists is a conflict.
func (s *server) eventTypeCreate(w http.ResponseWriter, r *http.Request) error {
	var in eventTypeIn
	if err := decode(r, &in); err != nil {
		return err
	}
	e := &hookline.EventType{Name: in.Name}
	in.apply(e)
	if err := s.ops.EventTypeCreate(r.Context(), accessFrom(r.Context()), e); err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusCreated, eventTypeToWire(e, true))
	return nil
}

func (s *server) eventTypeGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.eventType(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, eventTypeToWire(e, true))
	return nil
}

// eventTypeUpdate replaces an event type, or creates it (201) under the
// name in the path.
func (s *server) eventTypeUpdate(w http.ResponseWriter, r *http.Request) error {
	var in eventTypeIn
	if err := decode(r, &in); err != nil {
		return err
	}
	e, created, err := s.ops.EventTypePut(r.Context(), accessFrom(r.Context()), r.PathValue("event_type_name"), in.apply)
	if err != nil {
		return opsErr(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, eventTypeToWire(e, true))
	return nil
}

func (s *server) eventTypePatch(w http.ResponseWriter, r *http.Request) error {
	var p eventTypePatch
	if err := decode(r, &p); err != nil {
		return err
	}
	e, err := s.eventType(r)
	if err != nil {
		return err
	}
	p.apply(e)
	e.UpdatedAt = s.now()
	if err := e.Validate(); err != nil {
		return err
	}
	if err := s.st.EventTypeUpdate(r.Context(), e); err != nil {
		return lookup(err, "event type", e.Name)
	}
	writeJSON(w, http.StatusOK, eventTypeToWire(e, true))
	return nil
}

// eventTypeDelete archives an event type, or with expunge=true deletes it.
// Archiving keeps endpoints that filter on it working and lets it come
// back with a create.
func (s *server) eventTypeDelete(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	expunge := q.bool("expunge", false)
	if err := q.err(); err != nil {
		return err
	}
	e, err := s.eventType(r)
	if err != nil {
		return err
	}
	if expunge {
		err = s.st.EventTypeDelete(r.Context(), e.Name)
	} else {
		e.Archived = true
		e.UpdatedAt = s.now()
		err = s.st.EventTypeUpdate(r.Context(), e)
	}
	if err != nil {
		return lookup(err, "event type", e.Name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
