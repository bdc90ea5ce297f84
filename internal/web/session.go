package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookline/hookline"
)

// cookieName is the session cookie's name, sent only under /portal.
const cookieName = "hookline_portal"

// session is a logged-in portal visitor: a stored token of one app, whose
// secret is the session cookie.
type session struct {
	acc *hookline.Access
	// app is the app the pages are of: the portal session's own, or the
	// one a console page names.
	app *hookline.App
	// base is the path the app's pages are under: /portal, or
	// /console/apps/{app_id} in the console.
	base string
	// console is set for an operator's session.
	console bool
	// csrf is the token every form of the session carries: derived from
	// the session's secret, so it is bound to the session and needs no
	// storage.
	csrf string
}

// csrfToken derives a session's form token from its secret.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("hookline portal form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkForm checks, on a POST, that the form carries the session's form
// token.
func checkForm(r *http.Request, sess *session) error {
	if r.Method != http.MethodPost {
		return nil
	}
	got := r.PostFormValue("csrf")
	if got == "" || !hmac.Equal([]byte(got), []byte(sess.csrf)) {
		return errCSRF
	}
	return nil
}

// authed adapts a handler that needs a session. It resolves the cookie to
// the access of its token and, on a POST, checks the form token.
func (s *server) authed(h func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err == nil {
			err = checkForm(r, sess)
		}
		if err == nil {
			err = h(w, r, sess)
		}
		if err != nil {
			if errors.Is(err, errNoSession) || errors.Is(err, errSessionEnded) {
				sess = nil
			}
			s.serveError(w, r, sess, err)
		}
	}
}

// session resolves the request's cookie.
func (s *server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	tok, err := s.st.TokenByHash(r.Context(), hookline.HashSecret(c.Value))
	if errors.Is(err, hookline.ErrNotFound) || err == nil && tok.Scope != hookline.ScopeApp {
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, err
	}
	if !tok.Active(s.now()) {
		return nil, errSessionEnded
	}
	acc := tok.Access()
	app, err := s.ops.App(r.Context(), acc, acc.AppID)
	if errors.Is(err, hookline.ErrNotFound) {
		return nil, errSessionEnded // the app was deleted
	}
	if err != nil {
		return nil, err
	}
	return &session{acc: acc, app: app, base: "/portal", csrf: csrfToken(c.Value)}, nil
}

// loginPage is the Continue form of a login link.
type loginPage struct {
	basePage
	Code string
}

// loginForm shows a Continue button that posts the link's code. The GET
// does not spend the code: link scanners and previews fetch links too.
func (s *server) loginForm(w http.ResponseWriter, r *http.Request) error {
	code := strings.TrimSpace(r.URL.Query().Get("code"))
	if code == "" {
		return s.render(w, http.StatusBadRequest, "login_failed", errorPage{basePage: s.base(nil, "Incomplete link", ""),
			Heading: "This link is incomplete", Message: "The portal link has no login code. Copy the whole link, or ask for a new one."})
	}
	return s.render(w, http.StatusOK, "login", loginPage{basePage: s.base(nil, "Open the portal", ""), Code: code})
}

// login spends a login code and starts a session with the access of the
// code's token: a new token of the same app, capabilities and expiry,
// whose secret goes into an HttpOnly cookie and whose hash is stored.
func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	now := s.now()
	code := strings.TrimSpace(r.PostFormValue("code"))
	var tok *hookline.Token
	var err error
	if code != "" {
		tok, err = s.st.LoginCodeUse(r.Context(), hookline.HashSecret(code), now)
	}
	if code == "" || errors.Is(err, hookline.ErrNotFound) || err == nil && !tok.Active(now) {
		return s.render(w, http.StatusGone, "login_failed", errorPage{basePage: s.base(nil, "Link used or expired", ""),
			Heading: "This link was used or has expired",
			Message: "A portal link opens the portal once, within 15 minutes. Open the portal again from the product that gave you the link."})
	}
	if err != nil {
		return err
	}
	sess := &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Name: "portal session", Scope: hookline.ScopeApp,
		AppID: tok.AppID, Capabilities: tok.Capabilities, ReadOnly: tok.ReadOnly, SessionID: tok.SessionID,
		FeatureFlags: tok.FeatureFlags, CreatedAt: now, ExpiresAt: tok.ExpiresAt}
	secret, hash := hookline.NewSecret(hookline.TokenPrefix)
	sess.Hash = hash
	if err := s.st.TokenCreate(r.Context(), sess); err != nil {
		return err
	}
	c := &http.Cookie{Name: cookieName, Value: secret, Path: "/portal", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if sess.ExpiresAt != nil {
		c.Expires = *sess.ExpiresAt
	}
	if s.secure {
		// Usable inside the iframe of the sender's product, a third-party
		// context, and kept apart from the same portal framed elsewhere.
		c.Secure, c.SameSite, c.Partitioned = true, http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, "/portal/endpoints", http.StatusSeeOther)
	return nil
}

// logout ends the session: its token is revoked and the cookie cleared.
func (s *server) logout(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.st.TokenRevoke(r.Context(), sess.acc.TokenID, s.now()); err != nil {
		return err
	}
	c := &http.Cookie{Name: cookieName, Value: "", Path: "/portal", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteLaxMode}
	if s.secure {
		c.Secure, c.SameSite, c.Partitioned = true, http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
	return s.render(w, http.StatusOK, "login_failed", errorPage{basePage: s.base(nil, "Logged out", ""),
		Heading: "You are logged out", Message: "To come back, open the portal again from the product that gave you the link."})
}

// flash is the message of a done= key in a redirect after a change: a
// fixed set, so a link cannot make the page say anything else.
var flashes = map[string]string{
	"created":  "Endpoint created.",
	"updated":  "Endpoint saved.",
	"enabled":  "Endpoint enabled.",
	"disabled": "Endpoint disabled.",
	"deleted":  "Endpoint deleted.",
	"rotated":  "Secret rotated.",
	"resent":   "Queued to be sent again.",
	"example":  "Example sent. Its attempt shows below as soon as the endpoint answers.",
}

// seeOther redirects after a change, naming what was done.
func seeOther(w http.ResponseWriter, r *http.Request, to, done string) {
	if done != "" {
		to += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
