package api

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/hookline/hookline"
)

// authRoutes registers Svix's authentication routes: portal access for one
// app, expiring an app's tokens, and logging a token out.
func (s *server) authRoutes() {
	s.route("POST /api/v1/auth/app-portal-access/{app_id}", s.appPortalAccess)
	s.route("POST /api/v1/auth/app/{app_id}/expire-all", s.appTokensExpire)
	s.route("POST /api/v1/auth/logout", s.logout)
}

// Bounds of a portal access's lifetime, in seconds, as Svix has them.
const (
	minPortalExpiry     = 3600
	maxPortalExpiry     = 7 * 24 * 3600
	defaultPortalExpiry = maxPortalExpiry
)

// appPortalAccessIn is Svix's AppPortalAccessIn.
type appPortalAccessIn struct {
	// Application creates the app in the path, by uid, if it does not
	// exist yet; it is ignored when the app exists.
	Application *applicationIn `json:"application"`
	// Capabilities default to all of them when left out, as in Svix.
	Capabilities *[]string `json:"capabilities"`
	Expiry       *int64    `json:"expiry"`
	FeatureFlags []string  `json:"featureFlags"`
	ReadOnly     *bool     `json:"readOnly"`
	SessionID    *string   `json:"sessionId"`
}

// appPortalAccessOut is Svix's AppPortalAccessOut.
type appPortalAccessOut struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// featureFlag is the form Svix gives a feature flag.
var featureFlag = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,256}$`)

// appPortalAccess gives access to one app: a bearer token for the REST API
// limited to that app and the capabilities asked for, and a portal login
// link holding a one-use code for the same access. The portal's login page
// exchanges the code, once and within hookline.LoginCodeTTL, for a session.
func (s *server) appPortalAccess(w http.ResponseWriter, r *http.Request) error {
	var in appPortalAccessIn
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	now := s.now()
	t := &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Name: "app portal", Scope: hookline.ScopeApp,
		SessionID: deref(in.SessionID), FeatureFlags: in.FeatureFlags, CreatedAt: now}
	var v hookline.ValidationError
	caps := hookline.AppCapabilities
	if in.Capabilities != nil {
		caps = []hookline.Capability{hookline.CapViewBase} // always held, as Svix requires it
		for _, c := range *in.Capabilities {
			if !slices.Contains(hookline.AppCapabilities, hookline.Capability(c)) {
				v.Fields = append(v.Fields, hookline.FieldError{Loc: []string{"body", "capabilities"}, Type: "value_error",
					Msg: "unknown capability " + quote(c) + "; want some of ViewBase, ViewEndpointSecret, ManageEndpointSecret, ManageTransformations, CreateAttempts, ManageEndpoint"})
			} else if !slices.Contains(caps, hookline.Capability(c)) {
				caps = append(caps, hookline.Capability(c))
			}
		}
	}
	t.Capabilities = caps
	expiry := int64(defaultPortalExpiry)
	if in.Expiry != nil {
		expiry = *in.Expiry
		if expiry < minPortalExpiry || expiry > maxPortalExpiry {
			v.Fields = append(v.Fields, hookline.FieldError{Loc: []string{"body", "expiry"}, Type: "value_error",
				Msg: "must be from 3600 (an hour) to 604800 (7 days) seconds"})
		}
	}
	exp := now.Add(time.Duration(expiry) * time.Second)
	t.ExpiresAt = &exp
	if in.ReadOnly != nil {
		t.ReadOnly = *in.ReadOnly
	}
	for _, f := range in.FeatureFlags {
		if !featureFlag.MatchString(f) {
			v.Fields = append(v.Fields, hookline.FieldError{Loc: []string{"body", "featureFlags"}, Type: "value_error",
				Msg: "feature flag " + quote(f) + " must be 1 to 256 letters, digits, '-', '_' or '.'"})
		}
	}
	if len(v.Fields) > 0 {
		return &v
	}
	a, err := s.messageApp(r, in.Application, now)
	if err != nil {
		return err
	}
	t.AppID = a.ID
	secret, code, err := s.ops.PortalLink(r.Context(), accessFrom(r.Context()), t)
	if err != nil {
		return opsErr(err)
	}
	writeJSON(w, http.StatusOK, appPortalAccessOut{URL: s.baseURL(r) + "/portal/login?code=" + url.QueryEscape(code), Token: secret})
	return nil
}

// baseURL is the URL this server is reached at: Options.PublicURL, else
// the scheme and host of r.
func (s *server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// applicationTokenExpireIn is Svix's ApplicationTokenExpireIn.
type applicationTokenExpireIn struct {
	// Expiry is how many seconds from now the tokens end; 0 is now.
	Expiry     *int64   `json:"expiry"`
	SessionIDs []string `json:"sessionIds"`
}

// appTokensExpire ends every app-scoped token of an app, or those made
// with the given session IDs, now or after a delay.
func (s *server) appTokensExpire(w http.ResponseWriter, r *http.Request) error {
	var in applicationTokenExpireIn
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	var after int64
	if in.Expiry != nil {
		after = *in.Expiry
		if after < 0 || after > maxPortalExpiry {
			return hookline.Invalid([]string{"body", "expiry"}, "must be from 0 (now) to 604800 (7 days) seconds")
		}
	}
	a, err := s.app(r)
	if err != nil {
		return err
	}
	if _, err := s.st.TokenExpireApp(r.Context(), a.ID, in.SessionIDs, s.now().Add(time.Duration(after)*time.Second)); err != nil {
		return err
	}
	s.tokens.clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// logout revokes the token that makes the request. The bootstrap admin
// token lives in the server's configuration, not the store, so it cannot
// be revoked this way.
func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	acc := accessFrom(r.Context())
	if acc == nil || acc.TokenID == "" {
		return hookline.Forbidden("the bootstrap admin token cannot be logged out; to replace it, set HOOKLINE_ADMIN_TOKEN and restart")
	}
	if err := s.st.TokenRevoke(r.Context(), acc.TokenID, s.now()); err != nil {
		return err
	}
	s.tokens.clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
