// Package opwebhook tells the operator about hookline's own events, as
// Svix's operational webhooks do: endpoints created, changed, disabled or
// deleted, deliveries failing, exhausted or recovered, and bursts of
// inbound requests that fail verification.
//
// The operator's endpoints belong to a reserved application, AppID, which
// the API and the pages hide from everyone but the admin's
// /api/v1/operational-webhook routes. An event is a message published to
// that application through the store, so it is signed, retried and
// recorded as any delivery is. The Emitter publishes from a goroutine of
// its own, so that the code where a state changes only hands an Event over.
package opwebhook

import (
	"slices"
	"time"

	"github.com/hookline/hookline"
)

// AppID is the ID of the reserved application that holds the operator's
// endpoints. It is the lowest application ID there can be (a KSUID of
// zeros), which no generated ID equals, so it cannot collide with an
// application a user creates.
const AppID = "app_000000000000000000000000000"

// AppName is the reserved application's name.
const AppName = "hookline operational webhooks"

// The event types, Svix's first and then hookline's own.
const (
	EndpointCreated           = "endpoint.created"
	EndpointUpdated           = "endpoint.updated"
	EndpointDeleted           = "endpoint.deleted"
	EndpointDisabled          = "endpoint.disabled"
	EndpointEnabled           = "endpoint.enabled"
	MessageAttemptExhausted   = "message.attempt.exhausted"
	MessageAttemptFailing     = "message.attempt.failing"
	MessageAttemptRecovered   = "message.attempt.recovered"
	SourceVerificationFailing = "source.verification_failing"
)

// FailingAfter is the failed attempt of a delivery that sends
// message.attempt.failing, as in Svix: the fourth. A delivery that
// succeeds after it sends message.attempt.recovered.
const FailingAfter = 4

const (
	triggerManual    = "manual"
	triggerAutomatic = "automatic"
)

// EventTypes are the event types an operator's endpoint may filter on.
var EventTypes = []string{
	EndpointCreated, EndpointUpdated, EndpointDeleted, EndpointDisabled, EndpointEnabled,
	MessageAttemptExhausted, MessageAttemptFailing, MessageAttemptRecovered,
	SourceVerificationFailing,
}

// IsEventType reports whether name is one of EventTypes.
func IsEventType(name string) bool { return slices.Contains(EventTypes, name) }

// Event is one operational event: its type and its data, which is one of
// the *Data types of this package and goes out as the "data" of a payload
// {"type": ..., "data": ...}.
type Event struct {
	Type string
	Data any
}

// AppRef names the application an event concerns. The Emitter fills in
// AppUID from the store when it publishes.
type AppRef struct {
	AppID  string  `json:"appId"`
	AppUID *string `json:"appUid"`
}

func (r *AppRef) ref() *AppRef { return r }

// EndpointData is the data of endpoint.created, endpoint.updated,
// endpoint.deleted and endpoint.enabled (Svix's EndpointCreatedEventData
// and its siblings).
type EndpointData struct {
	AppRef
	EndpointID  string  `json:"endpointId"`
	EndpointUID *string `json:"endpointUid"`
}

// EndpointDisabledData is the data of endpoint.disabled (Svix's
// EndpointDisabledEventData): Trigger is "manual" when a user disabled
// the endpoint and "automatic" when hookline did, and FailSince is when
// it began failing, if it was.
type EndpointDisabledData struct {
	EndpointData
	FailSince *time.Time `json:"failSince"`
	Trigger   string     `json:"trigger"`
}

// AttemptData is the data of message.attempt.exhausted, .failing and
// .recovered (Svix's MessageAttemptExhaustedEventData and its siblings).
type AttemptData struct {
	AppRef
	MsgID       string      `json:"msgId"`
	MsgEventID  *string     `json:"msgEventId"`
	EndpointID  string      `json:"endpointId"`
	LastAttempt LastAttempt `json:"lastAttempt"`
}

// LastAttempt is the attempt that caused an AttemptData event (Svix's
// MessageAttemptFailedData). ResponseStatusCode is 0 when no response
// came.
type LastAttempt struct {
	ID                 string    `json:"id"`
	ResponseStatusCode int       `json:"responseStatusCode"`
	Timestamp          time.Time `json:"timestamp"`
}

// SourceFailingData is the data of source.verification_failing: a source
// rejected Failures inbound requests that failed verification between
// Since and LastAt, the last of them for LastError.
type SourceFailingData struct {
	SourceID   string    `json:"sourceId"`
	SourceUID  *string   `json:"sourceUid"`
	SourceName string    `json:"sourceName"`
	Failures   int       `json:"failures"`
	Since      time.Time `json:"since"`
	LastAt     time.Time `json:"lastAt"`
	LastError  string    `json:"lastError"`
}

// Endpoint returns an event of type typ (endpoint.created, .updated,
// .deleted or .enabled) about e.
func Endpoint(typ string, e *hookline.Endpoint) Event {
	return Event{Type: typ, Data: endpointData(e)}
}

func endpointData(e *hookline.Endpoint) *EndpointData {
	return &EndpointData{AppRef: AppRef{AppID: e.AppID}, EndpointID: e.ID, EndpointUID: ptr(e.UID)}
}

// EndpointDisabledBy returns the endpoint.disabled event about e: by a
// user when manual, else by hookline.
func EndpointDisabledBy(e *hookline.Endpoint, manual bool) Event {
	d := &EndpointDisabledData{EndpointData: *endpointData(e), Trigger: triggerAutomatic}
	if manual {
		d.Trigger = triggerManual
	}
	if e.FailingSince != nil {
		t := e.FailingSince.UTC()
		d.FailSince = &t
	}
	return Event{Type: EndpointDisabled, Data: d}
}

// Attempt returns an event of type typ (message.attempt.exhausted,
// .failing or .recovered) about attempt a of the message whose event ID
// (its caller-chosen ID, "" for none) is msgEventID.
func Attempt(typ, msgEventID string, a *hookline.Attempt) Event {
	return Event{Type: typ, Data: &AttemptData{
		AppRef:     AppRef{AppID: a.AppID},
		MsgID:      a.MessageID,
		MsgEventID: ptr(msgEventID),
		EndpointID: a.EndpointID,
		LastAttempt: LastAttempt{
			ID:                 a.ID,
			ResponseStatusCode: a.StatusCode,
			Timestamp:          a.CreatedAt.UTC(),
		},
	}}
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
