package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound/verify"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/tracing"
	"github.com/hookline/hookline/webhook"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// defaultEventType names inbound events whose provider names no type.
const defaultEventType = "inbound.request"

// plan works out what a source's routes make of a request: the messages to
// publish and the command runs to queue, stored with it in one
// transaction. view holds the request's fields, as fillView decoded them.
func (s *Service) plan(ctx context.Context, src *hookline.Source, x *hookline.Received, view *hookline.Fields) (*store.Receive, error) {
	rc := &store.Receive{Received: x}
	var forwardApp *hookline.App
	for _, r := range src.Routes {
		if !r.Filter.Matches(x.EventType, view) {
			continue
		}
		span := s.startRoute(ctx, src, r)
		n := len(rc.Messages)
		err := s.planRoute(ctx, src, r, x, rc, &forwardApp)
		if span != nil {
			endRoute(span, rc.Messages[n:], err)
		}
		if err != nil {
			return nil, err
		}
	}
	return rc, nil
}

// planRoute adds what one route makes of a request to rc. forwardApp is
// the source's forward app, found by the first forward route.
func (s *Service) planRoute(ctx context.Context, src *hookline.Source, r hookline.Route, x *hookline.Received, rc *store.Receive, forwardApp **hookline.App) error {
	switch r.Type {
	case hookline.RouteForward:
		if *forwardApp == nil {
			app, err := s.st.AppGet(ctx, src.ID)
			if err != nil {
				return fmt.Errorf("find the forward app of source %s: %w", src.ID, err)
			}
			*forwardApp = app
		}
		rc.Messages = append(rc.Messages, &store.MessageCreate{Message: s.forwardMessage(src, r, x, (*forwardApp).ID)})
	case hookline.RoutePublish:
		app, err := s.st.AppGet(ctx, r.App)
		if err == nil && app.ID == opwebhook.AppID {
			// Only hookline publishes the operator's events.
			err = hookline.ErrNotFound
		}
		if errors.Is(err, hookline.ErrNotFound) {
			// The app was deleted after the route was made: the request
			// is still kept, and the log says what to fix.
			s.log.Warn("publish route names a missing app", "source_id", src.ID, "route_id", r.ID, "app", r.App)
			return nil
		}
		if err != nil {
			return err
		}
		rc.Messages = append(rc.Messages, &store.MessageCreate{Message: &hookline.Message{
			ID: hookline.NewID(hookline.PrefixMessage), AppID: app.ID, EventType: publishEventType(r, x),
			Payload: publishPayload(x), CreatedAt: x.CreatedAt,
		}})
	case hookline.RouteCommand:
		rc.Runs = append(rc.Runs, &hookline.Run{
			ID: hookline.NewID(hookline.PrefixRun), ReceivedID: x.ID, SourceID: src.ID, RouteID: r.ID, Command: r.Command,
			Status: hookline.RunPending, NextAttempt: x.CreatedAt, UpdatedAt: x.CreatedAt,
		})
	case hookline.RouteHold:
		// Held requests are the stored requests themselves.
	}
	return nil
}

// startRoute starts the span of a route that a request matched, when
// there is a tracer: a child of the request's span. Nil otherwise.
func (s *Service) startRoute(ctx context.Context, src *hookline.Source, r hookline.Route) trace.Span {
	if s.tracer == nil {
		return nil
	}
	_, span := s.tracer.Start(ctx, "route "+string(r.Type), trace.WithAttributes(
		attribute.String("hookline.source_id", src.ID),
		attribute.String("hookline.route_id", r.ID),
		attribute.String("hookline.route_type", string(r.Type)),
	))
	return span
}

// endRoute gives the messages a route made its span's traceparent, so
// that their deliveries join the trace, and ends the span.
func endRoute(span trace.Span, made []*store.MessageCreate, err error) {
	tp := tracing.TraceParent(span.SpanContext())
	for _, mc := range made {
		mc.Message.TraceParent = tp
		span.SetAttributes(attribute.String("hookline.message_id", mc.Message.ID))
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "route failed")
	}
	span.End()
}

// forwardMessage is a raw message carrying the request as it came to the
// forward route's endpoint, which listens on the route's channel.
func (s *Service) forwardMessage(src *hookline.Source, r hookline.Route, x *hookline.Received, appID string) *hookline.Message {
	h := ForwardHeaders(src, x.Headers)
	ctype := h.Get("Content-Type")
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Del("Content-Type")
	et := x.EventType
	if !hookline.ValidName(et) {
		et = defaultEventType
	}
	return &hookline.Message{
		ID: hookline.NewID(hookline.PrefixMessage), AppID: appID, EventType: et, Channels: []string{r.ID},
		Payload: x.Body, ContentType: ctype, Headers: h, CreatedAt: x.CreatedAt,
	}
}

// ForwardHeaders returns the headers of a received request as they are
// passed on (by forward routes and to `hookline listen`): all of them but
// credentials that were meant for hookline itself (basic auth, an API key
// header), which stay here.
func ForwardHeaders(src *hookline.Source, headers map[string][]string) http.Header {
	h := http.Header(headers).Clone()
	if h == nil {
		h = http.Header{}
	}
	if cfg, err := parseVerification(src.Verification); err == nil {
		switch cfg.Scheme {
		case verify.SchemeBasic:
			h.Del("Authorization")
		case verify.SchemeAPIKey:
			name := cfg.Header
			if name == "" {
				name = verify.DefaultAPIKeyHeader
			}
			h.Del(name)
		}
	}
	return h
}

func publishEventType(r hookline.Route, x *hookline.Received) string {
	for _, et := range []string{r.EventType, x.EventType} {
		if hookline.ValidName(et) {
			return et
		}
	}
	return defaultEventType
}

// publishPayload is the message payload of a published request: its JSON
// view when that is an object, else the view or the raw body wrapped in
// one, since message payloads are JSON objects. A view that, so wrapped,
// would nest deeper than a payload may is left out: the body goes as text.
func publishPayload(x *hookline.Received) json.RawMessage {
	view := x.View
	if len(view) > 0 && view[0] == '{' {
		if !hookline.JSONDeeper(view, hookline.MaxPayloadDepth) {
			return view
		}
		view = nil
	}
	if hookline.JSONDeeper(view, hookline.MaxPayloadDepth-1) {
		view = nil
	}
	var wrapped any
	if len(view) > 0 {
		wrapped = map[string]json.RawMessage{"data": view}
	} else {
		wrapped = map[string]string{"body": string(x.Body)}
	}
	b, err := json.Marshal(wrapped)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// SyncForwards makes a source's forward routes real: an outbound app whose
// uid is the source's ID, holding one endpoint per forward route (uid: the
// route's ID, listening on the channel of that name). Forwards thus get
// the delivery engine's retries, attempt log, rate limits and SSRF guard,
// and are inspected through the usual API. Call it after every create or
// update of a source.
func (s *Service) SyncForwards(ctx context.Context, src *hookline.Source) error {
	now := s.now()
	var forwards []hookline.Route
	for _, r := range src.Routes {
		if r.Type == hookline.RouteForward {
			forwards = append(forwards, r)
		}
	}
	app, err := s.st.AppGet(ctx, src.ID)
	switch {
	case errors.Is(err, hookline.ErrNotFound) && len(forwards) == 0:
		return nil
	case errors.Is(err, hookline.ErrNotFound):
		app = &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: src.ID, Name: "source " + src.Name,
			Metadata: map[string]string{"hookline.source": src.ID}, CreatedAt: now, UpdatedAt: now}
		if err := s.st.AppCreate(ctx, app); err != nil {
			return fmt.Errorf("create forward app: %w", err)
		}
	case err != nil:
		return err
	}
	var existing []hookline.Endpoint
	p := store.Page{Limit: store.MaxLimit}
	for {
		eps, done, err := s.st.EndpointList(ctx, app.ID, p)
		if err != nil {
			return err
		}
		existing = append(existing, eps...)
		if done || len(eps) == 0 {
			break
		}
		p.Iterator = eps[len(eps)-1].ID
	}
	for _, r := range forwards {
		i := slices.IndexFunc(existing, func(e hookline.Endpoint) bool { return e.UID == r.ID })
		if i < 0 {
			ep := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: app.ID, UID: r.ID, URL: r.URL,
				Description: "forward route " + r.ID + " of source " + src.ID, Version: 1, Format: hookline.FormatJSON,
				Channels: []string{r.ID}, Metadata: map[string]string{}, Headers: map[string]string{}, CreatedAt: now, UpdatedAt: now}
			setSigning(ep, r.Sign)
			if err := s.st.EndpointCreate(ctx, ep); err != nil {
				return fmt.Errorf("create forward endpoint: %w", err)
			}
			continue
		}
		ep := &existing[i]
		if ep.URL != r.URL {
			// A new target starts with a clean record.
			ep.URL, ep.Disabled, ep.DisabledReason, ep.FailingSince = r.URL, false, "", nil
		}
		ep.Channels = []string{r.ID}
		setSigning(ep, r.Sign)
		ep.UpdatedAt = now
		if err := s.st.EndpointUpdate(ctx, ep); err != nil {
			return fmt.Errorf("update forward endpoint: %w", err)
		}
	}
	for _, ep := range existing {
		if !slices.ContainsFunc(forwards, func(r hookline.Route) bool { return r.ID == ep.UID }) {
			if err := s.st.EndpointDelete(ctx, app.ID, ep.ID); err != nil && !errors.Is(err, hookline.ErrNotFound) {
				return fmt.Errorf("delete forward endpoint: %w", err)
			}
		}
	}
	return nil
}

// setSigning gives a forward endpoint a signing key when its route signs,
// and none when it forwards the request exactly as it came.
func setSigning(ep *hookline.Endpoint, sign bool) {
	switch {
	case !sign:
		ep.Secrets = nil
	case len(ep.Secrets) == 0:
		key, _ := webhook.ParseSecret(webhook.NewSecret())
		ep.Secrets = []hookline.Secret{{Key: key}}
	}
}

// DeleteForwards deletes a source's forward app with its endpoints and
// their delivery log. Call it when deleting a source.
func (s *Service) DeleteForwards(ctx context.Context, src *hookline.Source) error {
	app, err := s.st.AppGet(ctx, src.ID)
	if errors.Is(err, hookline.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.st.AppDelete(ctx, app.ID)
}

// Replay runs a source's current routes for a stored request again:
// forwards and publishes are sent anew, commands run again.
func (s *Service) Replay(ctx context.Context, src *hookline.Source, x *hookline.Received) error {
	if !x.Verified {
		return hookline.Invalid([]string{"path", "request_id"}, "the request failed verification; only verified requests are routed")
	}
	// The time is read before plan names the messages: a message's ID must
	// be no earlier than its creation time, which lists filtered by time
	// rely on (see hookline.IDFloor), and plan may take a while.
	now := s.now()
	rc, err := s.plan(ctx, src, x, hookline.NewFields(x.View))
	if err != nil {
		return err
	}
	for _, m := range rc.Messages {
		m.Message.CreatedAt = now
	}
	for _, run := range rc.Runs {
		run.NextAttempt, run.UpdatedAt = now, now
	}
	if len(rc.Messages) > 0 {
		if err := s.st.MessageCreate(ctx, rc.Messages); err != nil {
			return err
		}
	}
	if len(rc.Runs) > 0 {
		if err := s.st.RunCreate(ctx, rc.Runs); err != nil {
			return err
		}
	}
	s.routed(rc)
	return nil
}
