package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/webhook"
)

// endpointIn is Svix's EndpointIn (a create) and EndpointUpdate (a PUT),
// plus hookline's format and headers.
type endpointIn struct {
	URL         string  `json:"url"`
	Description string  `json:"description"`
	UID         *string `json:"uid"`
	Version     *int    `json:"version"`
	Disabled    bool    `json:"disabled"`
	// EventTypes is also accepted as filterTypes, its older name, which
	// current SDKs still send.
	EventTypes  []string `json:"eventTypes"`
	FilterTypes []string `json:"filterTypes"`
	Channels    []string `json:"channels"`
	// Secret is read on create only; a PUT does not change secrets.
	Secret   *string           `json:"secret"`
	Metadata map[string]string `json:"metadata"`
	// RateLimit is the deprecated name of ThrottleRate, which wins.
	RateLimit    *int    `json:"rateLimit"`
	ThrottleRate *int    `json:"throttleRate"`
	Format       *string `json:"format"`
	// Headers are sent with every delivery; when left out of a PUT, the
	// endpoint keeps its headers.
	Headers map[string]string `json:"headers"`
}

// apply sets every caller-settable field of e from in: a PUT replaces,
// except for format and headers, which are kept when left out.
func (in *endpointIn) apply(e *hookline.Endpoint) {
	e.URL = in.URL
	e.Description = in.Description
	e.UID = deref(in.UID)
	e.Version = 1
	if in.Version != nil {
		e.Version = *in.Version
	}
	setDisabled(e, in.Disabled)
	e.EventTypes = in.eventTypes()
	e.Channels = in.Channels
	e.Metadata = orEmpty(in.Metadata)
	e.RateLimit = in.ThrottleRate
	if e.RateLimit == nil {
		e.RateLimit = in.RateLimit
	}
	if in.Format != nil {
		e.Format = hookline.Format(*in.Format)
	}
	if in.Headers != nil {
		e.Headers = in.Headers
	}
}

func (in *endpointIn) eventTypes() []string {
	if in.EventTypes != nil {
		return in.EventTypes
	}
	return in.FilterTypes
}

// setDisabled records a user enabling or disabling an endpoint. Enabling
// one that hookline disabled forgets why and when it was failing, so it
// gets a fresh start instead of being disabled again at once.
func setDisabled(e *hookline.Endpoint, disabled bool) {
	switch {
	case e.Disabled && !disabled:
		e.DisabledReason = ""
		e.FailingSince = nil
	case !e.Disabled && disabled:
		e.DisabledReason = ""
	}
	e.Disabled = disabled
}

// endpointPatch is Svix's EndpointPatch, plus hookline's format.
type endpointPatch struct {
	URL          field[string]            `json:"url"`
	Description  field[string]            `json:"description"`
	UID          field[string]            `json:"uid"`
	Version      field[int]               `json:"version"`
	Disabled     field[bool]              `json:"disabled"`
	EventTypes   field[[]string]          `json:"eventTypes"`
	FilterTypes  field[[]string]          `json:"filterTypes"`
	Channels     field[[]string]          `json:"channels"`
	Metadata     field[map[string]string] `json:"metadata"`
	RateLimit    field[int]               `json:"rateLimit"`
	ThrottleRate field[int]               `json:"throttleRate"`
	Format       field[string]            `json:"format"`
}

func (p *endpointPatch) eventTypes() field[[]string] {
	if p.EventTypes.Set {
		return p.EventTypes
	}
	return p.FilterTypes
}

func (p *endpointPatch) apply(e *hookline.Endpoint) {
	e.URL = p.URL.valueOr(e.URL)
	e.Description = p.Description.valueOr(e.Description)
	if p.UID.Set {
		e.UID = p.UID.Value
	}
	e.Version = p.Version.valueOr(e.Version)
	if p.Disabled.Set && !p.Disabled.Null {
		setDisabled(e, p.Disabled.Value)
	}
	if et := p.eventTypes(); et.Set {
		e.EventTypes = et.Value
	}
	if p.Channels.Set {
		e.Channels = p.Channels.Value
	}
	e.Metadata = p.Metadata.valueOr(e.Metadata)
	if p.RateLimit.Set {
		e.RateLimit = p.RateLimit.ptr()
	}
	if p.ThrottleRate.Set {
		e.RateLimit = p.ThrottleRate.ptr()
	}
	if p.Format.Set && !p.Format.Null {
		e.Format = hookline.Format(p.Format.Value)
	}
}

// endpointCommon holds the fields Svix's EndpointOut and MessageEndpointOut
// share.
type endpointCommon struct {
	UID         *string `json:"uid"`
	URL         string  `json:"url"`
	Description string  `json:"description"`
	Version     int     `json:"version"`
	Disabled    bool    `json:"disabled"`
	// DisabledReason says why hookline disabled the endpoint by itself; it
	// is left out when the endpoint is enabled or a user disabled it.
	DisabledReason string   `json:"disabledReason,omitempty"`
	RateLimit      *int     `json:"rateLimit"`
	ThrottleRate   *int     `json:"throttleRate"`
	EventTypes     []string `json:"eventTypes"`
	// FilterTypes repeats EventTypes under the name current SDKs read.
	FilterTypes []string  `json:"filterTypes"`
	Channels    []string  `json:"channels"`
	Format      string    `json:"format"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// endpointOut is Svix's EndpointOut.
type endpointOut struct {
	ID string `json:"id"`
	endpointCommon
	Metadata map[string]string `json:"metadata"`
}

func endpointCommonToWire(e *hookline.Endpoint) endpointCommon {
	return endpointCommon{
		UID:            ptr(e.UID),
		URL:            e.URL,
		Description:    e.Description,
		Version:        e.Version,
		Disabled:       e.Disabled,
		DisabledReason: e.DisabledReason,
		RateLimit:      e.RateLimit,
		ThrottleRate:   e.RateLimit,
		EventTypes:     nilIfEmpty(e.EventTypes),
		FilterTypes:    nilIfEmpty(e.EventTypes),
		Channels:       nilIfEmpty(e.Channels),
		Format:         string(e.Format),
		CreatedAt:      e.CreatedAt.UTC(),
		UpdatedAt:      e.UpdatedAt.UTC(),
	}
}

func endpointToWire(e *hookline.Endpoint) endpointOut {
	return endpointOut{ID: e.ID, endpointCommon: endpointCommonToWire(e), Metadata: orEmpty(e.Metadata)}
}

// nilIfEmpty makes an empty filter null on the wire, as Svix shows "all".
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// endpoint loads the endpoint named by the {endpoint_id} path value, an ID
// or a uid, of the app in the path.
func (s *server) endpoint(r *http.Request) (*hookline.App, *hookline.Endpoint, error) {
	a, err := s.app(r)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("endpoint_id")
	e, err := s.st.EndpointGet(r.Context(), a.ID, id)
	return a, e, lookup(err, "endpoint", id)
}

// checkEventTypes refuses filters on event types that do not exist or are
// archived, as Svix does, so a typo does not silently filter out
// everything.
func (s *server) checkEventTypes(ctx context.Context, names []string) error {
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

// validateEndpoint runs the domain's checks and then the ones that need
// the server's settings or the store. A URL that the network guard would
// refuse at every attempt is refused when it is set (prevURL is the one it
// replaces), so that an endpoint made while private networks were allowed
// can still be changed in other ways, such as disabled.
func (s *server) validateEndpoint(ctx context.Context, e *hookline.Endpoint, prevURL string, eventTypesChanged bool) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.URL != prevURL {
		if err := netguard.CheckURL(e.URL, s.allowPrivate); err != nil {
			return hookline.Invalid([]string{"body", "url"}, err.Error())
		}
	}
	if eventTypesChanged {
		return s.checkEventTypes(ctx, e.EventTypes)
	}
	return nil
}

func (s *server) endpointList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixEndpoint), desc: true, orderable: true})
	if err := q.err(); err != nil {
		return err
	}
	a, err := s.app(r)
	if err != nil {
		return err
	}
	eps, done, err := s.st.EndpointList(r.Context(), a.ID, p)
	if err != nil {
		return err
	}
	out := make([]endpointOut, len(eps))
	for i := range eps {
		out[i] = endpointToWire(&eps[i])
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(e *endpointOut) string { return e.ID }))
	return nil
}

// newEndpoint builds a new endpoint of app from in, with in's secret or a
// new one.
func (s *server) newEndpoint(app *hookline.App, in *endpointIn) (*hookline.Endpoint, error) {
	now := s.now()
	e := &hookline.Endpoint{
		ID:        hookline.NewID(hookline.PrefixEndpoint),
		AppID:     app.ID,
		Format:    hookline.FormatJSON,
		CreatedAt: now,
		UpdatedAt: now,
	}
	in.apply(e)
	secret := deref(in.Secret)
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

func (s *server) endpointCreate(w http.ResponseWriter, r *http.Request) error {
	var in endpointIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.app(r)
	if err != nil {
		return err
	}
	e, err := s.newEndpoint(a, &in)
	if err != nil {
		return err
	}
	if err := s.validateEndpoint(r.Context(), e, "", true); err != nil {
		return err
	}
	if err := s.st.EndpointCreate(r.Context(), e); err != nil {
		return endpointWriteErr(err, e)
	}
	writeJSON(w, http.StatusCreated, endpointToWire(e))
	return nil
}

// endpointWriteErr explains a conflict on an endpoint write: uids are
// unique per app.
func endpointWriteErr(err error, e *hookline.Endpoint) error {
	if errors.Is(err, hookline.ErrConflict) {
		return conflict("an endpoint with uid " + quote(e.UID) + " already exists in this application")
	}
	return lookup(err, "endpoint", e.ID)
}

func (s *server) endpointGet(w http.ResponseWriter, r *http.Request) error {
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endpointToWire(e))
	return nil
}

// endpointUpdate replaces an endpoint, or creates it (201) when the app
// has none with the ID or uid in the path; like an app, a created endpoint
// takes the path as its uid when the body names none.
func (s *server) endpointUpdate(w http.ResponseWriter, r *http.Request) error {
	var in endpointIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.app(r)
	if err != nil {
		return err
	}
	id := r.PathValue("endpoint_id")
	e, err := s.st.EndpointGet(r.Context(), a.ID, id)
	if errors.Is(err, hookline.ErrNotFound) {
		in.Secret = nil // EndpointUpdate has no secret; a new one is made
		if e, err = s.newEndpoint(a, &in); err != nil {
			return err
		}
		if e.UID == "" && !hookline.IsID(hookline.PrefixEndpoint, id) {
			e.UID = id
		}
		if err := s.validateEndpoint(r.Context(), e, "", true); err != nil {
			return err
		}
		if err := s.st.EndpointCreate(r.Context(), e); err != nil {
			return endpointWriteErr(err, e)
		}
		writeJSON(w, http.StatusCreated, endpointToWire(e))
		return nil
	}
	if err != nil {
		return err
	}
	prevURL := e.URL
	in.apply(e)
	e.UpdatedAt = s.now()
	if err := s.validateEndpoint(r.Context(), e, prevURL, in.eventTypes() != nil); err != nil {
		return err
	}
	if err := s.st.EndpointUpdate(r.Context(), e); err != nil {
		return endpointWriteErr(err, e)
	}
	writeJSON(w, http.StatusOK, endpointToWire(e))
	return nil
}

func (s *server) endpointPatch(w http.ResponseWriter, r *http.Request) error {
	var p endpointPatch
	if err := decode(r, &p); err != nil {
		return err
	}
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	prevURL := e.URL
	p.apply(e)
	e.UpdatedAt = s.now()
	if err := s.validateEndpoint(r.Context(), e, prevURL, p.eventTypes().Set); err != nil {
		return err
	}
	if err := s.st.EndpointUpdate(r.Context(), e); err != nil {
		return endpointWriteErr(err, e)
	}
	writeJSON(w, http.StatusOK, endpointToWire(e))
	return nil
}

func (s *server) endpointDelete(w http.ResponseWriter, r *http.Request) error {
	a, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	if err := s.st.EndpointDelete(r.Context(), a.ID, e.ID); err != nil {
		return lookup(err, "endpoint", e.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sensitiveHeaders are shown by name only, in "sensitive", never by value,
// as Svix does: they usually carry credentials.
var sensitiveHeaders = []string{
	"x-auth-token", "x-api-key", "www-authenticate", "authorization", "proxy-authenticate", "proxy-authorization",
}

// endpointHeadersOut is Svix's EndpointHeadersOut.
type endpointHeadersOut struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

func (s *server) endpointHeadersGet(w http.ResponseWriter, r *http.Request) error {
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	out := endpointHeadersOut{Headers: map[string]string{}, Sensitive: []string{}}
	for k, v := range e.Headers {
		if slices.Contains(sensitiveHeaders, strings.ToLower(k)) {
			out.Sensitive = append(out.Sensitive, k)
		} else {
			out.Headers[k] = v
		}
	}
	slices.Sort(out.Sensitive)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// endpointHeadersUpdate replaces the custom headers.
func (s *server) endpointHeadersUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Headers map[string]string `json:"headers"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Headers == nil {
		return hookline.Invalid([]string{"body", "headers"}, "must be an object of header names to values")
	}
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	e.Headers = in.Headers
	return s.saveHeaders(w, r, e)
}

// endpointHeadersPatch merges headers into the custom headers: a null
// value removes a header, as do the names in deleteHeaders (which newer
// SDKs send). Names match case-insensitively, as HTTP header names do.
func (s *server) endpointHeadersPatch(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Headers       map[string]*string `json:"headers"`
		DeleteHeaders []string           `json:"deleteHeaders"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	h := make(map[string]string, len(e.Headers)+len(in.Headers))
	for k, v := range e.Headers {
		h[k] = v
	}
	remove := func(name string) {
		for k := range h {
			if strings.EqualFold(k, name) {
				delete(h, k)
			}
		}
	}
	for _, name := range in.DeleteHeaders {
		remove(name)
	}
	for k, v := range in.Headers {
		remove(k)
		if v != nil {
			h[k] = *v
		}
	}
	e.Headers = h
	return s.saveHeaders(w, r, e)
}

func (s *server) saveHeaders(w http.ResponseWriter, r *http.Request, e *hookline.Endpoint) error {
	if msg := hookline.CheckHeaders(e.Headers); msg != "" {
		return hookline.Invalid([]string{"body", "headers"}, msg)
	}
	e.UpdatedAt = s.now()
	if err := s.st.EndpointUpdate(r.Context(), e); err != nil {
		return lookup(err, "endpoint", e.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endpointSecretGet returns the current signing secret.
func (s *server) endpointSecretGet(w http.ResponseWriter, r *http.Request) error {
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	if len(e.Secrets) == 0 {
		return errors.New("endpoint " + e.ID + " has no signing secret")
	}
	writeJSON(w, http.StatusOK, struct {
		Key string `json:"key"`
	}{webhook.FormatSecret(e.Secrets[0].Key)})
	return nil
}

// Secret rotation limits, as in Svix.
const (
	defaultGracePeriod = 24 * time.Hour
	maxGracePeriod     = 7 * 24 * time.Hour
	maxOldSecrets      = 10
)

// endpointSecretRotate makes a new signing secret (the given one, or a new
// random one) current. The old current secret keeps signing, next to the
// new one, for the grace period, so receivers can switch without
// rejecting deliveries in between.
func (s *server) endpointSecretRotate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Key                *string `json:"key"`
		GracePeriodSeconds *int64  `json:"gracePeriodSeconds"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	grace := defaultGracePeriod
	if in.GracePeriodSeconds != nil {
		grace = time.Duration(*in.GracePeriodSeconds) * time.Second
		if *in.GracePeriodSeconds < 0 || grace > maxGracePeriod {
			return hookline.Invalid([]string{"body", "gracePeriodSeconds"}, "must be between 0 and 604800 (7 days)")
		}
	}
	secret := deref(in.Key)
	if secret == "" {
		secret = webhook.NewSecret()
	}
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		return hookline.Invalid([]string{"body", "key"}, err.Error())
	}
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
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
		return &apiError{status: http.StatusBadRequest, code: "limit_reached",
			detail: "an endpoint keeps at most 10 old secrets; wait for one to expire before rotating again"}
	}
	// Newest expiry first, so the order of Secrets is the order of use.
	slices.SortStableFunc(old, func(a, b hookline.Secret) int { return b.ExpiresAt.Compare(*a.ExpiresAt) })
	e.Secrets = append([]hookline.Secret{{Key: key}}, old...)
	e.UpdatedAt = now
	if err := s.st.EndpointUpdate(r.Context(), e); err != nil {
		return lookup(err, "endpoint", e.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxRecoverWindow is how far back a recover may reach, as in Svix: two
// weeks, plus five minutes so that "now minus two weeks" computed on a
// client with a slow clock still passes.
const maxRecoverWindow = 14*24*time.Hour + 5*time.Minute

// recoverOut is Svix's RecoverOut.
type recoverOut struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Task      string    `json:"task"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// endpointRecover requeues the endpoint's failed deliveries created in
// [since, until). Svix runs this as a background task and answers with
// its ID; hookline requeues in one store transaction before answering,
// and answers in Svix's shape so the SDKs accept it.
func (s *server) endpointRecover(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Since *string `json:"since"`
		Until *string `json:"until"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	now := s.now()
	since, err := bodyTime("since", in.Since)
	if err == nil && since == nil {
		err = hookline.Invalid([]string{"body", "since"}, "is required")
	}
	if err != nil {
		return err
	}
	until, err := bodyTime("until", in.Until)
	if err != nil {
		return err
	}
	if until == nil {
		until = &now
	}
	if !since.Before(*until) {
		return hookline.Invalid([]string{"body", "since"}, "must be before until")
	}
	if since.Before(until.Add(-maxRecoverWindow)) {
		return hookline.Invalid([]string{"body", "since"}, "Cannot recover more than 14 days of messages")
	}
	a, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	// The window's bounds are exclusive; since is meant inclusively.
	after := since.Add(-time.Microsecond)
	n, err := s.st.DeliveryRecover(r.Context(), a.ID, e.ID, store.Window{After: &after, Before: until}, now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.wakeDispatcher()
	}
	writeJSON(w, http.StatusAccepted, recoverOut{
		ID:        hookline.NewID(hookline.PrefixTask),
		Status:    "running",
		Task:      "endpoint.recover",
		UpdatedAt: now,
	})
	return nil
}

// bodyTime parses an RFC 3339 field of a request body, nil when absent.
func bodyTime(name string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, hookline.Invalid([]string{"body", name}, "must be an RFC 3339 date-time such as 2025-01-02T15:04:05Z")
	}
	t = t.UTC()
	return &t, nil
}
