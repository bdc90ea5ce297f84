package hookline

import (
	"fmt"
	"slices"
	"time"
)

// Scope says how much of an installation an Access reaches.
type Scope string

// Scopes.
const (
	// ScopeAdmin reaches the whole API, as the bootstrap admin token does.
	ScopeAdmin Scope = "admin"
	// ScopeReadOnly reads every app and the resources outside apps, and
	// changes nothing.
	ScopeReadOnly Scope = "read-only"
	// ScopeApp reaches one app, within its capabilities: what an app
	// portal token is.
	ScopeApp Scope = "app"
)

// Capability is one kind of operation an Access may do. The first five are
// Svix's app portal capabilities and mean what they mean in Svix; the last
// two are hookline's, for what lies outside any one app.
type Capability string

// Capabilities.
const (
	// CapViewBase reads an app, its endpoints (not their secrets), its
	// messages and attempts, and the event type catalog.
	CapViewBase Capability = "ViewBase"
	// CapViewEndpointSecret reads an endpoint's signing secret.
	CapViewEndpointSecret Capability = "ViewEndpointSecret"
	// CapManageEndpointSecret rotates an endpoint's signing secret, and
	// reads it.
	CapManageEndpointSecret Capability = "ManageEndpointSecret"
	// CapManageEndpoint creates, changes and deletes endpoints and their
	// headers, secrets included.
	CapManageEndpoint Capability = "ManageEndpoint"
	// CapCreateAttempts resends messages, recovers failed deliveries and
	// sends example events.
	CapCreateAttempts Capability = "CreateAttempts"
	// CapManageTransformations is accepted as Svix's SDKs send it; hookline
	// has no transformations, so it grants nothing.
	CapManageTransformations Capability = "ManageTransformations"

	// CapRead reads what lies outside one app: the list of apps, sources
	// and their received requests. The admin and read-only scopes hold it.
	CapRead Capability = "Read"
	// CapAdmin is everything else only the whole API may do: create,
	// change and delete apps, event types and sources, publish messages,
	// manage tokens and give portal access. Only the admin scope holds it.
	CapAdmin Capability = "Admin"
)

// AppCapabilities are the capabilities an app-scoped token may hold, in
// Svix's order. A portal access that names none gets them all, as in Svix.
var AppCapabilities = []Capability{CapViewBase, CapViewEndpointSecret, CapManageEndpointSecret,
	CapManageTransformations, CapCreateAttempts, CapManageEndpoint}

// writes reports whether c changes something, which read-only access may
// not do.
func (c Capability) writes() bool {
	switch c {
	case CapViewBase, CapViewEndpointSecret, CapRead:
		return false
	}
	return true
}

// implies lists, for a capability, the lesser ones it includes, as Svix
// defines them: managing an endpoint includes its secret, and managing a
// secret includes reading it.
var implies = map[Capability][]Capability{
	CapManageEndpoint:       {CapManageEndpointSecret, CapViewEndpointSecret},
	CapManageEndpointSecret: {CapViewEndpointSecret},
}

// Access is what a caller may do: the resolution of a bearer token (or,
// for the portal, of a session). Every operation begins with Require.
type Access struct {
	Scope Scope
	// AppID is the one app an app-scoped access reaches.
	AppID string
	// Capabilities are those of an app-scoped or read-only access; the
	// admin scope holds every capability whatever this says.
	Capabilities []Capability
	// ReadOnly forbids every capability that changes something.
	ReadOnly bool
	// ExpiresAt, when set, is when the access ends.
	ExpiresAt *time.Time
	// TokenID is the stored token the access comes from; "" for the
	// bootstrap admin token.
	TokenID string
}

// AdminAccess is the access of the bootstrap admin token: the whole API.
func AdminAccess() *Access { return &Access{Scope: ScopeAdmin} }

// Has reports whether a holds capability c, directly or through one that
// includes it.
func (a *Access) Has(c Capability) bool {
	if a == nil {
		return false
	}
	if a.Scope == ScopeAdmin {
		return !a.ReadOnly || !c.writes()
	}
	if a.Scope == ScopeReadOnly && (c == CapRead || c == CapViewBase) {
		return true
	}
	if c == CapRead || c == CapAdmin {
		return false
	}
	for _, held := range a.Capabilities {
		if held == c || slices.Contains(implies[held], c) {
			return true
		}
	}
	return false
}

// Require returns nil if a may do an operation that needs capability c on
// the app with ID appID ("" for an operation on no one app, such as
// reading the event type catalog), and a *ForbiddenError saying why not
// otherwise. Expiry is checked where the access is resolved, not here.
func (a *Access) Require(c Capability, appID string) error {
	switch {
	case a == nil:
		return &ForbiddenError{Detail: "no access"}
	case a.ReadOnly && c.writes():
		return &ForbiddenError{Detail: "this token is read-only"}
	case a.Scope == ScopeApp && appID != "" && appID != a.AppID:
		return &ForbiddenError{Detail: "this token is limited to application " + a.AppID}
	case a.Scope == ScopeApp && (c == CapAdmin || c == CapRead):
		return &ForbiddenError{Detail: "this token is limited to application " + a.AppID + "; this operation needs a token for the whole API"}
	case a.Scope == ScopeReadOnly && c == CapAdmin:
		return &ForbiddenError{Detail: "this operation needs a token for the whole API"}
	case !a.Has(c):
		return &ForbiddenError{Detail: fmt.Sprintf("this token lacks the %s capability", c)}
	}
	return nil
}

// ForbiddenError is a refusal by scope, app or capability. It matches
// ErrForbidden under errors.Is; Detail says which rule refused.
type ForbiddenError struct {
	Detail string
}

func (e *ForbiddenError) Error() string { return "forbidden: " + e.Detail }

// Is reports that a ForbiddenError is of kind ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden returns a ForbiddenError with a detail.
func Forbidden(detail string) error { return &ForbiddenError{Detail: detail} }

// validAccess checks a scope, its app and its capabilities together.
func validAccess(v *ValidationError, scope Scope, appID string, caps []Capability) {
	switch scope {
	case ScopeAdmin, ScopeReadOnly:
		if appID != "" {
			v.add("appId", "only an app-scoped token names an application")
		}
	case ScopeApp:
		if appID == "" {
			v.add("appId", "an app-scoped token needs an application")
		}
	default:
		v.add("scope", `must be "admin", "read-only" or "app"`)
		return
	}
	for _, c := range caps {
		switch {
		case scope == ScopeAdmin:
			v.add("capabilities", "an admin token holds every capability; name none")
			return
		case scope == ScopeReadOnly && c != CapViewBase && c != CapViewEndpointSecret:
			v.add("capabilities", fmt.Sprintf("a read-only token may hold ViewBase and ViewEndpointSecret, not %q", c))
			return
		case !slices.Contains(AppCapabilities, c):
			v.add("capabilities", fmt.Sprintf("unknown capability %q; want some of ViewBase, ViewEndpointSecret, ManageEndpointSecret, ManageEndpoint, CreateAttempts", c))
			return
		}
	}
}
