// Package web serves hookline's pages: the portal, where a customer of a
// hookline user manages the webhooks of its one app, opened by a link from
// the API's app-portal-access.
//
// Pages are html/template sets parsed when the server starts, from files
// embedded in the binary; handlers return errors, and one table (errorPage)
// turns an error's kind into a status and a page. Every operation goes
// through package ops, as the REST API's do, so both faces follow the same
// rules.
package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
)

// Options configure the pages.
type Options struct {
	// Store holds all state. Required.
	Store store.Store
	// PublicURL is the base URL users reach this server at. When it is
	// https, cookies are Secure and usable in a third-party iframe.
	PublicURL string
	// FrameAncestors is the CSP frame-ancestors source list: who may show
	// the portal in a frame. Empty means 'self'.
	FrameAncestors string
	// AllowPrivateNetworks lets endpoint URLs name private addresses, as
	// the API's option of that name does.
	AllowPrivateNetworks bool
	// NodeID names this node, for the console's list of a cluster's nodes.
	NodeID string
	// History, when set, is the node's counts over the last day, which
	// the console's overview charts.
	History History
	// AdminTokenHash is the SHA-256 of the bootstrap admin token, which
	// logs in to the console as stored admin tokens do; nil for none.
	AdminTokenHash []byte
	// Brand is how the portal presents itself to every app's customers;
	// an app's metadata may override it (see Brand).
	Brand Brand
	// Publisher makes the examples sent from the portal durable (the
	// server's group committer); nil writes each alone and calls Wake.
	Publisher ops.Publisher
	// Wake, when set, tells the dispatcher that deliveries are due now,
	// such as after a resend.
	Wake func()
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Events, when set, hears of the changes to endpoints, for the
	// operator's endpoints (see package opwebhook).
	Events ops.Events
	// Inbound, when set with a Store that keeps sources, serves the
	// console's pages of sources and the requests they receive.
	Inbound *inbound.Service
}

// server holds what the handlers share.
type server struct {
	st     store.Store
	ops    *ops.Service
	log    *slog.Logger
	clock  func() time.Time
	pages  map[string]*page
	assets *assets
	secure bool
	csp    string
	brand  Brand
	mux    *http.ServeMux
	// adminHash is Options.AdminTokenHash.
	adminHash []byte
	history   History
	nodeID    string
	// consoleCSP is the console's policy: it is never framed.
	consoleCSP string
	// in receives webhooks; nil when the server does not.
	in *inbound.Service
}

// New returns the pages as an http.Handler for the paths under /portal/.
// It fails when a template does not parse.
func New(opts Options) (http.Handler, error) {
	if err := opts.Brand.Validate(); err != nil {
		return nil, err
	}
	s := &server{st: opts.Store, log: opts.Logger, clock: opts.Now, mux: http.NewServeMux(), brand: opts.Brand,
		adminHash: opts.AdminTokenHash, history: opts.History, in: opts.Inbound, nodeID: opts.NodeID}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.ops = ops.New(ops.Options{Store: opts.Store, AllowPrivateNetworks: opts.AllowPrivateNetworks, Now: s.clock,
		Publisher: opts.Publisher, Wake: opts.Wake, Events: opts.Events, Inbound: opts.Inbound})
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Scheme == "https" {
		s.secure = true
	}
	ancestors := strings.TrimSpace(opts.FrameAncestors)
	if ancestors == "" {
		ancestors = "'self'"
	}
	s.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:%s; form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors
	s.consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.assets); err != nil {
		return nil, err
	}
	s.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveError(w, r, nil, errCrossOrigin)
	}))
	return s.headers(cop.Handler(s.mux)), nil
}

func (s *server) routes() {
	s.mux.Handle("GET /portal/static/", s.assets)
	s.mux.HandleFunc("GET /portal/brand.css", s.brandCSS)
	s.mux.HandleFunc("GET /portal/login", s.handle(s.loginForm))
	s.mux.HandleFunc("POST /portal/login", s.handle(s.login))
	s.mux.HandleFunc("POST /portal/logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /portal/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/portal/endpoints", http.StatusSeeOther)
	})

	s.appRoutes("/portal", s.authed)
	s.mux.HandleFunc("GET /portal/catalog", s.authed(s.catalog))

	// The console: an operator's pages, which show each app with the
	// portal's own pages under /console/apps/{app_id}.
	s.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /console/login", s.handle(s.consoleLoginForm))
	s.mux.HandleFunc("POST /console/login", s.handle(s.consoleLogin))
	s.mux.HandleFunc("POST /console/logout", s.consoleAuthed(s.consoleLogout))
	s.mux.HandleFunc("GET /console/{$}", s.consoleAuthed(s.overview))
	s.mux.HandleFunc("GET /console/apps", s.consoleAuthed(s.appList))
	s.mux.HandleFunc("GET /console/apps/{app_id}/{$}", s.consoleApp(s.appShow))
	s.mux.HandleFunc("POST /console/apps/{app_id}/portal", s.consoleApp(s.appPortal))
	s.appRoutes("/console/apps/{app_id}", s.consoleApp)
	s.mux.HandleFunc("GET /console/messages", s.consoleAuthed(s.allMessages))
	s.mux.HandleFunc("GET /console/event-types", s.consoleAuthed(s.eventTypeList))
	s.mux.HandleFunc("GET /console/event-types/new", s.consoleAuthed(s.eventTypeNew))
	s.mux.HandleFunc("POST /console/event-types", s.consoleAuthed(s.eventTypeCreate))
	s.mux.HandleFunc("GET /console/event-types/{name}/edit", s.consoleAuthed(s.eventTypeEdit))
	s.mux.HandleFunc("POST /console/event-types/{name}", s.consoleAuthed(s.eventTypeUpdate))
	s.mux.HandleFunc("GET /console/tokens", s.consoleAuthed(s.tokenList))
	s.mux.HandleFunc("POST /console/tokens", s.consoleAuthed(s.tokenCreate))
	s.mux.HandleFunc("POST /console/tokens/{token_id}/revoke", s.consoleAuthed(s.tokenRevoke))
	s.sourceRoutes()
	s.mux.HandleFunc("/console/", s.consoleAuthed(func(w http.ResponseWriter, r *http.Request, sess *session) error {
		return errPageNotFound
	}))
	s.mux.HandleFunc("/portal/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errPageNotFound
	}))
}

// appRoutes registers the pages of one app under prefix, each adapted by
// wrap, which finds the session and its app: the portal's, and the
// console's for any app.
func (s *server) appRoutes(prefix string, wrap func(func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc) {
	ep := prefix + "/endpoints/{endpoint_id}"
	s.mux.HandleFunc("GET "+prefix+"/endpoints", wrap(s.endpointList))
	s.mux.HandleFunc("GET "+prefix+"/endpoints/new", wrap(s.endpointNew))
	s.mux.HandleFunc("POST "+prefix+"/endpoints", wrap(s.endpointCreate))
	s.mux.HandleFunc("GET "+ep+"/edit", wrap(s.endpointEdit))
	s.mux.HandleFunc("POST "+ep, wrap(s.endpointUpdate))
	s.mux.HandleFunc("POST "+ep+"/enable", wrap(s.endpointEnable))
	s.mux.HandleFunc("POST "+ep+"/disable", wrap(s.endpointDisable))
	s.mux.HandleFunc("GET "+ep+"/delete", wrap(s.endpointDeleteConfirm))
	s.mux.HandleFunc("POST "+ep+"/delete", wrap(s.endpointDelete))
	s.mux.HandleFunc("GET "+ep, wrap(s.endpointShow))
	s.mux.HandleFunc("POST "+ep+"/example", wrap(s.endpointExample))
	s.mux.HandleFunc("POST "+ep+"/recover", wrap(s.endpointRecover))
	s.mux.HandleFunc("GET "+ep+"/secret", wrap(s.secretShow))
	s.mux.HandleFunc("POST "+ep+"/secret/rotate", wrap(s.secretRotate))

	msg := prefix + "/messages/{msg_id}"
	s.mux.HandleFunc("GET "+prefix+"/messages", wrap(s.messageList))
	s.mux.HandleFunc("GET "+msg, wrap(s.messageShow))
	s.mux.HandleFunc("POST "+msg+"/resend", wrap(s.messageResend))
	s.mux.HandleFunc("GET "+msg+"/attempts/{attempt_id}", wrap(s.attemptShow))
}

// maxFormBytes bounds a form post: the endpoint form with every event
// type of a large catalog ticked fits many times over.
const maxFormBytes = 1 << 20

// headers sets what every answer carries: the content security policy,
// no referrer (a login link must not leak), and no caching of pages; and
// it bounds request bodies.
func (s *server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/console/") {
			h.Set("Content-Security-Policy", s.consoleCSP)
		} else {
			h.Set("Content-Security-Policy", fmt.Sprintf(s.csp, ""))
		}
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		if !strings.HasPrefix(r.URL.Path, "/portal/static/") && r.URL.Path != "/portal/brand.css" {
			h.Set("Cache-Control", "no-store")
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// now returns the current time in UTC at the store's precision.
func (s *server) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}
