package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// messageIn is Svix's MessageIn.
type messageIn struct {
	EventID   *string `json:"eventId"`
	EventType string  `json:"eventType"`
	// Payload is kept as the exact bytes sent: it is what endpoints
	// receive and what signatures are computed over.
	Payload  json.RawMessage `json:"payload"`
	Channels []string        `json:"channels"`
	// PayloadRetentionPeriod is checked as Svix checks it (5 to 90 days)
	// but not acted on: hookline keeps payloads until the message goes.
	PayloadRetentionPeriod *int `json:"payloadRetentionPeriod"`
	// Application creates the app in the path, by uid, if it does not
	// exist yet.
	Application *applicationIn `json:"application"`
}

// messageOut is Svix's MessageOut. It writes its own JSON (appendJSON) so
// that the payload goes out byte for byte as it came in.
type messageOut struct {
	ID        string          `json:"id"`
	EventID   *string         `json:"eventId"`
	EventType string          `json:"eventType"`
	Channels  []string        `json:"channels"`
	Timestamp time.Time       `json:"timestamp"`
	Payload   json.RawMessage `json:"-"`
}

func (m messageOut) appendJSON(b []byte) ([]byte, error) {
	return appendWithPayload(b, m, m.Payload)
}

// emptyPayload stands in for the payload when a client asks for no
// content: Svix's MessageOut requires a payload object, so SDKs that
// decode strictly still accept the body.
var emptyPayload = json.RawMessage("{}")

func messageToWire(m *hookline.Message, withContent bool) messageOut {
	out := messageOut{
		ID:        m.ID,
		EventID:   ptr(m.EventID),
		EventType: m.EventType,
		Channels:  nilIfEmpty(m.Channels),
		Timestamp: m.CreatedAt.UTC(),
		Payload:   emptyPayload,
	}
	if withContent && len(m.Payload) > 0 {
		out.Payload = m.Payload
	}
	return out
}

// message loads the message named by the {msg_id} path value, an ID or an
// eventId, of the app in the path.
func (s *server) message(r *http.Request) (*hookline.App, *hookline.Message, error) {
	a, err := s.app(r)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("msg_id")
	m, err := s.st.MessageGet(r.Context(), a.ID, id)
	return a, m, lookup(err, "message", id)
}

// messageCreate publishes a message and answers 202 once it and its
// deliveries are durable. A second message with the same eventId in the
// same app is a 409 naming the first.
func (s *server) messageCreate(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	withContent := q.bool("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	var in messageIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if p := in.PayloadRetentionPeriod; p != nil && (*p < 5 || *p > 90) {
		return hookline.Invalid([]string{"body", "payloadRetentionPeriod"}, "must be between 5 and 90 days")
	}
	now := s.now()
	m := &hookline.Message{
		ID:        hookline.NewID(hookline.PrefixMessage),
		EventType: in.EventType,
		EventID:   deref(in.EventID),
		Channels:  in.Channels,
		Payload:   in.Payload,
		CreatedAt: now,
	}
	if err := m.Validate(); err != nil {
		return err
	}
	appKey := r.PathValue("app_id")
	appID, cached := s.appIDs.get(appKey, now)
	if !cached {
		a, err := s.messageApp(r, in.Application, now)
		if err != nil {
			return err
		}
		appID = a.ID
		s.appIDs.put(appKey, appID, now)
	}
	m.AppID = appID
	ctx, span := s.startPublish(r.Context(), m)
	mc := &store.MessageCreate{Message: m}
	err := s.publish(ctx, mc)
	if errors.Is(err, hookline.ErrNotFound) && cached {
		// The app was deleted since it was cached: resolve the path afresh,
		// which creates the app from the body as a first publish would.
		s.appIDs.clear()
		a, aerr := s.messageApp(r, in.Application, now)
		if aerr != nil {
			endPublish(span, mc, aerr)
			return aerr
		}
		appID, m.AppID = a.ID, a.ID
		mc = &store.MessageCreate{Message: m}
		err = s.publish(ctx, mc)
	}
	endPublish(span, mc, err)
	if err != nil {
		return lookup(err, "application", appID)
	}
	if mc.Existing {
		return conflict("message " + mc.Message.ID + " already has eventId " + quote(m.EventID) + " in this application")
	}
	if s.pub == nil && len(mc.Deliveries) > 0 {
		s.wakeDispatcher()
	}
	if s.metrics != nil {
		s.metrics.Published(1)
	}
	writeJSON(w, http.StatusAccepted, messageToWire(mc.Message, withContent))
	return nil
}

// startPublish starts the span of a publish, when there is a tracer, and
// keeps its traceparent in m, so that the deliveries of m join the trace.
// Without a tracer it returns ctx and a nil span.
func (s *server) startPublish(ctx context.Context, m *hookline.Message) (context.Context, trace.Span) {
	if s.tracer == nil {
		return ctx, nil
	}
	ctx, span := s.tracer.Start(ctx, "publish", trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		attribute.String("hookline.app_id", m.AppID),
		attribute.String("hookline.message_id", m.ID),
		attribute.String("hookline.event_type", m.EventType),
	))
	m.TraceParent = tracing.TraceParent(span.SpanContext())
	return ctx, span
}

// endPublish ends the span of a publish, if there is one, with what the
// store made of it: the deliveries it created, or that the message's
// eventId was taken, or the error.
func endPublish(span trace.Span, mc *store.MessageCreate, err error) {
	if span == nil {
		return
	}
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	case mc.Existing:
		span.SetAttributes(attribute.Bool("hookline.duplicate", true), attribute.String("hookline.existing_message_id", mc.Message.ID))
	default:
		span.SetAttributes(attribute.Int("hookline.deliveries", len(mc.Deliveries)))
	}
	span.End()
}

// publish makes one message durable, through the group committer when
// there is one.
func (s *server) publish(ctx context.Context, mc *store.MessageCreate) error {
	var err error
	if s.pub != nil {
		err = s.pub.Publish(ctx, mc)
	} else {
		err = s.st.MessageCreate(ctx, []*store.MessageCreate{mc})
	}
	if err == nil {
		err = mc.Err
	}
	return err
}

// messageApp returns the app in the path, creating it from the body's
// application when it does not exist. As in Svix, the body must then name
// the same uid as the path, so a typo does not create a stray app.
func (s *server) messageApp(r *http.Request, in *applicationIn, now time.Time) (*hookline.App, error) {
	id := r.PathValue("app_id")
	a, err := s.st.AppGet(r.Context(), id)
	if err == nil || !errors.Is(err, hookline.ErrNotFound) {
		return a, err
	}
	if in == nil {
		return nil, notFound("application", id)
	}
	uidLoc := []string{"body", "application", "uid"}
	switch {
	case in.UID == nil || *in.UID == "":
		return nil, &hookline.ValidationError{Fields: []hookline.FieldError{{Loc: uidLoc,
			Msg: "Application UID not set in body", Type: "application_uid_missing"}}}
	case *in.UID != id:
		return nil, &hookline.ValidationError{Fields: []hookline.FieldError{{Loc: uidLoc,
			Msg: "Application UID in the path and body must match", Type: "application_uid_mismatch"}}}
	}
	a = &hookline.App{ID: hookline.NewID(hookline.PrefixApp), CreatedAt: now, UpdatedAt: now}
	in.apply(a)
	if err := a.Validate(); err != nil {
		return nil, nest(err, "application")
	}
	err = s.st.AppCreate(r.Context(), a)
	if errors.Is(err, hookline.ErrConflict) {
		// A concurrent request created it first; use that one.
		return s.st.AppGet(r.Context(), a.UID)
	}
	return a, err
}

// nest moves the fields of a validation error of a nested object under
// its name: ["body", "name"] becomes ["body", "application", "name"].
func nest(err error, name string) error {
	var ve *hookline.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &hookline.ValidationError{}
	for _, f := range ve.Fields {
		loc := append([]string{}, f.Loc...)
		if len(loc) > 0 && loc[0] == "body" {
			loc = append([]string{"body", name}, loc[1:]...)
		}
		out.Fields = append(out.Fields, hookline.FieldError{Loc: loc, Msg: f.Msg, Type: f.Type})
	}
	return out
}

// messageList lists an app's messages, newest first.
func (s *server) messageList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := store.MessageFilter{
		Page:       q.page(pageSpec{validIterator: idIterator(hookline.PrefixMessage), desc: true}),
		Window:     q.window(),
		EventTypes: q.eventTypes(),
		Channel:    q.name("channel"),
	}
	withContent := q.bool("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	a, err := s.app(r)
	if err != nil {
		return err
	}
	msgs, done, err := s.st.MessageList(r.Context(), a.ID, f)
	if err != nil {
		return err
	}
	out := make([]messageOut, len(msgs))
	for i := range msgs {
		out[i] = messageToWire(&msgs[i], withContent)
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(m *messageOut) string { return m.ID }))
	return nil
}

func (s *server) messageGet(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	withContent := q.bool("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	_, m, err := s.message(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageToWire(m, withContent))
	return nil
}
