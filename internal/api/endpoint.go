package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/ops"
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
	ops.SetDisabled(e, in.Disabled)
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
		ops.SetDisabled(e, p.Disabled.Value)
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

func (s *server) endpointList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixEndpoint), desc: true, orderable: true})
	if err := q.err(); err != nil {
		return err
	}
	eps, done, err := s.ops.EndpointList(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), p)
	if err != nil {
		return opsErr(err)
	}
	out := make([]endpointOut, len(eps))
	for i := range eps {
		out[i] = endpointToWire(&eps[i])
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(e *endpointOut) string { return e.ID }))
	return nil
}

func (s *server) endpointCreate(w http.ResponseWriter, r *http.Request) error {
	var in endpointIn
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.ops.EndpointCreate(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), deref(in.Secret), in.apply)
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusCreated, endpointToWire(e))
	return nil
}

func (s *server) endpointGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.ops.Endpoint(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"))
	if err != nil {
		return opsErr(err)
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
	e, created, err := s.ops.EndpointPut(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"),
		func(e *hookline.Endpoint) bool {
			in.apply(e)
			return in.eventTypes() != nil
		})
	if err != nil {
		return opsErr(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, endpointToWire(e))
	return nil
}

func (s *server) endpointPatch(w http.ResponseWriter, r *http.Request) error {
	var p endpointPatch
	if err := decode(r, &p); err != nil {
		return err
	}
	e, err := s.ops.EndpointUpdate(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"),
		func(e *hookline.Endpoint) bool {
			p.apply(e)
			return p.eventTypes().Set
		})
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, endpointToWire(e))
	return nil
}

func (s *server) endpointDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.ops.EndpointDelete(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id")); err != nil {
		return opsErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endpointHeadersOut is Svix's EndpointHeadersOut.
type endpointHeadersOut struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

// headersToWire shows custom headers as Svix's EndpointHeadersOut does:
// the sensitive ones by name only.
func headersToWire(headers map[string]string) endpointHeadersOut {
	out := endpointHeadersOut{Headers: map[string]string{}, Sensitive: []string{}}
	for k, v := range headers {
		if hookline.SensitiveHeader(k) {
			out.Sensitive = append(out.Sensitive, k)
		} else {
			out.Headers[k] = v
		}
	}
	slices.Sort(out.Sensitive)
	return out
}

func (s *server) endpointHeadersGet(w http.ResponseWriter, r *http.Request) error {
	_, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, headersToWire(e.Headers))
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
	key, err := s.ops.EndpointSecret(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"))
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, struct {
		Key string `json:"key"`
	}{key})
	return nil
}

// endpointSecretRotate makes a new signing secret (the given one, or a new
// random one) current; the old one keeps signing for the grace period
// (see ops.Service.EndpointSecretRotate).
func (s *server) endpointSecretRotate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Key                *string `json:"key"`
		GracePeriodSeconds *int64  `json:"gracePeriodSeconds"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	grace := ops.DefaultGracePeriod
	if in.GracePeriodSeconds != nil {
		// Out-of-range seconds stay out of range as a duration.
		grace = time.Duration(min(max(*in.GracePeriodSeconds, -1), int64(ops.MaxGracePeriod/time.Second)+1)) * time.Second
	}
	if err := s.ops.EndpointSecretRotate(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"),
		deref(in.Key), grace); err != nil {
		return opsErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

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
	if _, err := s.ops.Recover(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"), *since, until); err != nil {
		return opsErr(err)
	}
	now := s.now()
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

// endpointSendExample publishes an example message of an event type to
// the endpoint alone, as Svix's send-example does, and answers with the
// message.
func (s *server) endpointSendExample(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		EventType    string `json:"eventType"`
		ExampleIndex *int   `json:"exampleIndex"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.EventType == "" {
		return hookline.Invalid([]string{"body", "eventType"}, "is required")
	}
	m, err := s.ops.SendExample(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("endpoint_id"),
		in.EventType, deref(in.ExampleIndex))
	if err != nil {
		return opsErr(err)
	}
	if s.metrics != nil {
		s.metrics.Published(1)
	}
	writeJSON(w, http.StatusAccepted, messageToWire(m, true))
	return nil
}
