package api

import (
	"net/http"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// attemptOut is Svix's MessageAttemptOut.
type attemptOut struct {
	ID                 string    `json:"id"`
	MsgID              string    `json:"msgId"`
	EndpointID         string    `json:"endpointId"`
	URL                string    `json:"url"`
	Response           string    `json:"response"`
	ResponseStatusCode int       `json:"responseStatusCode"`
	ResponseDurationMs int64     `json:"responseDurationMs"`
	Status             int       `json:"status"`
	StatusText         string    `json:"statusText"`
	TriggerType        int       `json:"triggerType"`
	Timestamp          time.Time `json:"timestamp"`
}

// attemptToWire maps an attempt. An attempt that got no response shows
// its error as the response, the one place Svix's shape has for it.
// Without content, the response body is "{}", as in Svix.
func attemptToWire(a *hookline.Attempt, withContent bool) attemptOut {
	resp := a.Response
	if resp == "" && a.StatusCode == 0 {
		resp = a.Error
	}
	if !withContent {
		resp = "{}"
	}
	return attemptOut{
		ID:                 a.ID,
		MsgID:              a.MessageID,
		EndpointID:         a.EndpointID,
		URL:                a.URL,
		Response:           resp,
		ResponseStatusCode: a.StatusCode,
		ResponseDurationMs: a.Duration.Milliseconds(),
		Status:             int(a.Status),
		StatusText:         a.Status.String(),
		TriggerType:        int(a.Trigger),
		Timestamp:          a.CreatedAt.UTC(),
	}
}

// attemptFilter reads the filters the two attempt lists share.
func attemptFilter(q *query) store.AttemptFilter {
	return store.AttemptFilter{
		Page:            q.page(pageSpec{validIterator: idIterator(hookline.PrefixAttempt), desc: true}),
		Window:          q.window(),
		Status:          q.status(),
		StatusCodeClass: q.statusCodeClass(),
		EventTypes:      q.eventTypes(),
		Channel:         q.name("channel"),
	}
}

func (s *server) writeAttempts(w http.ResponseWriter, r *http.Request, appID string, f store.AttemptFilter, withContent bool) error {
	attempts, done, err := s.st.AttemptList(r.Context(), appID, f)
	if err != nil {
		return err
	}
	out := make([]attemptOut, len(attempts))
	for i := range attempts {
		out[i] = attemptToWire(&attempts[i], withContent)
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(a *attemptOut) string { return a.ID }))
	return nil
}

// attemptListByEndpoint lists the attempts made to an endpoint, newest
// first.
func (s *server) attemptListByEndpoint(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := attemptFilter(q)
	withContent := q.bool("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	a, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	f.EndpointID = e.ID
	return s.writeAttempts(w, r, a.ID, f, withContent)
}

// attemptListByMessage lists the attempts made for a message, newest
// first, optionally to one endpoint (endpoint_id, an ID or uid).
func (s *server) attemptListByMessage(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := attemptFilter(q)
	withContent := q.bool("with_content", true)
	endpointID := q.values.Get("endpoint_id")
	if err := q.err(); err != nil {
		return err
	}
	a, m, err := s.message(r)
	if err != nil {
		return err
	}
	f.MessageID = m.ID
	if endpointID != "" {
		e, err := s.st.EndpointGet(r.Context(), a.ID, endpointID)
		if err != nil {
			return lookup(err, "endpoint", endpointID)
		}
		f.EndpointID = e.ID
	}
	return s.writeAttempts(w, r, a.ID, f, withContent)
}

func (s *server) attemptGet(w http.ResponseWriter, r *http.Request) error {
	a, m, err := s.message(r)
	if err != nil {
		return err
	}
	id := r.PathValue("attempt_id")
	at, err := s.st.AttemptGet(r.Context(), a.ID, m.ID, id)
	if err != nil {
		return lookup(err, "attempt", id)
	}
	writeJSON(w, http.StatusOK, attemptToWire(at, true))
	return nil
}

// messageEndpointOut is Svix's MessageEndpointOut: an endpoint a message
// was sent to, with the state of that delivery.
type messageEndpointOut struct {
	ID string `json:"id"`
	endpointCommon
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	NextAttempt *time.Time `json:"nextAttempt"`
}

// nextAttempt is a delivery's next attempt time, nil once it is finished.
func nextAttempt(d *hookline.Delivery) *time.Time {
	if d.NextAttempt.IsZero() {
		return nil
	}
	t := d.NextAttempt.UTC()
	return &t
}

// messageEndpointList lists the endpoints a message was sent to, by
// endpoint ID, as in Svix.
func (s *server) messageEndpointList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixEndpoint)})
	if err := q.err(); err != nil {
		return err
	}
	a, m, err := s.message(r)
	if err != nil {
		return err
	}
	eps, done, err := s.st.MessageEndpointList(r.Context(), a.ID, m.ID, p)
	if err != nil {
		return err
	}
	out := make([]messageEndpointOut, len(eps))
	for i := range eps {
		es := &eps[i]
		out[i] = messageEndpointOut{
			ID:             es.Endpoint.ID,
			endpointCommon: endpointCommonToWire(&es.Endpoint),
			Status:         int(es.Delivery.Status),
			StatusText:     es.Delivery.Status.String(),
			NextAttempt:    nextAttempt(&es.Delivery),
		}
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(e *messageEndpointOut) string { return e.ID }))
	return nil
}

// endpointMessageOut is Svix's EndpointMessageOut: a message sent to an
// endpoint, with the state of that delivery.
type endpointMessageOut struct {
	messageOut
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
}

func (m endpointMessageOut) appendJSON(b []byte) ([]byte, error) {
	return appendWithPayload(b, m, m.Payload)
}

// endpointMessageList lists the messages sent to an endpoint, newest
// first.
func (s *server) endpointMessageList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := store.EndpointMessageFilter{
		Page:       q.page(pageSpec{validIterator: idIterator(hookline.PrefixMessage), desc: true}),
		Window:     q.window(),
		Status:     q.status(),
		EventTypes: q.eventTypes(),
		Channel:    q.name("channel"),
	}
	withContent := q.bool("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	a, e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	msgs, done, err := s.st.EndpointMessageList(r.Context(), a.ID, e.ID, f)
	if err != nil {
		return err
	}
	out := make([]endpointMessageOut, len(msgs))
	for i := range msgs {
		ms := &msgs[i]
		out[i] = endpointMessageOut{
			messageOut:  messageToWire(&ms.Message, withContent),
			Status:      int(ms.Delivery.Status),
			StatusText:  ms.Delivery.Status.String(),
			NextAttempt: nextAttempt(&ms.Delivery),
		}
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(m *endpointMessageOut) string { return m.ID }))
	return nil
}

// messageResend queues the message for the endpoint again, due now, as a
// manual delivery, and wakes the dispatcher. It answers 202 with an empty
// object, Svix's EmptyResponse.
func (s *server) messageResend(w http.ResponseWriter, r *http.Request) error {
	if err := s.ops.Resend(r.Context(), accessFrom(r.Context()), r.PathValue("app_id"), r.PathValue("msg_id"), r.PathValue("endpoint_id")); err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}
