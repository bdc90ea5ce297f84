package sqlstore

import (
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Health folds the results of a batch of deliveries into one update of
// each endpoint's failing_since: set at the first failure after the last
// success, cleared by a success. The zero Health is empty and ready.
type Health struct {
	byID  map[string]*EndpointHealth
	order []string
}

// Add folds in a result.
func (h *Health) Add(r store.Result) {
	id := r.Delivery.EndpointID
	e := h.byID[id]
	if e == nil {
		if h.byID == nil {
			h.byID = map[string]*EndpointHealth{}
		}
		e = &EndpointHealth{}
		h.byID[id] = e
		h.order = append(h.order, id)
	}
	if r.DisableEndpoint != "" {
		e.Disable = r.DisableEndpoint
	}
	if a := r.Attempt; a != nil {
		e.record(a)
	}
}

// Endpoints returns the IDs of the endpoints folded in, in the order they
// came; the caller may reorder the slice.
func (h *Health) Endpoints() []string { return h.order }

// Endpoint returns the fold of the endpoint with ID id, nil for one not
// folded in.
func (h *Health) Endpoint(id string) *EndpointHealth { return h.byID[id] }

// HealthChange is what a batch does to an endpoint's failing_since.
type HealthChange int

const (
	// HealthSame leaves failing_since as it is: the batch tried nothing.
	HealthSame HealthChange = iota
	// HealthOK clears failing_since: the batch's last attempt succeeded.
	HealthOK
	// HealthFailing sets failing_since, where it is not set yet, to the
	// time EndpointHealth.Change returns.
	HealthFailing
)

// EndpointHealth is the fold of a batch's results for one endpoint.
type EndpointHealth struct {
	// Disable is the reason to disable the endpoint, "" to leave it.
	Disable string

	attempted   bool
	lastOK      bool
	firstFailed time.Time // first failure after the last success in the batch
}

func (e *EndpointHealth) record(a *hookline.Attempt) {
	e.attempted = true
	if a.Status == hookline.StatusSuccess {
		e.lastOK, e.firstFailed = true, time.Time{}
		return
	}
	e.lastOK = false
	if e.firstFailed.IsZero() || a.CreatedAt.Before(e.firstFailed) {
		e.firstFailed = a.CreatedAt
	}
}

// Change returns what the batch does to failing_since and, for
// HealthFailing, the time the endpoint began failing.
func (e *EndpointHealth) Change() (HealthChange, time.Time) {
	switch {
	case !e.attempted:
		return HealthSame, time.Time{}
	case e.lastOK:
		return HealthOK, time.Time{}
	default:
		return HealthFailing, e.firstFailed
	}
}
