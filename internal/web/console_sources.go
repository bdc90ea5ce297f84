package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound/verify"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
)

// sourceRoutes registers the console's pages of sources, when the server
// receives webhooks.
func (s *server) sourceRoutes() {
	if s.in == nil {
		return
	}
	if _, ok := s.st.(store.InboundStore); !ok {
		return
	}
	const src = "/console/sources/{source_id}"
	s.mux.HandleFunc("GET /console/sources", s.consoleAuthed(s.sourceList))
	s.mux.HandleFunc("GET /console/sources/new", s.consoleAuthed(s.sourceNew))
	s.mux.HandleFunc("POST /console/sources", s.consoleAuthed(s.sourceCreate))
	s.mux.HandleFunc("GET "+src, s.consoleAuthed(s.receivedList))
	s.mux.HandleFunc("GET "+src+"/rotate", s.consoleAuthed(s.sourceRotateConfirm))
	s.mux.HandleFunc("POST "+src+"/rotate", s.consoleAuthed(s.sourceRotate))
	s.mux.HandleFunc("GET "+src+"/replay", s.consoleAuthed(s.replayConfirm))
	s.mux.HandleFunc("POST "+src+"/replay", s.consoleAuthed(s.replayMatching))
	s.mux.HandleFunc("GET "+src+"/requests/{request_id}", s.consoleAuthed(s.receivedShow))
	s.mux.HandleFunc("POST "+src+"/requests/{request_id}/replay", s.consoleAuthed(s.receivedReplay))
	s.mux.HandleFunc("GET "+src+"/tail", s.consoleAuthed(s.sourceTail))
	s.mux.HandleFunc("GET "+src+"/stream", s.consoleAuthed(s.sourceStream))
}

// sourcesPage lists the sources.
type sourcesPage struct {
	basePage
	Sources      []sourceRow
	Newer, Older string
}

// sourceRow is a source as the list shows it: with its latest request,
// since the store counts no requests cheaply.
type sourceRow struct {
	*hookline.Source
	Provider string
	Routes   string
	Latest   *receivedRow
}

// provider names a source's verification scheme.
func provider(src *hookline.Source) string {
	var cfg verify.Config
	if len(src.Verification) == 0 || json.Unmarshal(src.Verification, &cfg) != nil || cfg.Scheme == "" {
		return string(verify.SchemeNone)
	}
	return string(cfg.Scheme)
}

// routeSummary lists a source's route types, such as "forward, hold".
func routeSummary(routes []hookline.Route) string {
	var types []string
	for _, r := range routes {
		if !slices.Contains(types, string(r.Type)) {
			types = append(types, string(r.Type))
		}
	}
	if len(types) == 0 {
		return "none"
	}
	return strings.Join(types, ", ")
}

func (s *server) sourceList(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	p, err := pageOf(r.URL.Query(), hookline.PrefixSource, pageSize)
	if err != nil {
		return err
	}
	srcs, done, err := s.ops.SourceList(ctx, sess.acc, p)
	if err != nil {
		return err
	}
	pg := sourcesPage{basePage: s.base(sess, "Sources", "sources")}
	for i := range srcs {
		row := sourceRow{Source: &srcs[i], Provider: provider(&srcs[i]), Routes: routeSummary(srcs[i].Routes)}
		// One indexed read a row: the newest request, kept or rejected.
		_, latest, err := s.ops.ReceivedList(ctx, sess.acc, srcs[i].ID,
			ops.ReceivedQuery{ReceivedFilter: store.ReceivedFilter{Page: store.Page{Limit: 1, Desc: true}}})
		if err != nil {
			return err
		}
		if len(latest.Reqs) > 0 {
			r := newReceivedRow(&latest.Reqs[0])
			row.Latest = &r
		}
		pg.Sources = append(pg.Sources, row)
	}
	if len(srcs) > 0 {
		pg.Newer, pg.Older = neighbours(p, done, srcs[0].ID, srcs[len(srcs)-1].ID)
	}
	return s.render(w, http.StatusOK, "console/sources", pg)
}

// sourceForm is the guided form of a new source: a provider and its
// secret, and the usual routes.
type sourceForm struct {
	Name, UID, Provider, Secret string
	KeepRejected                bool
	ForwardURL                  string
	ForwardSign                 bool
	Hold                        bool
	PublishApp, PublishType     string
	Command                     string
}

// providerChoice is a verification scheme as the form offers it.
type providerChoice struct {
	Scheme, Label, Secret string
}

// providerLabels say what each scheme is and what its secret is; hmac,
// which needs a header, algorithm and encoding, is set up through the API.
var providerLabels = map[verify.Scheme][2]string{
	verify.SchemeNone:             {"None: accept every request (the URL is the only secret)", ""},
	verify.SchemeStandardWebhooks: {"Standard Webhooks (hookline, and others)", "the whsec_ signing secret"},
	verify.SchemeSvix:             {"Svix", "the whsec_ signing secret"},
	verify.SchemeGitHub:           {"GitHub (X-Hub-Signature-256)", "the webhook's secret"},
	verify.SchemeStripe:           {"Stripe (Stripe-Signature)", "the endpoint's whsec_ signing secret"},
	verify.SchemeShopify:          {"Shopify (X-Shopify-Hmac-Sha256)", "the app's client secret"},
	verify.SchemeSlack:            {"Slack (X-Slack-Signature)", "the app's signing secret"},
	verify.SchemeBasic:            {"HTTP basic auth", "user:password"},
	verify.SchemeAPIKey:           {"API key in the X-API-Key header", "the key"},
}

func providerChoices() []providerChoice {
	var out []providerChoice
	for _, sc := range verify.Schemes() {
		if l, ok := providerLabels[sc]; ok {
			out = append(out, providerChoice{Scheme: string(sc), Label: l[0], Secret: l[1]})
		}
	}
	return out
}

// sourceFormPage is the form of a new source, and, once made, its URL.
type sourceFormPage struct {
	basePage
	Form      sourceForm
	Providers []providerChoice
	Errors    map[string]string
	// Problems are the errors in words, for the summary above the form.
	Problems []string
	// Source and URL are the source just made and its receive URL, shown
	// once.
	Source *hookline.Source
	URL    string
}

func (s *server) sourceNew(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	return s.renderSourceForm(w, sess, http.StatusOK, sourceFormPage{Form: sourceForm{Provider: string(verify.SchemeGitHub), Hold: true}})
}

func (s *server) renderSourceForm(w http.ResponseWriter, sess *session, status int, pg sourceFormPage) error {
	pg.basePage = s.base(sess, "New source", "sources")
	pg.Providers = providerChoices()
	if pg.Errors == nil {
		pg.Errors = map[string]string{}
	}
	if pg.Source != nil {
		pg.Title = "Source created"
	}
	return s.render(w, status, "console/source_new", pg)
}

func readSourceForm(r *http.Request) sourceForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return sourceForm{Name: v("name"), UID: v("uid"), Provider: v("provider"), Secret: v("secret"),
		KeepRejected: r.PostFormValue("keepRejected") != "", ForwardURL: v("forwardUrl"), ForwardSign: r.PostFormValue("forwardSign") != "",
		Hold: r.PostFormValue("hold") != "", PublishApp: v("publishApp"), PublishType: v("publishEventType"), Command: v("command")}
}

// apply sets up a new source from the form.
func (f *sourceForm) apply(src *hookline.Source) error {
	src.Name, src.UID, src.KeepRejected = f.Name, f.UID, f.KeepRejected
	src.Response = hookline.DefaultSourceResponse
	cfg := verify.Config{Scheme: verify.Scheme(f.Provider)}
	if f.Secret != "" {
		cfg.Secrets = []string{f.Secret}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	src.Verification = raw
	route := func(r hookline.Route) {
		r.ID = hookline.NewID(hookline.PrefixRoute)
		src.Routes = append(src.Routes, r)
	}
	if f.ForwardURL != "" {
		route(hookline.Route{Type: hookline.RouteForward, URL: f.ForwardURL, Sign: f.ForwardSign})
	}
	if f.PublishApp != "" {
		route(hookline.Route{Type: hookline.RoutePublish, App: f.PublishApp, EventType: f.PublishType})
	}
	if f.Command != "" {
		route(hookline.Route{Type: hookline.RouteCommand, Command: f.Command})
	}
	if f.Hold {
		route(hookline.Route{Type: hookline.RouteHold})
	}
	return nil
}

// sourceFieldOf names the form field a validation error's location is
// about.
func sourceFieldOf(loc []string) string {
	path := strings.Split(strings.Join(loc, "."), ".")
	last := path[len(path)-1]
	switch {
	case slices.Contains(path, "verification"):
		return "secret"
	case slices.Contains(path, "routes"):
		switch last {
		case "url":
			return "forwardUrl"
		case "app", "eventType":
			return "publishApp"
		case "command":
			return "command"
		}
		return "routes"
	}
	return last
}

func (s *server) sourceCreate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := readSourceForm(r)
	errs := map[string]string{}
	if !slices.ContainsFunc(providerChoices(), func(p providerChoice) bool { return p.Scheme == f.Provider }) {
		errs["provider"] = "Choose a provider."
	}
	if f.ForwardURL == "" && !f.Hold && f.PublishApp == "" && f.Command == "" {
		errs["routes"] = "Choose at least one route: a request with none is kept, and nothing more."
	}
	var (
		src *hookline.Source
		u   string
		err error
	)
	if len(errs) == 0 {
		src, u, err = s.ops.SourceCreate(r.Context(), sess.acc, f.apply)
	}
	var ve *hookline.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			k := sourceFieldOf(fe.Loc)
			if _, ok := errs[k]; !ok {
				errs[k] = fe.Msg
			}
		}
		err = nil
	}
	var oe *ops.Error
	if errors.As(err, &oe) && errors.Is(err, hookline.ErrConflict) {
		errs["uid"], err = oe.Detail+".", nil
	}
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		pg := sourceFormPage{Form: f, Errors: errs}
		for _, k := range []string{"name", "uid", "provider", "secret", "routes", "forwardUrl", "publishApp", "command"} {
			if m, ok := errs[k]; ok {
				pg.Problems = append(pg.Problems, m)
			}
		}
		return s.renderSourceForm(w, sess, http.StatusUnprocessableEntity, pg)
	}
	// The URL holds the token, of which only a hash is kept: it is shown
	// on this answer only, never in a redirect's URL.
	return s.renderSourceForm(w, sess, http.StatusCreated, sourceFormPage{Source: src, URL: u})
}

// rotatePage confirms a rotation of a source's receive URL and then shows
// the new one.
type rotatePage struct {
	basePage
	Source *hookline.Source
	// Grace is how long the old URL keeps working, in words.
	Grace string
	URL   string
	// OldUntil is when the old URL stops working, after a rotation.
	OldUntil *time.Time
}

func (s *server) sourceRotateConfirm(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := sess.acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	src, err := s.ops.Source(r.Context(), sess.acc, r.PathValue("source_id"))
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "console/source_rotate", rotatePage{basePage: s.base(sess, "Rotate receive URL", "sources"),
		Source: src, Grace: graceWords})
}

// graceWords says ops.DefaultTokenGrace.
var graceWords = strconv.Itoa(int(ops.DefaultTokenGrace/time.Hour)) + " hours"

func (s *server) sourceRotate(w http.ResponseWriter, r *http.Request, sess *session) error {
	src, u, err := s.ops.SourceRotate(r.Context(), sess.acc, r.PathValue("source_id"), nil)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "console/source_rotate", rotatePage{basePage: s.base(sess, "Receive URL rotated", "sources"),
		Source: src, Grace: graceWords, URL: u, OldUntil: src.PrevTokenExpires})
}

// sourcePath is the console path of a source.
func sourcePath(id string) string { return "/console/sources/" + url.PathEscape(id) }
