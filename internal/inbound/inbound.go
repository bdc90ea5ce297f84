// Package inbound is the receiving half of hookline: unguessable receive
// URLs that accept any provider's webhooks, verify them, keep them durably
// before answering, and route them on: forward (through the outbound
// delivery engine), publish into an outbound app, run an operator-defined
// command, or hold for polling and live streaming.
package inbound

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound/verify"
	"github.com/hookline/hookline/internal/inflight"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Store is the state the inbound half works on: its own tables and the
// outbound ones it publishes into.
type Store interface {
	store.Store
	store.InboundStore
}

// Options configure a Service.
type Options struct {
	Store Store
	// PublicURL is the base of receive URLs, such as
	// https://hooks.example.com.
	PublicURL string
	// Commands are the operator's commands that command routes may run,
	// by name, from the server's config file.
	Commands map[string]Command
	// Wake tells the delivery engine that deliveries were committed.
	Wake func()
	// Now returns the current time; nil means time.Now. It must not run
	// ahead of the real clock, which IDs are read from (see
	// hookline.IDFloor).
	Now    func() time.Time
	Logger *slog.Logger
	// Bodies bounds the bytes of the request bodies being received at
	// once; nil bounds nothing.
	Bodies *inflight.Limiter
	// AllowPrivateNetworks says that deliveries may reach private and
	// loopback addresses. Without it, a forward route whose URL has such
	// an address, or localhost, as its host is refused; with it, only the
	// addresses the network guard refuses always are.
	AllowPrivateNetworks bool
	// Metrics, when set, counts the requests to receive URLs.
	Metrics Metrics
	// Tracer, when set, starts a span for each request to a receive URL
	// and one for each route it runs; the messages that forward and
	// publish routes make keep their route span's traceparent, so that
	// their deliveries join the sender's trace. Nil starts none.
	Tracer trace.Tracer
	// Events, when set, hears of bursts of requests that fail
	// verification (source.verification_failing; see failingBurst).
	Events Events
}

// Metrics counts the requests to receive URLs that reach a source, by
// the source's ID and the result: "accepted", "rejected" (401),
// "duplicate", "too_large" (413) or "overloaded" (503).
type Metrics interface {
	Received(sourceID, result string)
}

// Service receives, verifies, stores and routes inbound webhooks, and runs
// command routes.
type Service struct {
	st       Store
	base     string
	commands map[string]Command
	wake     func()
	now      func() time.Time
	log      *slog.Logger
	bodies   *inflight.Limiter
	writing  *inflight.Limiter
	// allowPrivate is Options.AllowPrivateNetworks.
	allowPrivate bool
	metrics      Metrics
	tracer       trace.Tracer

	// Counters of requests refused by verification, for inspection.
	rejected atomic.Int64
	// events is Options.Events; failing counts the rejections it hears of.
	events  Events
	failing failing

	mu      sync.Mutex
	waiters map[string]chan struct{} // by source ID, closed when a request arrives
	// streamsEnd is closed by EndStreams, when the server shuts down.
	streamsEnd chan struct{}
	endOnce    sync.Once

	runner *runner
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{
		st:       opts.Store,
		base:     strings.TrimSuffix(opts.PublicURL, "/"),
		commands: opts.Commands,
		wake:     opts.Wake,
		now:      opts.Now,
		log:      opts.Logger,
		bodies:   opts.Bodies,
		writing:  inflight.New(maxWriting, 10*time.Second),
		waiters:  map[string]chan struct{}{},

		streamsEnd: make(chan struct{}),

		allowPrivate: opts.AllowPrivateNetworks,
		metrics:      opts.Metrics,
		tracer:       opts.Tracer,
		events:       opts.Events,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.wake == nil {
		s.wake = func() {}
	}
	s.runner = newRunner(s)
	return s
}

// NewToken returns a new receive-URL token, 130 random bits, and the hash
// that is all hookline keeps of it.
func NewToken() (token string, hash []byte) {
	token = strings.ToLower(rand.Text())
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a token, as sources store it.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// URL returns the receive URL of a token.
func (s *Service) URL(token string) string {
	return s.base + "/in/" + token
}

// maskedToken stands for the token in a receive path as hookline stores
// and shows it.
const maskedToken = "****"

// MaskPath returns a receive path, /in/<token> and whatever follows it, with
// the token replaced by maskedToken. The token is the source's credential,
// of which hookline keeps only the hash: a received request is stored, shown
// and streamed with its path masked. A path that is not a receive path is
// returned as it is.
func MaskPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/in/")
	if !ok {
		return p
	}
	_, tail, found := strings.Cut(rest, "/")
	if found {
		return "/in/" + maskedToken + "/" + tail
	}
	return "/in/" + maskedToken
}

// Rejected returns how many requests failed verification since start.
func (s *Service) Rejected() int64 { return s.rejected.Load() }

// Validate checks a source as a caller set it: the domain rules, its
// verification config, that its command routes name commands the
// operator defined, and that the network guard would not refuse its
// forward routes' URLs at every forward.
func (s *Service) Validate(src *hookline.Source) error {
	return s.ValidateChange(src, nil)
}

// ValidateChange is Validate for a source changed from one with the routes
// before: a forward URL it had already is not checked against the network
// guard again, so that a source made while private networks were allowed
// can still be changed in other ways.
func (s *Service) ValidateChange(src *hookline.Source, before []hookline.Route) error {
	var fields []hookline.FieldError
	if err := src.Validate(); err != nil {
		var ve *hookline.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		fields = append(fields, ve.Fields...)
	}
	if _, err := parseVerification(src.Verification); err != nil {
		var ve *hookline.ValidationError
		if errors.As(err, &ve) {
			for _, f := range ve.Fields {
				f.Loc = append([]string{"body", "verification"}, f.Loc...)
				fields = append(fields, f)
			}
		} else {
			fields = append(fields, hookline.FieldError{Loc: []string{"body", "verification"}, Msg: err.Error(), Type: "value_error"})
		}
	}
	for _, r := range src.Routes {
		switch r.Type {
		case hookline.RouteCommand:
			if _, ok := s.commands[r.Command]; !ok {
				fields = append(fields, hookline.FieldError{Loc: []string{"body", "routes", "command"},
					Msg: fmt.Sprintf("no command %q is defined in the server's config file", r.Command), Type: "value_error"})
			}
		case hookline.RouteForward:
			had := slices.ContainsFunc(before, func(b hookline.Route) bool { return b.Type == hookline.RouteForward && b.URL == r.URL })
			if err := netguard.CheckURL(r.URL, s.allowPrivate); err != nil && !had {
				fields = append(fields, hookline.FieldError{Loc: []string{"body", "routes", "url"}, Msg: err.Error(), Type: "value_error"})
			}
		}
	}
	if len(fields) > 0 {
		return &hookline.ValidationError{Fields: fields}
	}
	return nil
}

// parseVerification decodes and checks a source's verification config; an
// empty one verifies nothing.
func parseVerification(raw json.RawMessage) (*verify.Config, error) {
	c := &verify.Config{Scheme: verify.SchemeNone}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, fmt.Errorf("not a verification config: %v", err)
		}
	}
	if c.Scheme == "" {
		c.Scheme = verify.SchemeNone
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Changes returns a channel that is closed when the source next receives
// a request. Long polls and streams take it before they read the store and
// then wait on it (bounded by a timer, since a request received by another
// node closes nothing here), so that a request stored in between is not
// missed and none of them polls the database in a loop.
func (s *Service) Changes(sourceID string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.waiters[sourceID]
	if !ok {
		ch = make(chan struct{})
		s.waiters[sourceID] = ch
	}
	return ch
}

// arrived wakes everyone waiting for the source's requests.
func (s *Service) arrived(sourceID string) {
	s.mu.Lock()
	if ch, ok := s.waiters[sourceID]; ok {
		close(ch)
		delete(s.waiters, sourceID)
	}
	s.mu.Unlock()
}

// Handler returns the receive endpoint, to be mounted at /in/: it answers
// POST (or the source's methods) to /in/<token>. A path that does not name
// one resource as it stands (hookline.CheckPath), such as
// /in/<token>/../.., is refused, and its detail does not repeat the path,
// which holds the token.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := hookline.CheckPath(r.URL.EscapedPath()); why != "" {
			writeError(w, http.StatusBadRequest, "invalid_path", "the path is refused: "+why)
			return
		}
		if s.tracer == nil {
			s.receive(w, r)
			return
		}
		s.receiveTraced(w, r)
	})
}

// receiveRoute is the route of receive URLs as spans name it: never the
// path itself, whose token is the source's secret.
const receiveRoute = "/in/{token}"

// receiveTraced receives a request as a server span, a child of the
// sender's span when the request carries a traceparent header.
func (s *Service) receiveTraced(w http.ResponseWriter, r *http.Request) {
	ctx := tracing.Extract(r.Context(), r.Header)
	method := tracing.Method(r.Method)
	ctx, span := s.tracer.Start(ctx, method+" "+receiveRoute, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(receiveRoute)))
	sw := &statusWriter{ResponseWriter: w}
	s.receive(sw, r.WithContext(ctx))
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// statusWriter keeps the status code of the response it passes through.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type errorBody struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Detail: detail})
}

func (s *Service) receive(w http.ResponseWriter, r *http.Request) {
	token, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/in/"), "/")
	if token == "" || len(token) > 128 {
		writeError(w, http.StatusNotFound, "not_found", "no source has this URL")
		return
	}
	ctx := r.Context()
	now := s.now()
	src, err := s.st.SourceByToken(ctx, HashToken(token), now)
	if errors.Is(err, hookline.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no source has this URL")
		return
	}
	if err != nil {
		s.log.Error("find source", "err", err)
		writeStoreError(w, err)
		return
	}
	if s.tracer != nil {
		trace.SpanFromContext(ctx).SetAttributes(attribute.String("hookline.source_id", src.ID))
	}
	if !src.Accepts(r.Method) {
		methods := src.Methods
		if len(methods) == 0 {
			methods = []string{http.MethodPost}
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "this source accepts "+strings.Join(methods, ", "))
		return
	}
	if what := unstorable(r); what != "" {
		writeError(w, http.StatusBadRequest, "bad_request", what+" holds a NUL or bytes that are not UTF-8, which cannot be stored as sent")
		return
	}
	limit := src.MaxBodyBytes
	if limit <= 0 {
		limit = hookline.DefaultSourceMaxBody
	}
	if r.ContentLength > limit {
		s.count(src.ID, "too_large")
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is over this source's limit of %d bytes", limit))
		return
	}
	// The body's bytes are reserved before they are read: a body of no
	// declared length may take up to the limit.
	size := r.ContentLength
	if size < 0 {
		size = limit
	}
	release, err := s.bodies.Acquire(ctx, size)
	if err != nil {
		// The sender retries a 503, as webhook senders do: nothing is
		// lost, and memory stays bounded whatever is sent.
		s.count(src.ID, "overloaded")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "overloaded", "the server is receiving as many bytes as it may at once; retry shortly")
		return
	}
	defer release()
	body, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.count(src.ID, "too_large")
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is over this source's limit of %d bytes", limit))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "the body could not be read")
		return
	}
	header := r.Header.Clone()
	for _, h := range hookline.HopHeaders {
		header.Del(h)
	}
	x := &hookline.Received{
		ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: r.Method, Path: MaskPath(r.URL.Path),
		Query: r.URL.RawQuery, Headers: header, Body: body, RemoteAddr: r.RemoteAddr, Verified: true, CreatedAt: now,
	}
	cfg, err := parseVerification(src.Verification)
	if err != nil {
		// Stored configs were validated; one that no longer parses is the
		// operator's to fix, and the sender must retry later.
		s.log.Error("source verification config", "source_id", src.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this source is misconfigured; retry later")
		return
	}
	if err := verify.Verify(cfg, r.Header, body, now); err != nil {
		s.rejected.Add(1)
		s.log.Info("inbound request rejected", "source_id", src.ID, "reason", err.Error())
		if s.events != nil {
			if ev, ok := s.failing.rejected(src, now, err.Error()); ok {
				s.events.Emit(ev)
			}
		}
		if src.KeepRejected {
			x.Verified, x.VerifyError = false, err.Error()
			s.fillView(x, r.Header)
			if err := s.store(ctx, &store.Receive{Received: x}); err != nil {
				s.log.Error("keep rejected request", "source_id", src.ID, "err", err)
			}
		}
		s.count(src.ID, "rejected")
		writeError(w, http.StatusUnauthorized, "unauthorized", "the request could not be verified")
		return
	}
	fields := s.fillView(x, r.Header)
	x.DeliveryID = verify.DeliveryID(cfg, r.Header, body)

	if src.Handshakes {
		if resp, ctype, ok := verify.Handshake(cfg, r.Header, body); ok {
			// A handshake is the provider checking the URL, not an event:
			// it is answered, logged, and neither kept nor routed.
			s.log.Info("inbound handshake answered", "source_id", src.ID)
			s.count(src.ID, "accepted")
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(resp)
			return
		}
	}

	rc, err := s.plan(ctx, src, x, fields)
	if err == nil {
		err = s.store(ctx, rc)
	}
	if errors.Is(err, inflight.ErrBusy) {
		s.count(src.ID, "overloaded")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "overloaded", "the server is storing as many received bytes as it may at once; retry shortly")
		return
	}
	if err != nil {
		s.log.Error("store inbound request", "source_id", src.ID, "err", err)
		writeStoreError(w, err)
		return
	}
	if rc.Duplicate {
		s.count(src.ID, "duplicate")
	} else {
		s.count(src.ID, "accepted")
		s.routed(rc)
	}
	resp := src.Response
	if resp.Status == 0 {
		resp = hookline.DefaultSourceResponse
	}
	if resp.ContentType != "" {
		w.Header().Set("Content-Type", resp.ContentType)
	}
	w.WriteHeader(resp.Status)
	_, _ = io.WriteString(w, resp.Body)
}

// count counts a request to the source by its result.
func (s *Service) count(sourceID, result string) {
	if s.metrics != nil {
		s.metrics.Received(sourceID, result)
	}
}

// maxWriting bounds the bytes of received requests being written to the
// store at once. Writes are serial on SQLite and share the database
// elsewhere: without the bound, a flood of large requests to one receive
// URL fills the store's queue, and every publish waits behind it.
const maxWriting = 4 << 20

// store writes a received request with what its routes made of it, once
// its bytes have room under maxWriting. A small request never waits for
// this; a large one waits for the large ones before it, up to the
// request's own deadline or ten seconds, and then gets inflight.ErrBusy.
func (s *Service) store(ctx context.Context, rc *store.Receive) error {
	n := int64(len(rc.Received.Body) + len(rc.Received.View))
	for _, m := range rc.Messages {
		n += int64(len(m.Message.Payload))
	}
	release, err := s.writing.Acquire(ctx, n)
	if err != nil {
		return err
	}
	defer release()
	return s.st.ReceivedCreate(ctx, rc)
}

// readBody reads a body into one buffer of its declared length, or, with
// none declared, as it comes.
func readBody(body io.Reader, declared int64) ([]byte, error) {
	if declared < 0 {
		return io.ReadAll(body)
	}
	buf := make([]byte, declared)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// fillView sets a request's JSON view and event type, and returns the
// view's fields for the routes to look into: the view is decoded once per
// request.
func (s *Service) fillView(x *hookline.Received, h http.Header) *hookline.Fields {
	x.View = View(h.Get("Content-Type"), x.Body)
	fields := hookline.NewFields(x.View)
	x.EventType = EventType(h, fields)
	return fields
}

// routed wakes what must act on a stored request: the delivery engine for
// forwards and publishes, the runner for commands, and waiting pollers.
func (s *Service) routed(rc *store.Receive) {
	for _, m := range rc.Messages {
		if len(m.Deliveries) > 0 {
			s.wake()
			break
		}
	}
	if len(rc.Runs) > 0 {
		s.runner.poke()
	}
	s.arrived(rc.Received.SourceID)
}
