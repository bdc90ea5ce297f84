package ops

import (
	"context"
	"errors"

	"github.com/hookline/hookline"
)

// EventTypeCreate adds e to the catalog. A name taken by an archived event
// type brings that one back, with e's settings; any other taken name is a
// conflict.
func (s *Service) EventTypeCreate(ctx context.Context, acc *hookline.Access, e *hookline.EventType) error {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	now := s.now()
	e.CreatedAt, e.UpdatedAt = now, now
	if err := e.Validate(); err != nil {
		return err
	}
	existing, err := s.st.EventTypeGet(ctx, e.Name)
	switch {
	case err == nil && existing.Archived:
		e.CreatedAt = existing.CreatedAt
		err = s.st.EventTypeUpdate(ctx, e)
	case err == nil:
		err = hookline.ErrConflict
	case errors.Is(err, hookline.ErrNotFound):
		err = s.st.EventTypeCreate(ctx, e)
	}
	return eventTypeErr(err, e.Name)
}

// EventTypeGet returns an event type of the catalog, archived or not.
func (s *Service) EventTypeGet(ctx context.Context, acc *hookline.Access, name string) (*hookline.EventType, error) {
	if err := acc.Require(hookline.CapViewBase, ""); err != nil {
		return nil, err
	}
	e, err := s.st.EventTypeGet(ctx, name)
	return e, lookup(err, "event type", name)
}

// EventTypePut changes the event type name with change, or creates it
// when there is none, and reports whether it did.
func (s *Service) EventTypePut(ctx context.Context, acc *hookline.Access, name string, change func(*hookline.EventType)) (e *hookline.EventType, created bool, err error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, false, err
	}
	now := s.now()
	e, err = s.st.EventTypeGet(ctx, name)
	switch {
	case errors.Is(err, hookline.ErrNotFound):
		created = true
		e = &hookline.EventType{Name: name, CreatedAt: now}
	case err != nil:
		return nil, false, err
	}
	change(e)
	e.UpdatedAt = now
	if err := e.Validate(); err != nil {
		return nil, false, err
	}
	if created {
		err = s.st.EventTypeCreate(ctx, e)
	} else {
		err = s.st.EventTypeUpdate(ctx, e)
	}
	return e, created, eventTypeErr(err, e.Name)
}

func eventTypeErr(err error, name string) error {
	if errors.Is(err, hookline.ErrConflict) {
		return &Error{Kind: hookline.ErrConflict, Detail: "an event type named " + quote(name) + " already exists"}
	}
	return err
}
