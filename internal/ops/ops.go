// Package ops holds the operations that both of hookline's faces, the REST
// API and the portal's pages, do: what each allows (by the caller's
// hookline.Access), what it checks and what it changes. The faces only read
// requests and write answers around them.
package ops

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// ErrLimitReached means an operation would go beyond a fixed bound, such
// as the number of old secrets an endpoint keeps.
var ErrLimitReached = errors.New("limit reached")

// Error is an error of a kind (hookline.ErrNotFound, hookline.ErrConflict,
// ErrLimitReached) with a detail fit to show the caller.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Unwrap returns the kind, so errors.Is matches it.
func (e *Error) Unwrap() error { return e.Kind }

// Options configure a Service.
type Options struct {
	// Store holds all state. Required.
	Store store.Store
	// AllowPrivateNetworks lets endpoint URLs name private and loopback
	// addresses, as the server's flag of that name does.
	AllowPrivateNetworks bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Publisher makes new messages durable; nil writes each with
	// Store.MessageCreate and calls Wake.
	Publisher Publisher
	// Wake, when set, tells the dispatcher that deliveries are due now.
	Wake func()
	// Events, when set, hears of the changes to endpoints, for the
	// operator's endpoints (see package opwebhook).
	Events Events
	// Inbound, when set with a Store that keeps sources, does the source
	// operations; without it they fail with ErrNoInbound.
	Inbound *inbound.Service
}

// Events takes operational events to publish. It must not block.
type Events interface {
	Emit(opwebhook.Event)
}

// Service does the operations over one store.
type Service struct {
	st           store.Store
	allowPrivate bool
	clock        func() time.Time
	pub          Publisher
	wakeFn       func()
	events       Events
	in           *inbound.Service
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{st: opts.Store, allowPrivate: opts.AllowPrivateNetworks, clock: opts.Now, pub: opts.Publisher, wakeFn: opts.Wake,
		events: opts.Events, in: opts.Inbound}
	if s.clock == nil {
		s.clock = time.Now
	}
	return s
}

// now returns the current time in UTC at the store's precision.
func (s *Service) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}

// emit hands ev to Events, if set.
func (s *Service) emit(ev opwebhook.Event) {
	if s.events != nil {
		s.events.Emit(ev)
	}
}

// app finds the app key names (an ID or a uid) and checks that acc may do
// an operation needing capability c on it. An app-scoped access asking for
// an app that does not exist is refused as for any other app, so it cannot
// learn which apps exist. The reserved app of the operator's endpoints is
// not found here: only the Operational operations reach it.
func (s *Service) app(ctx context.Context, acc *hookline.Access, c hookline.Capability, key string) (*hookline.App, error) {
	a, err := s.st.AppGet(ctx, key)
	if err == nil && a.ID == opwebhook.AppID {
		err = hookline.ErrNotFound
	}
	if errors.Is(err, hookline.ErrNotFound) {
		if err := acc.Require(c, key); err != nil {
			return nil, err
		}
		return nil, notFound("application", key)
	}
	if err != nil {
		return nil, err
	}
	if err := acc.Require(c, a.ID); err != nil {
		return nil, err
	}
	return a, nil
}

// notFound names what was not found.
func notFound(what, key string) error {
	return &Error{Kind: hookline.ErrNotFound, Detail: what + " " + quote(key) + " not found"}
}

// lookup turns a store's ErrNotFound into one naming the resource.
func lookup(err error, what, key string) error {
	if errors.Is(err, hookline.ErrNotFound) {
		return notFound(what, key)
	}
	return err
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strconv.Quote(s)
}
