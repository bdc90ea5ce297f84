// Package api is hookline's REST API. Its paths, bodies and status codes
// follow Svix's v1 API, so the official Svix SDKs work against hookline by
// changing their base URL.
//
// Handlers translate between wire types (camelCase JSON, as Svix's OpenAPI
// document names them) and the domain types of package hookline, validate
// with the domain's Validate methods and write through store.Store. They
// return errors; one function, errorResponse, turns an error kind into an
// HTTP status and a JSON body.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/internal/health"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/inflight"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxBodyBytes is the request body limit when Options.MaxBodyBytes
// is zero: 1 MiB, the largest payload Svix accepts.
const DefaultMaxBodyBytes = 1 << 20

// Publisher makes new messages durable. The server wires a group committer
// here, which batches concurrent requests into one store transaction; when
// Publish returns nil, m holds the store's results as Store.MessageCreate
// fills them in (m.Err, m.Existing, m.Deliveries).
type Publisher interface {
	Publish(ctx context.Context, m *store.MessageCreate) error
}

// Options configure the API handler.
type Options struct {
	// Store holds all state. Required.
	Store store.Store
	// Publisher makes new messages durable. When nil, each message is
	// written with Store.MessageCreate as a batch of one and Wake is called.
	Publisher Publisher
	// TokenHash is the SHA-256 of the bootstrap admin token. When empty,
	// only the tokens in the store authenticate.
	TokenHash []byte
	// PublicURL is the base URL users reach this server at, which portal
	// login links start with; when empty, they start with the scheme and
	// host of the request that asked for them.
	PublicURL string
	// MaxBodyBytes caps request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives internal errors and recovered panics; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Tests pin it. It
	// must not run ahead of the real clock, which IDs are read from: lists
	// filtered by time leave out rows created after their ID's second (see
	// hookline.IDFloor).
	Now func() time.Time
	// Wake, when set, tells the dispatcher that deliveries are due now,
	// such as after a resend, so it need not wait for its next poll.
	Wake func()
	// Bodies bounds the bytes of the request bodies being handled at once;
	// nil bounds nothing.
	Bodies *inflight.Limiter
	// Pages bounds the bytes of the list pages of payloads, bodies and
	// responses being read and written at once; nil bounds nothing.
	Pages *inflight.Limiter
	// Inbound, when set, serves the inbound routes (/api/v1/source/...)
	// over Store, which must then also be a store.InboundStore.
	Inbound *inbound.Service
	// AllowPrivateNetworks says that deliveries may reach private and
	// loopback addresses. Without it, an endpoint URL whose host is such
	// an address, or localhost, is refused when it is set; with it, only
	// the addresses the network guard refuses always are.
	AllowPrivateNetworks bool
	// Health answers the readiness probe (/api/v1/health). When nil, it
	// checks Store alone, if Store is a store.Checker.
	Health *health.Checker
	// Metrics, when set, counts the requests by route and the messages
	// published.
	Metrics Metrics
	// Tracer, when set, starts a span for each request, named by its
	// route's pattern, and one for each publish, whose traceparent the
	// message keeps for its deliveries. Nil starts none.
	Tracer trace.Tracer
	// Events, when set, hears of the changes to endpoints, for the
	// operator's endpoints (see package opwebhook).
	Events ops.Events
}

// Metrics counts what the API does.
type Metrics interface {
	// Published counts n messages published.
	Published(n int)
	// Route returns the function that counts a request to the route of
	// the pattern by its status code and duration. The API asks once per
	// pattern, when it registers the route, so counting a request looks
	// nothing up.
	Route(pattern string) func(code int, took time.Duration)
}

// unmatchedRoute is the route the requests that match none are counted
// under.
const unmatchedRoute = "unmatched"

// server holds the dependencies shared by all handlers.
type server struct {
	st        store.Store
	ops       *ops.Service
	pub       Publisher
	tokenHash []byte
	maxBody   int64
	log       *slog.Logger
	clock     func() time.Time
	wake      func()
	in        *inbound.Service
	bodies    *inflight.Limiter
	pages     *inflight.Limiter
	health    *health.Checker
	mux       *http.ServeMux
	appIDs    *appIDCache
	tokens    *tokenCache
	publicURL string
	// patterns are the routes, in registration order.
	patterns []string
	// allowPrivate is Options.AllowPrivateNetworks.
	allowPrivate bool
	// metrics is Options.Metrics; observers count the requests to each
	// route, by pattern, and unmatched those to none. Written only while
	// the routes are registered.
	metrics   Metrics
	observers map[string]func(code int, took time.Duration)
	unmatched func(code int, took time.Duration)
	// tracer is Options.Tracer.
	tracer trace.Tracer
	// statusWriters are reused from request to request, so that counting
	// a request allocates nothing; no handler keeps its writer once it
	// returns.
	statusWriters sync.Pool
}

// New returns the REST API as an http.Handler.
func New(opts Options) http.Handler {
	s := newServer(opts)
	return s.recoverPanics(http.HandlerFunc(s.serve))
}

// newServer returns the server behind New, its routes registered.
func newServer(opts Options) *server {
	s := &server{
		st:        opts.Store,
		pub:       opts.Publisher,
		tokenHash: opts.TokenHash,
		maxBody:   opts.MaxBodyBytes,
		log:       opts.Logger,
		clock:     opts.Now,
		wake:      opts.Wake,
		in:        opts.Inbound,
		bodies:    opts.Bodies,
		pages:     opts.Pages,
		health:    opts.Health,
		mux:       http.NewServeMux(),
		appIDs:    newAppIDCache(5*time.Second, 10000),
		tokens:    newTokenCache(5*time.Second, 10000),
		publicURL: strings.TrimRight(opts.PublicURL, "/"),

		allowPrivate: opts.AllowPrivateNetworks,
		metrics:      opts.Metrics,
		tracer:       opts.Tracer,
		observers:    map[string]func(code int, took time.Duration){},
	}
	if s.metrics != nil {
		s.unmatched = s.metrics.Route(unmatchedRoute)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.health == nil {
		ho := health.Options{Logger: s.log}
		if ck, ok := s.st.(store.Checker); ok {
			ho.Store = ck
		}
		s.health = health.New(ho)
	}
	s.ops = ops.New(ops.Options{Store: s.st, AllowPrivateNetworks: s.allowPrivate, Now: s.clock, Publisher: s.pub, Wake: s.wake,
		Events: opts.Events, Inbound: opts.Inbound})
	s.routes()
	return s
}

// routes registers every endpoint. Patterns have no trailing slash; serve
// strips one from the request path before routing.
func (s *server) routes() {
	// GET patterns match HEAD too.
	s.route("GET /api/v1/health", plain(s.health.ServeReady))
	s.route("GET /api/v1/health/ping", plain(s.health.ServeReady))
	s.route("GET /api/v1/health/live", plain(health.ServeLive))
	s.route("GET /api/v1/openapi.json", s.openAPI)

	s.route("GET /api/v1/app", s.appList)
	s.route("POST /api/v1/app", s.appCreate)
	s.route("GET /api/v1/app/{app_id}", s.appGet)
	s.route("PUT /api/v1/app/{app_id}", s.appUpdate)
	s.route("PATCH /api/v1/app/{app_id}", s.appPatch)
	s.route("DELETE /api/v1/app/{app_id}", s.appDelete)

	s.route("GET /api/v1/event-type", s.eventTypeList)
	s.route("POST /api/v1/event-type", s.eventTypeCreate)
	s.route("GET /api/v1/event-type/{event_type_name}", s.eventTypeGet)
	s.route("PUT /api/v1/event-type/{event_type_name}", s.eventTypeUpdate)
	s.route("PATCH /api/v1/event-type/{event_type_name}", s.eventTypePatch)
	s.route("DELETE /api/v1/event-type/{event_type_name}", s.eventTypeDelete)

	const ep = "/api/v1/app/{app_id}/endpoint/{endpoint_id}"
	s.route("GET /api/v1/app/{app_id}/endpoint", s.endpointList)
	s.route("POST /api/v1/app/{app_id}/endpoint", s.endpointCreate)
	s.route("GET "+ep, s.endpointGet)
	s.route("PUT "+ep, s.endpointUpdate)
	s.route("PATCH "+ep, s.endpointPatch)
	s.route("DELETE "+ep, s.endpointDelete)
	s.route("GET "+ep+"/headers", s.endpointHeadersGet)
	s.route("PUT "+ep+"/headers", s.endpointHeadersUpdate)
	s.route("PATCH "+ep+"/headers", s.endpointHeadersPatch)
	s.route("GET "+ep+"/secret", s.endpointSecretGet)
	s.route("POST "+ep+"/secret/rotate", s.endpointSecretRotate)
	s.route("POST "+ep+"/recover", s.endpointRecover)
	s.route("POST "+ep+"/send-example", s.endpointSendExample)
	s.route("GET "+ep+"/msg", s.paged(s.endpointMessageList))

	const msg = "/api/v1/app/{app_id}/msg/{msg_id}"
	s.route("GET /api/v1/app/{app_id}/msg", s.paged(s.messageList))
	s.route("POST /api/v1/app/{app_id}/msg", s.messageCreate)
	s.route("GET "+msg, s.messageGet)
	s.route("GET "+msg+"/endpoint", s.messageEndpointList)
	s.route("GET "+msg+"/attempt/{attempt_id}", s.attemptGet)
	s.route("POST "+msg+"/endpoint/{endpoint_id}/resend", s.messageResend)

	s.route("GET /api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}", s.paged(s.attemptListByEndpoint))
	s.route("GET /api/v1/app/{app_id}/attempt/msg/{msg_id}", s.paged(s.attemptListByMessage))

	s.sourceRoutes()
	s.operationalRoutes()
	s.authRoutes()
	s.tokenRoutes()
}

// route registers a handler, whose access its rule in rules decides
// before anything else happens: a public route is served to anyone, any
// other only to a token the rule allows. POSTs also honour the
// idempotency-key header.
func (s *server) route(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	rl := ruleFor(pattern)
	if rl.cap == capPublic {
		s.handle(pattern, s.adapt(h))
		return
	}
	s.handle(pattern, s.authenticate(rl, s.idempotent(s.adapt(h))))
}

// plain adapts a handler that writes its own errors.
func plain(h http.HandlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h(w, r)
		return nil
	}
}

// handle registers a route, and its counter when there are metrics.
func (s *server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	if s.metrics != nil {
		s.observers[pattern] = s.metrics.Route(pattern)
	}
}

// paged reserves a page's worth of bytes (store.MaxPageBytes) under the
// bound on list pages before h reads one: a page of a list of payloads,
// bodies or responses may hold that much, and is held until it is written.
func (s *server) paged(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		release, err := s.pages.Acquire(r.Context(), store.MaxPageBytes)
		if err != nil {
			return errOverloaded(err)
		}
		defer release()
		return h(w, r)
	}
}

// now returns the current time in UTC at the store's precision
// (microseconds), so a resource returned on create reads back the same.
func (s *server) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}

// wakeDispatcher tells the dispatcher that deliveries are due.
func (s *server) wakeDispatcher() {
	if s.wake != nil {
		s.wake()
	}
}
