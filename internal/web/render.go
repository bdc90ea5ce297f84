package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/ops"
)

//go:embed templates
var templateFS embed.FS

// page is one parsed template set: the layout, the partials and one page.
type page struct {
	tmpl *template.Template
}

// parsePages parses every page under templates/portal with the layout and
// the partials, when the server starts.
func parsePages(a *assets) (map[string]*page, error) {
	funcs := template.FuncMap{
		"asset": a.url,
		"date": func(t time.Time) string {
			return t.UTC().Format("2 Jan 2006, 15:04 UTC")
		},
		"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ms":       func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" },
	}
	names, err := fs.Glob(templateFS, "templates/portal/*.tmpl")
	if err != nil {
		return nil, err
	}
	console, err := fs.Glob(templateFS, "templates/console/*.tmpl")
	if err != nil {
		return nil, err
	}
	names = append(names, console...)
	pages := map[string]*page{}
	for _, n := range names {
		t, err := template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.tmpl", "templates/partials.tmpl", n)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(path.Base(n), ".tmpl")
		if strings.HasPrefix(n, "templates/console/") {
			name = "console/" + name
		}
		pages[name] = &page{tmpl: t}
	}
	return pages, nil
}

// basePage is what every page shows: its title, the app, the session's
// CSRF token and what the session may do.
type basePage struct {
	Title string
	// AppName is empty on pages seen without a session.
	AppName string
	CSRF    string
	// Flash is a short message about what the last action did.
	Flash string
	// Can says what the session may do, for showing only the controls it
	// may use; the operations refuse the others whatever the page shows.
	Can can
	// Nav is the section of the page, for the navigation's aria-current.
	Nav string
	// Brand is how the page presents itself.
	Brand brandView
	// Base is the path the app's pages are under; AppID the app's ID.
	Base, AppID string
	// Console is set on the operator's pages.
	Console bool
}

type can struct {
	ManageEndpoint bool
	ViewSecret     bool
	RotateSecret   bool
	CreateAttempts bool
	ReadOnly       bool
}

func (s *server) base(sess *session, title, nav string) basePage {
	b := basePage{Title: title, Nav: nav, Brand: s.brand.view(), Base: "/portal"}
	if sess != nil {
		acc := sess.acc
		b.CSRF = sess.csrf
		b.Console = sess.console
		b.Base = sess.base
		b.Can.ReadOnly = acc.ReadOnly
		if sess.app != nil {
			id := sess.app.ID
			if !sess.console {
				b.Brand = s.brand.forApp(sess.app).view()
			}
			b.AppName, b.AppID = sess.app.Name, id
			b.Can = can{
				ManageEndpoint: acc.Require(hookline.CapManageEndpoint, id) == nil,
				ViewSecret:     acc.Require(hookline.CapViewEndpointSecret, id) == nil,
				RotateSecret:   acc.Require(hookline.CapManageEndpointSecret, id) == nil,
				CreateAttempts: acc.Require(hookline.CapCreateAttempts, id) == nil,
				ReadOnly:       acc.ReadOnly,
			}
		}
	}
	return b
}

// branded is a page with a brand, whose logo the CSP must allow.
type branded interface {
	brand() brandView
	console() bool
}

func (b basePage) brand() brandView { return b.Brand }

func (b basePage) console() bool { return b.Console }

// render executes a page into a buffer, then writes it with status.
func (s *server) render(w http.ResponseWriter, status int, name string, data any) error {
	p, ok := s.pages[name]
	if !ok {
		return errors.New("no page " + name)
	}
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, data); err != nil {
		return err
	}
	if b, ok := data.(branded); ok && b.brand().logoOrigin != "" && !b.console() {
		w.Header().Set("Content-Security-Policy", fmt.Sprintf(s.csp, " "+b.brand().logoOrigin))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// Errors of the pages themselves, beside the domain's kinds.
var (
	errPageNotFound = errors.New("page not found")
	errCrossOrigin  = errors.New("cross-origin request")
	errCSRF         = errors.New("missing or wrong form token")
	errNoSession    = errors.New("no session")
	errSessionEnded = errors.New("session ended")
)

// errorPage is the page of an error.
type errorPage struct {
	basePage
	Heading string
	Message string
}

// errorStatus is the one table from an error's kind to the status and the
// words of its page.
func errorStatus(err error) (status int, heading, message string) {
	var fe *hookline.ForbiddenError
	var oe *ops.Error
	switch {
	case errors.Is(err, errNoSession):
		return http.StatusUnauthorized, "Please open the portal again",
			"This page needs a portal session. Open the portal from the product that gave you the link."
	case errors.Is(err, errSessionEnded):
		return http.StatusUnauthorized, "Your session has ended",
			"Portal sessions last a limited time. Open the portal again from the product that gave you the link."
	case errors.Is(err, errCrossOrigin), errors.Is(err, errCSRF):
		return http.StatusForbidden, "This form could not be sent",
			"The form was sent from another site, or it is out of date. Go back, reload the page and try again."
	case errors.As(err, &fe):
		return http.StatusForbidden, "Not allowed", forbiddenMessage(fe.Detail)
	case errors.Is(err, hookline.ErrForbidden):
		return http.StatusForbidden, "Not allowed", "Your access does not allow this."
	case errors.Is(err, errPageNotFound):
		return http.StatusNotFound, "Page not found", "There is no page at this address."
	case errors.As(err, &oe) && errors.Is(err, hookline.ErrNotFound):
		return http.StatusNotFound, "Not found", "The " + oe.Detail + "; it may have been deleted."
	case errors.Is(err, hookline.ErrNotFound):
		return http.StatusNotFound, "Not found", "It may have been deleted."
	case errors.As(err, &oe) && errors.Is(err, hookline.ErrConflict):
		return http.StatusConflict, "Conflict", oe.Detail + "."
	case errors.As(err, &oe) && errors.Is(err, ops.ErrLimitReached):
		return http.StatusConflict, "Not now", oe.Detail + "."
	case errors.Is(err, hookline.ErrInvalid):
		return http.StatusUnprocessableEntity, "Invalid input", err.Error()
	case errors.Is(err, hookline.ErrUnavailable), errors.Is(err, hookline.ErrStorageFull):
		return http.StatusServiceUnavailable, "Unavailable", "The service cannot store or read this now. Try again in a moment."
	}
	return http.StatusInternalServerError, "Something went wrong", "The error was logged. Try again in a moment."
}

// serveError answers with the page of err; only 500s are logged.
func (s *server) serveError(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status, heading, message := errorStatus(err)
	if status >= 500 {
		s.log.Error("portal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := errorPage{basePage: s.base(sess, heading, ""), Heading: heading, Message: message}
	if err := s.render(w, status, "error", p); err != nil {
		s.log.Error("render error page", "err", err)
		http.Error(w, heading, status)
	}
}

// handle adapts a handler that returns an error and needs no session.
func (s *server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.serveError(w, r, nil, err)
		}
	}
}

// capabilityWords say what a capability allows, for a customer who never
// sees its name.
var capabilityWords = map[string]string{
	string(hookline.CapViewEndpointSecret):   "seeing signing secrets",
	string(hookline.CapManageEndpointSecret): "rotating signing secrets",
	string(hookline.CapManageEndpoint):       "adding, changing or deleting endpoints",
	string(hookline.CapCreateAttempts):       "resending webhooks",
}

// forbiddenMessage words a refusal by the access rules for the portal,
// which speaks of access, not tokens.
func forbiddenMessage(detail string) string {
	if strings.Contains(detail, "read-only") {
		return "Your access is read-only: you can look, but not change anything."
	}
	for c, words := range capabilityWords {
		if strings.Contains(detail, " "+c+" ") {
			return "Your access does not include " + words + "."
		}
	}
	return "Your access does not allow this."
}

// indentJSON shows a JSON document indented for reading; a document that
// is no valid JSON is shown as it is.
func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
