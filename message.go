package hookline

import (
	"encoding/json"
	"time"

	fastjson "github.com/segmentio/encoding/json"
)

// Message is one event an app published. Its payload is kept exactly as
// sent; it is delivered to every endpoint of the app that accepts it.
type Message struct {
	ID        string
	AppID     string
	EventType string
	// EventID is the caller's optional ID; a second message with the same
	// EventID in the same app is not created again.
	EventID  string
	Channels []string
	Payload  json.RawMessage
	// ContentType is set for a raw message, such as an inbound request
	// being forwarded: Payload then holds the body bytes as received, sent
	// unchanged with this content type. Empty for JSON payloads.
	ContentType string
	// Headers are sent with a raw message's deliveries, such as a
	// provider's own signature headers on a forward.
	Headers map[string][]string
	// TraceParent is the W3C traceparent of the span that published the
	// message, when tracing is on, so that its delivery attempts join the
	// publisher's trace. Empty otherwise.
	TraceParent string
	CreatedAt   time.Time
}

// Validate checks the fields a caller sets.
func (m *Message) Validate() error {
	var v ValidationError
	if msg := checkName(m.EventType, maxName); msg != "" {
		v.add("eventType", msg)
	}
	if msg := checkName(m.EventID, maxName); m.EventID != "" && msg != "" {
		v.add("eventId", msg)
	}
	validNames(&v, "channels", m.Channels, 5)
	// segmentio/encoding/json's Valid accepts exactly what encoding/json's
	// does up to its nesting limit, in a tenth of the time; every
	// publish's payload passes here. It has no such limit, and recurses
	// once per level, so depth is checked first.
	switch {
	case m.ContentType != "":
	case JSONDeeper(m.Payload, MaxPayloadDepth):
		v.add("payload", deepJSON)
	case len(m.Payload) == 0 || m.Payload[0] != '{' || !fastjson.Valid(m.Payload):
		v.add("payload", "must be a JSON object")
	}
	return v.err()
}

// Status is the state of a delivery or the outcome of an attempt. The
// numbers are Svix's MessageStatus values.
type Status int

// Delivery and attempt states.
const (
	StatusSuccess Status = 0
	StatusPending Status = 1
	StatusFail    Status = 2
	StatusSending Status = 3
)

// String returns Svix's statusText for s.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusPending:
		return "pending"
	case StatusFail:
		return "fail"
	case StatusSending:
		return "sending"
	}
	return "unknown"
}

// Trigger says why an attempt was made. The numbers are Svix's
// MessageAttemptTriggerType values.
type Trigger int

// Attempt triggers.
const (
	TriggerScheduled Trigger = 0
	TriggerManual    Trigger = 1
)

// Delivery is the duty to deliver one message to one endpoint, tried until
// it succeeds or its retry schedule runs out.
type Delivery struct {
	ID         string
	AppID      string
	MessageID  string
	EndpointID string
	Status     Status
	Trigger    Trigger
	// Attempts counts the attempts made so far.
	Attempts int
	// NextAttempt is when the next attempt is due; zero once finished.
	NextAttempt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Attempt records one HTTP request made for a delivery and its outcome.
type Attempt struct {
	ID         string
	DeliveryID string
	AppID      string
	MessageID  string
	EndpointID string
	URL        string
	Status     Status // StatusSuccess or StatusFail
	Trigger    Trigger
	// StatusCode is the response status, 0 when no response came.
	StatusCode int
	// ResponseHeaders and Response hold the response, capped.
	ResponseHeaders map[string][]string
	Response        string
	Duration        time.Duration
	// Error is the network error for attempts that got no response, or
	// the reason a response counted as failure (such as a redirect).
	Error     string
	CreatedAt time.Time
}
