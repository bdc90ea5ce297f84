package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline"
)

// consoleCookie is the console session's cookie, sent only under /console.
const consoleCookie = "hookline_console"

// consoleSessionTTL is how long a console session lasts at most.
const consoleSessionTTL = 12 * time.Hour

// consoleSession resolves the request's console cookie: a stored token of
// the admin or read-only scope.
func (s *server) consoleSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(consoleCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	tok, err := s.st.TokenByHash(r.Context(), hookline.HashSecret(c.Value))
	if errors.Is(err, hookline.ErrNotFound) || err == nil && tok.Scope == hookline.ScopeApp {
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, err
	}
	if !tok.Active(s.now()) {
		return nil, errSessionEnded
	}
	if tok.SessionID != "" {
		// A session made with a stored token ends when that token does.
		src, err := s.st.TokenGet(r.Context(), tok.SessionID)
		if errors.Is(err, hookline.ErrNotFound) || err == nil && !src.Active(s.now()) {
			return nil, errSessionEnded
		}
		if err != nil {
			return nil, err
		}
	}
	return &session{acc: tok.Access(), base: "/console", console: true, csrf: csrfToken(c.Value)}, nil
}

// consoleAuthed adapts a console handler: it needs a console session and,
// on a POST, the session's form token. Without a session it goes to the
// login form.
func (s *server) consoleAuthed(h func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.consoleSession(r)
		if errors.Is(err, errNoSession) || errors.Is(err, errSessionEnded) {
			to := "/console/login"
			if r.Method == http.MethodGet {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if err == nil {
			err = checkForm(r, sess)
		}
		if err == nil {
			err = h(w, r, sess)
		}
		if err != nil {
			s.serveError(w, r, sess, err)
		}
	}
}

// consoleApp adapts one of the app pages the portal shows for the
// console: the app is the one the path names, the operator's access
// decides what may be done, and the pages' links stay under the app's
// console path.
func (s *server) consoleApp(h func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return s.consoleAuthed(func(w http.ResponseWriter, r *http.Request, sess *session) error {
		a, err := s.ops.App(r.Context(), sess.acc, r.PathValue("app_id"))
		if err != nil {
			return err
		}
		sess.app = a
		sess.base = "/console/apps/" + url.PathEscape(a.ID)
		return h(w, r, sess)
	})
}

// consoleLoginPage is the console's login form.
type consoleLoginPage struct {
	basePage
	Next  string
	Error string
}

// safeNext keeps a return path within the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	return next
}

func (s *server) consoleBase(title, nav string) basePage {
	b := s.base(nil, title, nav)
	b.Console, b.Base = true, "/console"
	return b
}

func (s *server) consoleLoginForm(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, http.StatusOK, "console/login", consoleLoginPage{basePage: s.consoleBase("Log in", ""),
		Next: safeNext(r.URL.Query().Get("next"))})
}

// consoleLogin exchanges an API token of the admin or read-only scope for
// a console session: a new stored token of the same scope, lasting at
// most consoleSessionTTL and no longer than the token given (and ending
// when it is revoked: its SessionID names it), whose secret goes into a
// SameSite=Strict, HttpOnly cookie.
func (s *server) consoleLogin(w http.ResponseWriter, r *http.Request) error {
	now := s.now()
	given := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	refuse := func(msg string) error {
		return s.render(w, http.StatusUnauthorized, "console/login", consoleLoginPage{basePage: s.consoleBase("Log in", ""),
			Next: next, Error: msg})
	}
	if given == "" {
		return refuse("Enter an API token.")
	}
	sess := &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Name: "console session", CreatedAt: now}
	exp := now.Add(consoleSessionTTL)
	sum := hookline.HashSecret(given)
	switch {
	case len(s.adminHash) == len(sum) && subtle.ConstantTimeCompare(sum, s.adminHash) == 1:
		sess.Scope = hookline.ScopeAdmin
	default:
		tok, err := s.st.TokenByHash(r.Context(), sum)
		if errors.Is(err, hookline.ErrNotFound) || err == nil && subtle.ConstantTimeCompare(tok.Hash, sum) != 1 {
			return refuse("This token is not valid. Use the admin token or one made with hookline token create.")
		}
		if err != nil {
			return err
		}
		if !tok.Active(now) {
			return refuse("This token has expired or was revoked.")
		}
		if tok.Scope == hookline.ScopeApp {
			return refuse("This token is limited to one application. Log in with a token of the admin or read-only scope.")
		}
		sess.Scope, sess.ReadOnly, sess.Capabilities, sess.SessionID = tok.Scope, tok.ReadOnly, tok.Capabilities, tok.ID
		if tok.ExpiresAt != nil && tok.ExpiresAt.Before(exp) {
			exp = *tok.ExpiresAt
		}
	}
	sess.ExpiresAt = &exp
	secret, hash := hookline.NewSecret(hookline.TokenPrefix)
	sess.Hash = hash
	if err := s.st.TokenCreate(r.Context(), sess); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: secret, Path: "/console", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure, Expires: exp})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// consoleLogout ends the session: its token is revoked, the cookie cleared.
func (s *server) consoleLogout(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.st.TokenRevoke(r.Context(), sess.acc.TokenID, s.now()); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: "", Path: "/console", HttpOnly: true, MaxAge: -1,
		SameSite: http.SameSiteStrictMode, Secure: s.secure})
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}
