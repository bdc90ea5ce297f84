package api

import (
	"net/http"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/ops"
)

// operationalRoutes registers Svix's operational webhook endpoints: the
// operator's own endpoints, which hear of hookline's events (package
// opwebhook).
func (s *server) operationalRoutes() {
	const base = "/api/v1/operational-webhook/endpoint"
	const ep = base + "/{endpoint_id}"
	s.route("GET "+base, s.operationalList)
	s.route("POST "+base, s.operationalCreate)
	s.route("GET "+ep, s.operationalGet)
	s.route("PUT "+ep, s.operationalUpdate)
	s.route("DELETE "+ep, s.operationalDelete)
	s.route("GET "+ep+"/secret", s.operationalSecretGet)
	s.route("POST "+ep+"/secret/rotate", s.operationalSecretRotate)
	s.route("GET "+ep+"/headers", s.operationalHeadersGet)
	s.route("PUT "+ep+"/headers", s.operationalHeadersUpdate)
}

// operationalIn is Svix's OperationalWebhookEndpointIn (a create) and
// OperationalWebhookEndpointUpdate (a PUT, which sets no secret).
type operationalIn struct {
	URL         string            `json:"url"`
	Description string            `json:"description"`
	UID         *string           `json:"uid"`
	Disabled    bool              `json:"disabled"`
	FilterTypes []string          `json:"filterTypes"`
	Metadata    map[string]string `json:"metadata"`
	// RateLimit is the deprecated name of ThrottleRate, which wins.
	RateLimit    *int    `json:"rateLimit"`
	ThrottleRate *int    `json:"throttleRate"`
	Secret       *string `json:"secret"`
}

// apply sets every caller-settable field of e from in: a PUT replaces,
// but keeps the headers, which have routes of their own.
func (in *operationalIn) apply(e *hookline.Endpoint) bool {
	e.URL = in.URL
	e.Description = in.Description
	e.UID = deref(in.UID)
	ops.SetDisabled(e, in.Disabled)
	e.EventTypes = in.FilterTypes
	e.Metadata = orEmpty(in.Metadata)
	e.RateLimit = in.ThrottleRate
	if e.RateLimit == nil {
		e.RateLimit = in.RateLimit
	}
	return in.FilterTypes != nil
}

// operationalOut is Svix's OperationalWebhookEndpointOut.
type operationalOut struct {
	ID           string            `json:"id"`
	UID          *string           `json:"uid"`
	URL          string            `json:"url"`
	Description  string            `json:"description"`
	Disabled     bool              `json:"disabled"`
	FilterTypes  []string          `json:"filterTypes"`
	RateLimit    *int              `json:"rateLimit"`
	ThrottleRate *int              `json:"throttleRate"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
}

func operationalToWire(e *hookline.Endpoint) operationalOut {
	return operationalOut{
		ID:           e.ID,
		UID:          ptr(e.UID),
		URL:          e.URL,
		Description:  e.Description,
		Disabled:     e.Disabled,
		FilterTypes:  nilIfEmpty(e.EventTypes),
		RateLimit:    e.RateLimit,
		ThrottleRate: e.RateLimit,
		Metadata:     orEmpty(e.Metadata),
		CreatedAt:    e.CreatedAt.UTC(),
		UpdatedAt:    e.UpdatedAt.UTC(),
	}
}

func (s *server) operationalList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixEndpoint), desc: true, orderable: true})
	if err := q.err(); err != nil {
		return err
	}
	eps, done, err := s.ops.OperationalEndpointList(r.Context(), accessFrom(r.Context()), p)
	if err != nil {
		return opsErr(err)
	}
	out := make([]operationalOut, len(eps))
	for i := range eps {
		out[i] = operationalToWire(&eps[i])
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(e *operationalOut) string { return e.ID }))
	return nil
}

func (s *server) operationalCreate(w http.ResponseWriter, r *http.Request) error {
	var in operationalIn
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.ops.OperationalEndpointCreate(r.Context(), accessFrom(r.Context()), deref(in.Secret),
		func(e *hookline.Endpoint) { in.apply(e) })
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusCreated, operationalToWire(e))
	return nil
}

func (s *server) operationalGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.ops.OperationalEndpoint(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id"))
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, operationalToWire(e))
	return nil
}

// operationalUpdate replaces an operator's endpoint, or creates it when
// there is none with the ID or uid in the path, as Svix's upsert does;
// it answers 200 either way, as Svix documents.
func (s *server) operationalUpdate(w http.ResponseWriter, r *http.Request) error {
	var in operationalIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Secret != nil {
		return hookline.Invalid([]string{"body", "secret"}, "cannot be set by an update; rotate the secret instead")
	}
	e, _, err := s.ops.OperationalEndpointPut(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id"), in.apply)
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, operationalToWire(e))
	return nil
}

func (s *server) operationalDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.ops.OperationalEndpointDelete(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id")); err != nil {
		return opsErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) operationalSecretGet(w http.ResponseWriter, r *http.Request) error {
	key, err := s.ops.OperationalEndpointSecret(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id"))
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, struct {
		Key string `json:"key"`
	}{key})
	return nil
}

// operationalSecretRotate makes a new signing secret (the given one, or a
// new random one) current; the old one keeps signing for 24 hours, as in
// Svix, whose operational rotation takes no grace period.
func (s *server) operationalSecretRotate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Key *string `json:"key"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if err := s.ops.OperationalEndpointSecretRotate(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id"),
		deref(in.Key), ops.DefaultGracePeriod); err != nil {
		return opsErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) operationalHeadersGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.ops.OperationalEndpoint(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id"))
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, headersToWire(e.Headers))
	return nil
}

// operationalHeadersUpdate replaces the custom headers.
func (s *server) operationalHeadersUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Headers map[string]string `json:"headers"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Headers == nil {
		return hookline.Invalid([]string{"body", "headers"}, "must be an object of header names to values")
	}
	_, err := s.ops.OperationalEndpointUpdate(r.Context(), accessFrom(r.Context()), r.PathValue("endpoint_id"),
		func(e *hookline.Endpoint) bool {
			e.Headers = in.Headers
			return false
		})
	if err != nil {
		return opsErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
