package ops

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// The operator's endpoints, which receive hookline's operational events
// (package opwebhook), are endpoints of a reserved app that only these
// operations reach, and only with the admin's access. Changing them sends
// no event.

// OperationalEndpointList lists the operator's endpoints, newest first
// unless p says otherwise.
func (s *Service) OperationalEndpointList(ctx context.Context, acc *hookline.Access, p store.Page) ([]hookline.Endpoint, bool, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, false, err
	}
	eps, done, err := s.st.EndpointList(ctx, opwebhook.AppID, p)
	if errors.Is(err, hookline.ErrNotFound) {
		return nil, true, nil
	}
	return eps, done, err
}

// OperationalEndpoint returns one of the operator's endpoints, by ID or
// uid.
func (s *Service) OperationalEndpoint(ctx context.Context, acc *hookline.Access, id string) (*hookline.Endpoint, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, err
	}
	e, err := s.st.EndpointGet(ctx, opwebhook.AppID, id)
	return e, lookup(err, "operational webhook endpoint", id)
}

// OperationalEndpointCreate creates an endpoint of the operator's, as
// EndpointCreate does one of an app.
func (s *Service) OperationalEndpointCreate(ctx context.Context, acc *hookline.Access, secret string, set func(*hookline.Endpoint)) (*hookline.Endpoint, error) {
	a, err := s.operationalApp(ctx, acc)
	if err != nil {
		return nil, err
	}
	e, err := s.newEndpoint(a, secret, set)
	if err != nil {
		return nil, err
	}
	return e, s.create(ctx, e)
}

// OperationalEndpointPut replaces an endpoint of the operator's, or
// creates it, as EndpointPut does one of an app.
func (s *Service) OperationalEndpointPut(ctx context.Context, acc *hookline.Access, id string, change func(*hookline.Endpoint) (eventTypesSet bool)) (e *hookline.Endpoint, created bool, err error) {
	a, err := s.operationalApp(ctx, acc)
	if err != nil {
		return nil, false, err
	}
	e, created, _, err = s.put(ctx, a, id, change)
	if err != nil {
		return nil, false, err
	}
	return e, created, nil
}

// OperationalEndpointUpdate changes an endpoint of the operator's, as
// EndpointUpdate does one of an app.
func (s *Service) OperationalEndpointUpdate(ctx context.Context, acc *hookline.Access, id string, change func(*hookline.Endpoint) (eventTypesSet bool)) (*hookline.Endpoint, error) {
	e, err := s.OperationalEndpoint(ctx, acc, id)
	if err != nil {
		return nil, err
	}
	return e, s.update(ctx, e, change)
}

// OperationalEndpointDelete deletes an endpoint of the operator's.
func (s *Service) OperationalEndpointDelete(ctx context.Context, acc *hookline.Access, id string) error {
	e, err := s.OperationalEndpoint(ctx, acc, id)
	if err != nil {
		return err
	}
	return lookup(s.st.EndpointDelete(ctx, e.AppID, e.ID), "operational webhook endpoint", e.ID)
}

// OperationalEndpointSecret returns the signing secret of an endpoint of
// the operator's.
func (s *Service) OperationalEndpointSecret(ctx context.Context, acc *hookline.Access, id string) (string, error) {
	e, err := s.OperationalEndpoint(ctx, acc, id)
	if err != nil {
		return "", err
	}
	return secretOf(e)
}

// OperationalEndpointSecretRotate rotates the signing secret of an
// endpoint of the operator's, as EndpointSecretRotate does.
func (s *Service) OperationalEndpointSecretRotate(ctx context.Context, acc *hookline.Access, id, secret string, grace time.Duration) error {
	key, err := checkRotate(secret, grace)
	if err != nil {
		return err
	}
	e, err := s.OperationalEndpoint(ctx, acc, id)
	if err != nil {
		return err
	}
	return s.rotate(ctx, e, key, grace)
}

// operationalApp checks that acc is the admin's and returns the reserved
// app, creating it on first use.
func (s *Service) operationalApp(ctx context.Context, acc *hookline.Access) (*hookline.App, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, err
	}
	a, err := s.st.AppGet(ctx, opwebhook.AppID)
	if !errors.Is(err, hookline.ErrNotFound) {
		return a, err
	}
	now := s.now()
	a = &hookline.App{ID: opwebhook.AppID, Name: opwebhook.AppName, Metadata: map[string]string{},
		CreatedAt: now, UpdatedAt: now}
	switch err := s.st.AppCreate(ctx, a); {
	case errors.Is(err, hookline.ErrConflict):
		// Made at the same moment by another request.
		return s.st.AppGet(ctx, opwebhook.AppID)
	case err != nil:
		return nil, err
	}
	return a, nil
}

// checkOperationalTypes refuses filters on event types that are not
// operational events.
func checkOperationalTypes(names []string) error {
	var unknown []string
	for _, n := range names {
		if !opwebhook.IsEventType(n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return hookline.Invalid([]string{"body", "filterTypes"},
			"The following event types are not operational events: "+strings.Join(unknown, ", ")+
				"; choose from "+strings.Join(opwebhook.EventTypes, ", "))
	}
	return nil
}
