package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/webhook"
)

// SetDisabled records a user enabling or disabling an endpoint. Enabling
// one that hookline disabled forgets why and when it was failing, so it
// gets a fresh start instead of being disabled again at once.
func SetDisabled(e *hookline.Endpoint, disabled bool) {
	switch {
	case e.Disabled && !disabled:
		e.DisabledReason = ""
		e.FailingSince = nil
	case !e.Disabled && disabled:
		e.DisabledReason = ""
	}
	e.Disabled = disabled
}

// EndpointList lists the endpoints of the app key names, newest first
// unless p says otherwise.
func (s *Service) EndpointList(ctx context.Context, acc *hookline.Access, appKey string, p store.Page) ([]hookline.Endpoint, bool, error) {
	a, err := s.app(ctx, acc, hookline.CapViewBase, appKey)
	if err != nil {
		return nil, false, err
	}
	return s.st.EndpointList(ctx, a.ID, p)
}

// Endpoint returns an endpoint, by ID or uid, of the app key names.
func (s *Service) Endpoint(ctx context.Context, acc *hookline.Access, appKey, id string) (*hookline.Endpoint, error) {
	return s.endpoint(ctx, acc, hookline.CapViewBase, appKey, id)
}

func (s *Service) endpoint(ctx context.Context, acc *hookline.Access, c hookline.Capability, appKey, id string) (*hookline.Endpoint, error) {
	a, err := s.app(ctx, acc, c, appKey)
	if err != nil {
		return nil, err
	}
	e, err := s.st.EndpointGet(ctx, a.ID, id)
	return e, lookup(err, "endpoint", id)
}

// EndpointCreate creates an endpoint of the app key names: set fills in
// what the caller chose on a new endpoint (sending JSON unless set says
// otherwise), signed with secret, or with a new secret when it is "".
func (s *Service) EndpointCreate(ctx context.Context, acc *hookline.Access, appKey, secret string, set func(*hookline.Endpoint)) (*hookline.Endpoint, error) {
	a, err := s.app(ctx, acc, hookline.CapManageEndpoint, appKey)
	if err != nil {
		return nil, err
	}
	e, err := s.newEndpoint(a, secret, set)
	if err != nil {
		return nil, err
	}
	if err := s.create(ctx, e); err != nil {
		return nil, err
	}
	s.emitCreated(e)
	return e, nil
}

// emitCreated tells the operator of a new endpoint. One made disabled
// sends no endpoint.disabled: it was never enabled.
func (s *Service) emitCreated(e *hookline.Endpoint) {
	s.emit(opwebhook.Endpoint(opwebhook.EndpointCreated, e))
}

// emitUpdated tells the operator of a changed endpoint, and of its being
// disabled or enabled when wasDisabled says it was not or was before.
func (s *Service) emitUpdated(e *hookline.Endpoint, wasDisabled bool) {
	s.emit(opwebhook.Endpoint(opwebhook.EndpointUpdated, e))
	switch {
	case e.Disabled && !wasDisabled:
		s.emit(opwebhook.EndpointDisabledBy(e, true))
	case !e.Disabled && wasDisabled:
		s.emit(opwebhook.Endpoint(opwebhook.EndpointEnabled, e))
	}
}

func (s *Service) newEndpoint(a *hookline.App, secret string, set func(*hookline.Endpoint)) (*hookline.Endpoint, error) {
	now := s.now()
	e := &hookline.Endpoint{
		ID:        hookline.NewID(hookline.PrefixEndpoint),
		AppID:     a.ID,
		Format:    hookline.FormatJSON,
		Version:   1,
		CreatedAt: now,
		UpdatedAt: now,
	}
	set(e)
	if secret == "" {
		secret = webhook.NewSecret()
	}
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		return nil, hookline.Invalid([]string{"body", "secret"}, err.Error())
	}
	e.Secrets = []hookline.Secret{{Key: key}}
	return e, nil
}

func (s *Service) create(ctx context.Context, e *hookline.Endpoint) error {
	if err := s.validate(ctx, e, "", true); err != nil {
		return err
	}
	if err := s.st.EndpointCreate(ctx, e); err != nil {
		return writeErr(err, e)
	}
	return nil
}

// EndpointUpdate changes an endpoint: change sets the caller's fields and
// reports whether it set the event types, which are then checked against
// the catalog.
func (s *Service) EndpointUpdate(ctx context.Context, acc *hookline.Access, appKey, id string, change func(*hookline.Endpoint) (eventTypesSet bool)) (*hookline.Endpoint, error) {
	e, err := s.endpoint(ctx, acc, hookline.CapManageEndpoint, appKey, id)
	if err != nil {
		return nil, err
	}
	wasDisabled := e.Disabled
	if err := s.update(ctx, e, change); err != nil {
		return nil, err
	}
	s.emitUpdated(e, wasDisabled)
	return e, nil
}

func (s *Service) update(ctx context.Context, e *hookline.Endpoint, change func(*hookline.Endpoint) bool) error {
	prevURL := e.URL
	eventTypesSet := change(e)
	e.UpdatedAt = s.now()
	if err := s.validate(ctx, e, prevURL, eventTypesSet); err != nil {
		return err
	}
	if err := s.st.EndpointUpdate(ctx, e); err != nil {
		return writeErr(err, e)
	}
	return nil
}

// EndpointPut replaces an endpoint, as EndpointUpdate does, or creates it
// when the app has none with the ID or uid id: then with a new secret,
// and with id as its uid when set names none and id is not an ID.
func (s *Service) EndpointPut(ctx context.Context, acc *hookline.Access, appKey, id string, change func(*hookline.Endpoint) (eventTypesSet bool)) (e *hookline.Endpoint, created bool, err error) {
	a, err := s.app(ctx, acc, hookline.CapManageEndpoint, appKey)
	if err != nil {
		return nil, false, err
	}
	e, created, wasDisabled, err := s.put(ctx, a, id, change)
	switch {
	case err != nil:
		return nil, false, err
	case created:
		s.emitCreated(e)
	default:
		s.emitUpdated(e, wasDisabled)
	}
	return e, created, nil
}

// put replaces the endpoint of app a with the ID or uid id, or creates it
// when there is none: then with a new secret, and with id as its uid when
// change sets none and id is not an ID. wasDisabled is the replaced
// endpoint's state before.
func (s *Service) put(ctx context.Context, a *hookline.App, id string, change func(*hookline.Endpoint) bool) (e *hookline.Endpoint, created, wasDisabled bool, err error) {
	e, err = s.st.EndpointGet(ctx, a.ID, id)
	if errors.Is(err, hookline.ErrNotFound) {
		e, err = s.newEndpoint(a, "", func(e *hookline.Endpoint) { change(e) })
		if err != nil {
			return nil, false, false, err
		}
		if e.UID == "" && !hookline.IsID(hookline.PrefixEndpoint, id) {
			e.UID = id
		}
		if err := s.create(ctx, e); err != nil {
			return nil, false, false, err
		}
		return e, true, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	wasDisabled = e.Disabled
	if err := s.update(ctx, e, change); err != nil {
		return nil, false, false, err
	}
	return e, false, wasDisabled, nil
}

// EndpointDelete deletes an endpoint.
func (s *Service) EndpointDelete(ctx context.Context, acc *hookline.Access, appKey, id string) error {
	e, err := s.endpoint(ctx, acc, hookline.CapManageEndpoint, appKey, id)
	if err != nil {
		return err
	}
	if err := s.st.EndpointDelete(ctx, e.AppID, e.ID); err != nil {
		return lookup(err, "endpoint", e.ID)
	}
	s.emit(opwebhook.Endpoint(opwebhook.EndpointDeleted, e))
	return nil
}

// writeErr explains a conflict on an endpoint write: uids are unique per
// app.
func writeErr(err error, e *hookline.Endpoint) error {
	if errors.Is(err, hookline.ErrConflict) {
		return &Error{Kind: hookline.ErrConflict, Detail: "an endpoint with uid " + quote(e.UID) + " already exists in this application"}
	}
	return lookup(err, "endpoint", e.ID)
}

// validate runs the domain's checks and then the ones that need the
// server's settings or the store. A URL that the network guard would
// refuse at every attempt is refused when it is set (prevURL is the one it
// replaces), so that an endpoint made while private networks were allowed
// can still be changed in other ways, such as disabled.
func (s *Service) validate(ctx context.Context, e *hookline.Endpoint, prevURL string, eventTypesSet bool) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.URL != prevURL {
		if err := netguard.CheckURL(e.URL, s.allowPrivate); err != nil {
			// Both a validation error, as the API answers it, and the
			// guard's, which the portal words for a customer.
			return fmt.Errorf("%w (%w)", hookline.Invalid([]string{"body", "url"}, err.Error()), err)
		}
	}
	switch {
	case eventTypesSet && e.AppID == opwebhook.AppID:
		return checkOperationalTypes(e.EventTypes)
	case eventTypesSet:
		return s.checkEventTypes(ctx, e.EventTypes)
	}
	return nil
}

// checkEventTypes refuses filters on event types that do not exist or are
// archived, as Svix does, so a typo does not silently filter out
// everything.
func (s *Service) checkEventTypes(ctx context.Context, names []string) error {
	var missing []string
	for _, n := range names {
		et, err := s.st.EventTypeGet(ctx, n)
		switch {
		case errors.Is(err, hookline.ErrNotFound) || err == nil && et.Archived:
			missing = append(missing, n)
		case err != nil:
			return err
		}
	}
	if len(missing) > 0 {
		return hookline.Invalid([]string{"body", "eventTypes"},
			"The following event types don't exist: "+strings.Join(missing, ", "))
	}
	return nil
}

// EventTypes returns the catalog's event types that are not archived, up
// to limit of them, in the store's order: what an endpoint may subscribe to.
func (s *Service) EventTypes(ctx context.Context, acc *hookline.Access, limit int) ([]hookline.EventType, error) {
	if err := acc.Require(hookline.CapViewBase, ""); err != nil {
		return nil, err
	}
	var out []hookline.EventType
	p := store.Page{Limit: min(limit, store.MaxLimit)}
	for len(out) < limit {
		ets, done, err := s.st.EventTypeList(ctx, p, false)
		if err != nil {
			return nil, err
		}
		out = append(out, ets...)
		if done || len(ets) == 0 {
			break
		}
		p.Iterator = ets[len(ets)-1].Name
	}
	return out[:min(len(out), limit)], nil
}

// Secret rotation bounds, as in Svix.
const (
	DefaultGracePeriod = 24 * time.Hour
	MaxGracePeriod     = 7 * 24 * time.Hour
	maxOldSecrets      = 10
)

// EndpointSecret returns an endpoint's current signing secret, in its
// whsec_ form.
func (s *Service) EndpointSecret(ctx context.Context, acc *hookline.Access, appKey, id string) (string, error) {
	e, err := s.endpoint(ctx, acc, hookline.CapViewEndpointSecret, appKey, id)
	if err != nil {
		return "", err
	}
	return secretOf(e)
}

func secretOf(e *hookline.Endpoint) (string, error) {
	if len(e.Secrets) == 0 {
		return "", errors.New("endpoint " + e.ID + " has no signing secret")
	}
	return webhook.FormatSecret(e.Secrets[0].Key), nil
}

// EndpointSecretRotate makes a new signing secret (secret, or a new
// random one when it is "") current. The old current secret keeps
// signing, next to the new one, for grace, so receivers can switch without
// rejecting deliveries in between.
func (s *Service) EndpointSecretRotate(ctx context.Context, acc *hookline.Access, appKey, id, secret string, grace time.Duration) error {
	key, err := checkRotate(secret, grace)
	if err != nil {
		return err
	}
	e, err := s.endpoint(ctx, acc, hookline.CapManageEndpointSecret, appKey, id)
	if err != nil {
		return err
	}
	return s.rotate(ctx, e, key, grace)
}

// checkRotate checks the arguments of a rotation and returns the new key.
func checkRotate(secret string, grace time.Duration) ([]byte, error) {
	if grace < 0 || grace > MaxGracePeriod {
		return nil, hookline.Invalid([]string{"body", "gracePeriodSeconds"}, "must be between 0 and 604800 (7 days)")
	}
	if secret == "" {
		secret = webhook.NewSecret()
	}
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		return nil, hookline.Invalid([]string{"body", "key"}, err.Error())
	}
	return key, nil
}

// rotate makes key the current secret of e, keeping the old one for grace.
func (s *Service) rotate(ctx context.Context, e *hookline.Endpoint, key []byte, grace time.Duration) error {
	now := s.now()
	var old []hookline.Secret
	for i, sec := range e.Secrets {
		if i == 0 {
			expires := now.Add(grace)
			sec.ExpiresAt = &expires
		}
		if sec.ExpiresAt != nil && now.Before(*sec.ExpiresAt) {
			old = append(old, sec)
		}
	}
	if len(old) > maxOldSecrets {
		return &Error{Kind: ErrLimitReached,
			Detail: "an endpoint keeps at most 10 old secrets; wait for one to expire before rotating again"}
	}
	// Newest expiry first, so the order of Secrets is the order of use.
	slices.SortStableFunc(old, func(a, b hookline.Secret) int { return b.ExpiresAt.Compare(*a.ExpiresAt) })
	e.Secrets = append([]hookline.Secret{{Key: key}}, old...)
	e.UpdatedAt = now
	return lookup(s.st.EndpointUpdate(ctx, e), "endpoint", e.ID)
}
