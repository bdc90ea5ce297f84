package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
)

// rule is what a route asks of its caller. Whether the route only reads,
// and whether only the whole API may call it, follow from the capability:
// read-only access holds only reading ones, and only the admin scope holds
// hookline.CapAdmin.
type rule struct {
	// cap is the capability the operation needs; "" lets any
	// authenticated caller in (logging out its own token), and capPublic
	// anyone, with a token or without.
	cap hookline.Capability
	// app says that the path's {app_id} is the app the operation touches,
	// which an app-scoped token must be limited to.
	app bool
}

// rules decides access for every route, by mux pattern, in one place. A
// route without a rule is refused at registration (route panics), and
// TestAccessEveryRoute tries every rule with every kind of token.
var rules = map[string]rule{
	// The probes and the API's description need no token, as Svix's
	// health check and OpenAPI document do not.
	"GET /api/v1/health":       {capPublic, false},
	"GET /api/v1/health/ping":  {capPublic, false},
	"GET /api/v1/health/live":  {capPublic, false},
	"GET /api/v1/openapi.json": {capPublic, false},

	"GET /api/v1/app":             {hookline.CapRead, false},
	"POST /api/v1/app":            {hookline.CapAdmin, false},
	"GET /api/v1/app/{app_id}":    {hookline.CapViewBase, true},
	"PUT /api/v1/app/{app_id}":    {hookline.CapAdmin, true},
	"PATCH /api/v1/app/{app_id}":  {hookline.CapAdmin, true},
	"DELETE /api/v1/app/{app_id}": {hookline.CapAdmin, true},

	// The event type catalog is every app's to read.
	"GET /api/v1/event-type":                      {hookline.CapViewBase, false},
	"POST /api/v1/event-type":                     {hookline.CapAdmin, false},
	"GET /api/v1/event-type/{event_type_name}":    {hookline.CapViewBase, false},
	"PUT /api/v1/event-type/{event_type_name}":    {hookline.CapAdmin, false},
	"PATCH /api/v1/event-type/{event_type_name}":  {hookline.CapAdmin, false},
	"DELETE /api/v1/event-type/{event_type_name}": {hookline.CapAdmin, false},

	"GET /api/v1/app/{app_id}/endpoint":                                    {hookline.CapViewBase, true},
	"POST /api/v1/app/{app_id}/endpoint":                                   {hookline.CapManageEndpoint, true},
	"GET /api/v1/app/{app_id}/endpoint/{endpoint_id}":                      {hookline.CapViewBase, true},
	"PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}":                      {hookline.CapManageEndpoint, true},
	"PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}":                    {hookline.CapManageEndpoint, true},
	"DELETE /api/v1/app/{app_id}/endpoint/{endpoint_id}":                   {hookline.CapManageEndpoint, true},
	"GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers":              {hookline.CapViewBase, true},
	"PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers":              {hookline.CapManageEndpoint, true},
	"PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers":            {hookline.CapManageEndpoint, true},
	"GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret":               {hookline.CapViewEndpointSecret, true},
	"POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate":       {hookline.CapManageEndpointSecret, true},
	"POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/recover":             {hookline.CapCreateAttempts, true},
	"POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example":        {hookline.CapCreateAttempts, true},
	"GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/msg":                  {hookline.CapViewBase, true},
	"GET /api/v1/app/{app_id}/msg":                                         {hookline.CapViewBase, true},
	"POST /api/v1/app/{app_id}/msg":                                        {hookline.CapAdmin, true},
	"GET /api/v1/app/{app_id}/msg/{msg_id}":                                {hookline.CapViewBase, true},
	"GET /api/v1/app/{app_id}/msg/{msg_id}/endpoint":                       {hookline.CapViewBase, true},
	"GET /api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}":           {hookline.CapViewBase, true},
	"POST /api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend": {hookline.CapCreateAttempts, true},
	"GET /api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}":              {hookline.CapViewBase, true},
	"GET /api/v1/app/{app_id}/attempt/msg/{msg_id}":                        {hookline.CapViewBase, true},

	"GET /api/v1/source":                                          {hookline.CapRead, false},
	"POST /api/v1/source":                                         {hookline.CapAdmin, false},
	"GET /api/v1/source/{source_id}":                              {hookline.CapRead, false},
	"PUT /api/v1/source/{source_id}":                              {hookline.CapAdmin, false},
	"PATCH /api/v1/source/{source_id}":                            {hookline.CapAdmin, false},
	"DELETE /api/v1/source/{source_id}":                           {hookline.CapAdmin, false},
	"POST /api/v1/source/{source_id}/token/rotate":                {hookline.CapAdmin, false},
	"GET /api/v1/source/{source_id}/request":                      {hookline.CapRead, false},
	"GET /api/v1/source/{source_id}/request/{request_id}":         {hookline.CapRead, false},
	"POST /api/v1/source/{source_id}/request/{request_id}/replay": {hookline.CapAdmin, false},
	"GET /api/v1/source/{source_id}/events":                       {hookline.CapRead, false},
	"POST /api/v1/source/{source_id}/events/ack":                  {hookline.CapAdmin, false},
	"GET /api/v1/source/{source_id}/stream":                       {hookline.CapRead, false},

	// The operator's endpoints hear of every app: the admin's alone.
	"GET /api/v1/operational-webhook/endpoint":                              {hookline.CapAdmin, false},
	"POST /api/v1/operational-webhook/endpoint":                             {hookline.CapAdmin, false},
	"GET /api/v1/operational-webhook/endpoint/{endpoint_id}":                {hookline.CapAdmin, false},
	"PUT /api/v1/operational-webhook/endpoint/{endpoint_id}":                {hookline.CapAdmin, false},
	"DELETE /api/v1/operational-webhook/endpoint/{endpoint_id}":             {hookline.CapAdmin, false},
	"GET /api/v1/operational-webhook/endpoint/{endpoint_id}/secret":         {hookline.CapAdmin, false},
	"POST /api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate": {hookline.CapAdmin, false},
	"GET /api/v1/operational-webhook/endpoint/{endpoint_id}/headers":        {hookline.CapAdmin, false},
	"PUT /api/v1/operational-webhook/endpoint/{endpoint_id}/headers":        {hookline.CapAdmin, false},

	"POST /api/v1/auth/app-portal-access/{app_id}": {hookline.CapAdmin, true},
	"POST /api/v1/auth/app/{app_id}/expire-all":    {hookline.CapAdmin, true},
	"POST /api/v1/auth/logout":                     {"", false},

	"GET /api/v1/token":               {hookline.CapAdmin, false},
	"POST /api/v1/token":              {hookline.CapAdmin, false},
	"GET /api/v1/token/{token_id}":    {hookline.CapAdmin, false},
	"DELETE /api/v1/token/{token_id}": {hookline.CapAdmin, false},
}

// capPublic is the capability of the routes that need no token: route
// registers them without authentication.
const capPublic hookline.Capability = "public"

// ruleFor returns the rule of a pattern, and panics when there is none or
// when it disagrees with the pattern about naming an app: a route that
// decides no access must not be served.
func ruleFor(pattern string) rule {
	rl, ok := rules[pattern]
	if !ok {
		panic("api: route " + pattern + " has no access rule")
	}
	if rl.app != strings.Contains(pattern, "{app_id}") {
		panic("api: the access rule of " + pattern + " disagrees with its path about naming an app")
	}
	return rl
}

type accessKey struct{}

// accessFrom returns the caller's access, which authenticate put in the
// request's context.
func accessFrom(ctx context.Context) *hookline.Access {
	acc, _ := ctx.Value(accessKey{}).(*hookline.Access)
	return acc
}

// adminAccess is the bootstrap admin token's access, shared by its
// requests (nothing changes it).
var adminAccess = hookline.AdminAccess()

// authenticate resolves "Authorization: Bearer <token>" to an Access and
// lets the request through only if rl allows it; the Access goes into the
// request's context for the handler. The bootstrap admin token is checked
// first, by comparing hashes in constant time, so that neither the token
// nor its length leaks through timing, and without a store round trip.
// Any other token is looked up by the SHA-256 of its secret (see
// tokenCache).
func (s *server) authenticate(rl rule, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc, err := s.resolveToken(r)
		if err != nil {
			if errors.Is(err, errUnauthorized) {
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			s.writeError(w, r, err)
			return
		}
		if err := s.authorize(r, rl, acc); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accessKey{}, acc)))
	})
}

var (
	errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "authentication_failed",
		detail: "Incorrect authentication credentials."}
	errTokenExpired = &apiError{status: http.StatusUnauthorized, code: "authentication_failed",
		detail: "This token has expired or was revoked.", kind: errUnauthorized}
)

// resolveToken returns the access of the request's bearer token.
func (s *server) resolveToken(r *http.Request) (*hookline.Access, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errUnauthorized
	}
	sum := sha256.Sum256([]byte(token))
	if len(s.tokenHash) == sha256.Size && subtle.ConstantTimeCompare(sum[:], s.tokenHash) == 1 {
		return adminAccess, nil
	}
	if !strings.HasPrefix(token, hookline.TokenPrefix) {
		// Not a token hookline issued: no need to look for it.
		return nil, errUnauthorized
	}
	now := s.clock()
	tok, err := s.tokens.lookup(r.Context(), s.st, sum[:], now)
	if errors.Is(err, hookline.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !tok.Active(now) {
		return nil, errTokenExpired
	}
	if s.tokens.touchDue(tok, now) {
		// Last-used times are approximate by design: at most one write a
		// minute per token and node, and a failed one is not worth failing
		// the request for.
		if err := s.st.TokenTouch(r.Context(), tok.ID, now.UTC().Truncate(time.Microsecond)); err != nil {
			s.log.Warn("record token use", "token_id", tok.ID, "err", err)
		}
	}
	return tok.Access(), nil
}

// authorize applies rl to acc for this request. An app-scoped token's
// app is compared with the app the path names, which may be a uid.
func (s *server) authorize(r *http.Request, rl rule, acc *hookline.Access) error {
	if rl.cap == "" {
		return nil
	}
	if acc.ReadOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return hookline.Forbidden("this token is read-only")
	}
	appID := ""
	if rl.app {
		appID = r.PathValue("app_id")
		if appID == opwebhook.AppID {
			// The reserved app of the operator's endpoints is reached only
			// through /api/v1/operational-webhook.
			return notFound("application", appID)
		}
		if acc.Scope == hookline.ScopeApp && appID != acc.AppID {
			var err error
			if appID, err = s.resolveAppID(r, appID); err != nil {
				return err
			}
		}
	}
	return acc.Require(rl.cap, appID)
}

// resolveAppID returns the ID of the app that key (an ID or a uid) names,
// or key itself when no app has it: an app-scoped token may not learn
// whether other apps exist.
func (s *server) resolveAppID(r *http.Request, key string) (string, error) {
	now := s.clock()
	if id, ok := s.appIDs.get(key, now); ok {
		return id, nil
	}
	a, err := s.st.AppGet(r.Context(), key)
	if errors.Is(err, hookline.ErrNotFound) {
		return key, nil
	}
	if err != nil {
		return "", fmt.Errorf("resolve the path's app: %w", err)
	}
	s.appIDs.put(key, a.ID, now)
	return a.ID, nil
}

// tokenCache remembers stored tokens by hash for a few seconds, so that a
// client making many requests, such as a portal page, costs one store read
// per ttl rather than one per request. Revoking or expiring tokens through
// this node clears it; on other nodes of a cluster such a change takes
// effect within ttl.
type tokenCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	m       map[string]tokenEntry // by hash
	touched map[string]time.Time  // by token ID: the last use recorded
}

type tokenEntry struct {
	tok     *hookline.Token
	expires time.Time
}

// touchEvery is how often a token's last-used time is written at most, per
// node.
const touchEvery = time.Minute

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, m: map[string]tokenEntry{}, touched: map[string]time.Time{}}
}

// lookup returns the token with this hash, from the cache or the store.
// The map and the index look up a SHA-256 of 160 random bits, which no
// caller can steer; the hash found is compared again in constant time.
func (c *tokenCache) lookup(ctx context.Context, st interface {
	TokenByHash(context.Context, []byte) (*hookline.Token, error)
}, hash []byte, now time.Time) (*hookline.Token, error) {
	c.mu.Lock()
	e, ok := c.m[string(hash)]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.tok, nil
	}
	tok, err := st.TokenByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(tok.Hash, hash) != 1 {
		return nil, hookline.ErrNotFound
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(hash)] = tokenEntry{tok: tok, expires: now.Add(c.ttl)}
	return tok, nil
}

// touchDue reports whether tok's use at now is to be written, and if so
// takes note that it is.
func (c *tokenCache) touchDue(tok *hookline.Token, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.touched[tok.ID]
	if !ok && tok.LastUsedAt != nil {
		last, ok = *tok.LastUsedAt, true
	}
	if ok && now.Sub(last) < touchEvery {
		return false
	}
	if len(c.touched) >= c.max {
		clear(c.touched)
	}
	c.touched[tok.ID] = now
	return true
}

// clear forgets every cached token, after tokens were revoked or expired.
func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// forbiddenDetail says why an operation was refused, as a
// hookline.ForbiddenError words it.
func forbiddenDetail(err error) string {
	var fe *hookline.ForbiddenError
	if errors.As(err, &fe) && fe.Detail != "" {
		return "Forbidden: " + fe.Detail + "."
	}
	return "You do not have permission to perform this action."
}
