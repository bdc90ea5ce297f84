package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/inbound/verify"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
)

// maxPollWait is the longest an events long-poll holds a request, below
// the server's one-minute write timeout.
const maxPollWait = 60 * time.Second

// sourceRoutes registers the inbound routes when the server has an
// inbound service and a store that keeps sources.
func (s *server) sourceRoutes() {
	if s.in == nil {
		return
	}
	if _, ok := s.st.(store.InboundStore); !ok {
		return
	}
	const src = "/api/v1/source/{source_id}"
	s.route("GET /api/v1/source", s.sourceList)
	s.route("POST /api/v1/source", s.sourceCreate)
	s.route("GET "+src, s.sourceGet)
	s.route("PUT "+src, s.sourceUpdate)
	s.route("PATCH "+src, s.sourcePatch)
	s.route("DELETE "+src, s.sourceDelete)
	s.route("POST "+src+"/token/rotate", s.sourceRotate)
	s.route("GET "+src+"/request", s.paged(s.receivedList))
	s.route("GET "+src+"/request/{request_id}", s.receivedGet)
	s.route("POST "+src+"/request/{request_id}/replay", s.receivedReplay)
	s.route("GET "+src+"/events", s.sourceEvents)
	s.route("POST "+src+"/events/ack", s.sourceAck)
	s.route("GET "+src+"/stream", s.sourceStream)
}

// inbound returns the store as an InboundStore; sourceRoutes registers
// the routes that call it only when it is one.
func (s *server) inbound() store.InboundStore {
	return s.st.(store.InboundStore)
}

// routeWire is a route on the wire, in requests and responses alike.
type routeWire struct {
	// ID is generated when a request leaves it out.
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Filter    routeFilterWire `json:"filter"`
	URL       string          `json:"url,omitempty"`
	Sign      bool            `json:"sign,omitempty"`
	App       string          `json:"app,omitempty"`
	EventType string          `json:"eventType,omitempty"`
	Command   string          `json:"command,omitempty"`
}

// routeFilterWire is a route's filter: both fields are always present in
// a response, so a client can tell "all" ([] and {}) at a glance.
type routeFilterWire struct {
	EventTypes []string          `json:"eventTypes"`
	Match      map[string]string `json:"match"`
}

func routesFromWire(in []routeWire) []hookline.Route {
	out := make([]hookline.Route, len(in))
	for i, r := range in {
		id := r.ID
		if id == "" {
			id = hookline.NewID(hookline.PrefixRoute)
		}
		out[i] = hookline.Route{ID: id, Type: hookline.RouteType(r.Type), URL: r.URL, Sign: r.Sign, App: r.App,
			EventType: r.EventType, Command: r.Command,
			Filter: hookline.RouteFilter{EventTypes: nilIfEmpty(r.Filter.EventTypes), Match: r.Filter.Match}}
		if len(out[i].Filter.Match) == 0 {
			out[i].Filter.Match = nil
		}
	}
	return out
}

func routesToWire(in []hookline.Route) []routeWire {
	out := make([]routeWire, len(in))
	for i, r := range in {
		f := routeFilterWire{EventTypes: r.Filter.EventTypes, Match: orEmpty(r.Filter.Match)}
		if f.EventTypes == nil {
			f.EventTypes = []string{}
		}
		out[i] = routeWire{ID: r.ID, Type: string(r.Type), Filter: f, URL: r.URL, Sign: r.Sign, App: r.App,
			EventType: r.EventType, Command: r.Command}
	}
	return out
}

// sourceResponseWire is what a source answers its sender.
type sourceResponseWire struct {
	Status      int    `json:"status"`
	Body        string `json:"body"`
	ContentType string `json:"contentType"`
}

func (r *sourceResponseWire) domain() hookline.SourceResponse {
	if r == nil {
		return hookline.DefaultSourceResponse
	}
	out := hookline.SourceResponse{Status: r.Status, Body: r.Body, ContentType: r.ContentType}
	if out.Status == 0 {
		out.Status = http.StatusOK
	}
	return out
}

// sourceIn is the body of a create or a PUT.
type sourceIn struct {
	Name         string                 `json:"name"`
	UID          *string                `json:"uid"`
	Methods      []string               `json:"methods"`
	MaxBodyBytes int64                  `json:"maxBodyBytes"`
	Verification field[json.RawMessage] `json:"verification"`
	Response     *sourceResponseWire    `json:"response"`
	KeepRejected bool                   `json:"keepRejected"`
	Handshakes   bool                   `json:"handshakes"`
	Routes       []routeWire            `json:"routes"`
}

// apply sets every caller-settable field of src from in: a PUT replaces,
// except for the verification, which is kept when left out (send null to
// verify nothing), as are its secrets when only they are left out.
func (in *sourceIn) apply(src *hookline.Source) error {
	src.Name = in.Name
	src.UID = deref(in.UID)
	src.Methods = in.Methods
	src.MaxBodyBytes = in.MaxBodyBytes
	src.Response = in.Response.domain()
	src.KeepRejected = in.KeepRejected
	src.Handshakes = in.Handshakes
	src.Routes = routesFromWire(in.Routes)
	return setVerification(src, in.Verification)
}

// sourcePatch changes the fields present.
type sourcePatch struct {
	Name         field[string]             `json:"name"`
	UID          field[string]             `json:"uid"`
	Methods      field[[]string]           `json:"methods"`
	MaxBodyBytes field[int64]              `json:"maxBodyBytes"`
	Verification field[json.RawMessage]    `json:"verification"`
	Response     field[sourceResponseWire] `json:"response"`
	KeepRejected field[bool]               `json:"keepRejected"`
	Handshakes   field[bool]               `json:"handshakes"`
	Routes       field[[]routeWire]        `json:"routes"`
}

func (p *sourcePatch) apply(src *hookline.Source) error {
	src.Name = p.Name.valueOr(src.Name)
	if p.UID.Set {
		src.UID = p.UID.Value
	}
	if p.Methods.Set {
		src.Methods = p.Methods.Value
	}
	if p.MaxBodyBytes.Set {
		src.MaxBodyBytes = p.MaxBodyBytes.Value
	}
	if p.Response.Set {
		src.Response = p.Response.ptr().domain()
	}
	src.KeepRejected = p.KeepRejected.valueOr(src.KeepRejected)
	src.Handshakes = p.Handshakes.valueOr(src.Handshakes)
	if p.Routes.Set {
		src.Routes = routesFromWire(p.Routes.Value)
	}
	return setVerification(src, p.Verification)
}

// setVerification stores f in src when the request set it. Secrets left
// out keep the stored ones, if the scheme stays the same, so a client can
// change a header or tolerance without knowing the secrets; and a secret
// sent back masked, as a GET shows it, stands for the stored secret it
// masks, so a GET, edit, PUT round trip keeps it.
func setVerification(src *hookline.Source, f field[json.RawMessage]) error {
	switch {
	case !f.Set:
		return nil
	case f.Null:
		src.Verification = nil
		return nil
	}
	var cfg verify.Config
	// Decoded here, not by decode, so that a config that is not even an
	// object gets a 422 at its own location.
	if err := json.Unmarshal(f.Value, &cfg); err != nil {
		return hookline.Invalid([]string{"body", "verification"},
			`must be a verification object such as {"scheme": "github", "secrets": ["..."]}`)
	}
	var stored verify.Config
	if len(src.Verification) > 0 {
		_ = json.Unmarshal(src.Verification, &stored) // a stored config was valid when stored
	}
	if stored.Scheme == cfg.Scheme && cfg.Scheme != verify.SchemeNone {
		if cfg.Secrets == nil {
			cfg.Secrets = stored.Secrets
		}
		for i, sec := range cfg.Secrets {
			for _, old := range stored.Secrets {
				if sec == maskSecret(old) {
					cfg.Secrets[i] = old
					break
				}
			}
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	src.Verification = raw
	return nil
}

// maskSecret shows enough of a secret to tell which one it is, and no
// more: "****" and its last four characters, or "****" alone for a
// secret too short to spare them.
func maskSecret(s string) string {
	if utf8.RuneCountInString(s) < 12 {
		return "****"
	}
	r := []rune(s)
	return "****" + string(r[len(r)-4:])
}

// maskedVerification returns a source's verification config with its
// secrets masked, for every response: the secrets are the sender's, and
// the API never shows them back.
func maskedVerification(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage(`{"scheme":"none"}`)
	}
	var cfg verify.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return json.RawMessage(`null`)
	}
	for i, sec := range cfg.Secrets {
		cfg.Secrets[i] = maskSecret(sec)
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return out
}

// sourceOut is a source as the API shows it.
type sourceOut struct {
	ID   string  `json:"id"`
	UID  *string `json:"uid"`
	Name string  `json:"name"`
	// URL is the receive URL. It holds the token, which hookline does not
	// keep, so it is in the answers to a create and a rotation only.
	URL string `json:"url,omitempty"`
	// PrevTokenExpiresAt is when the URL replaced by the last rotation
	// stops working; left out when there is none.
	PrevTokenExpiresAt *time.Time         `json:"prevTokenExpiresAt,omitempty"`
	Methods            []string           `json:"methods"`
	MaxBodyBytes       int64              `json:"maxBodyBytes"`
	Verification       json.RawMessage    `json:"verification"`
	Response           sourceResponseWire `json:"response"`
	KeepRejected       bool               `json:"keepRejected"`
	Handshakes         bool               `json:"handshakes"`
	Routes             []routeWire        `json:"routes"`
	CreatedAt          time.Time          `json:"createdAt"`
	UpdatedAt          time.Time          `json:"updatedAt"`
}

// sourceToWire shows a source with its effective settings: the default
// method and body limit where it sets none.
func (s *server) sourceToWire(src *hookline.Source) sourceOut {
	methods := src.Methods
	if len(methods) == 0 {
		methods = []string{http.MethodPost}
	}
	maxBody := src.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = hookline.DefaultSourceMaxBody
	}
	out := sourceOut{
		ID:           src.ID,
		UID:          ptr(src.UID),
		Name:         src.Name,
		Methods:      methods,
		MaxBodyBytes: maxBody,
		Verification: maskedVerification(src.Verification),
		Response:     sourceResponseWire(src.Response),
		KeepRejected: src.KeepRejected,
		Handshakes:   src.Handshakes,
		Routes:       routesToWire(src.Routes),
		CreatedAt:    src.CreatedAt.UTC(),
		UpdatedAt:    src.UpdatedAt.UTC(),
	}
	if src.PrevTokenExpires != nil && len(src.PrevTokenHash) > 0 && src.PrevTokenExpires.After(s.now()) {
		t := src.PrevTokenExpires.UTC()
		out.PrevTokenExpiresAt = &t
	}
	return out
}

// source loads the source named by the {source_id} path value, an ID or
// a uid.
func (s *server) source(r *http.Request) (*hookline.Source, error) {
	return s.ops.Source(r.Context(), accessFrom(r.Context()), r.PathValue("source_id"))
}

// sourceWriteErr explains a conflict on a source write: uids are unique.
func sourceWriteErr(err error, src *hookline.Source) error {
	if errors.Is(err, hookline.ErrConflict) {
		return conflict("a source with uid " + quote(src.UID) + " already exists")
	}
	return lookup(err, "source", src.ID)
}

func (s *server) sourceList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixSource), orderable: true})
	if err := q.err(); err != nil {
		return err
	}
	srcs, done, err := s.ops.SourceList(r.Context(), accessFrom(r.Context()), p)
	if err != nil {
		return err
	}
	out := make([]sourceOut, len(srcs))
	for i := range srcs {
		out[i] = s.sourceToWire(&srcs[i])
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(o *sourceOut) string { return o.ID }))
	return nil
}

// sourceCreate creates a source with a new receive URL. Only the token's
// hash is stored, so the URL is in this answer and nowhere else.
func (s *server) sourceCreate(w http.ResponseWriter, r *http.Request) error {
	var in sourceIn
	if err := decode(r, &in); err != nil {
		return err
	}
	src, url, err := s.ops.SourceCreate(r.Context(), accessFrom(r.Context()), in.apply)
	if err != nil {
		return err
	}
	out := s.sourceToWire(src)
	out.URL = url
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *server) sourceGet(w http.ResponseWriter, r *http.Request) error {
	src, err := s.source(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.sourceToWire(src))
	return nil
}

// sourceUpdate replaces a source's settings; its token stays, and so does
// its verification when left out. Unlike apps, a PUT does not create a
// source: its URL would have to be shown, and a PUT answer is no place
// for a secret.
func (s *server) sourceUpdate(w http.ResponseWriter, r *http.Request) error {
	var in sourceIn
	if err := decode(r, &in); err != nil {
		return err
	}
	src, err := s.source(r)
	if err != nil {
		return err
	}
	before := src.Routes
	if err := in.apply(src); err != nil {
		return err
	}
	return s.saveSource(w, r, src, before)
}

func (s *server) sourcePatch(w http.ResponseWriter, r *http.Request) error {
	var p sourcePatch
	if err := decode(r, &p); err != nil {
		return err
	}
	src, err := s.source(r)
	if err != nil {
		return err
	}
	before := src.Routes
	if err := p.apply(src); err != nil {
		return err
	}
	return s.saveSource(w, r, src, before)
}

// saveSource validates and stores a source changed from one with the
// routes before, and brings its forward endpoints in line with its routes.
func (s *server) saveSource(w http.ResponseWriter, r *http.Request, src *hookline.Source, before []hookline.Route) error {
	src.UpdatedAt = s.now()
	if err := s.in.ValidateChange(src, before); err != nil {
		return err
	}
	if err := s.inbound().SourceUpdate(r.Context(), src); err != nil {
		return sourceWriteErr(err, src)
	}
	if err := s.in.SyncForwards(r.Context(), src); err != nil {
		return fmt.Errorf("update forwards of source: %w", err)
	}
	writeJSON(w, http.StatusOK, s.sourceToWire(src))
	return nil
}

func (s *server) sourceDelete(w http.ResponseWriter, r *http.Request) error {
	src, err := s.source(r)
	if err != nil {
		return err
	}
	if err := s.inbound().SourceDelete(r.Context(), src.ID); err != nil {
		return lookup(err, "source", src.ID)
	}
	// The source is gone first, so no new request is forwarded while its
	// forward app is deleted.
	if err := s.in.DeleteForwards(r.Context(), src); err != nil {
		return fmt.Errorf("delete forwards of source: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateIn is the body of a token rotation.
type rotateIn struct {
	// GracePeriodSeconds is how long the old URL keeps working; 0 ends it
	// at once.
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
}

// sourceRotate gives a source a new receive URL. The old one keeps working
// for the grace period, so senders can be moved over without losing
// requests; a second rotation within it ends the first one's old URL.
func (s *server) sourceRotate(w http.ResponseWriter, r *http.Request) error {
	var in rotateIn
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	var grace *time.Duration
	if in.GracePeriodSeconds != nil {
		n := *in.GracePeriodSeconds
		if n < 0 || n > int64(ops.MaxTokenGrace/time.Second) {
			n = -1 // out of range, however large: the operation says what is allowed
		}
		d := time.Duration(n) * time.Second
		grace = &d
	}
	src, url, err := s.ops.SourceRotate(r.Context(), accessFrom(r.Context()), r.PathValue("source_id"), grace)
	if err != nil {
		return err
	}
	out := s.sourceToWire(src)
	out.URL = url
	writeJSON(w, http.StatusOK, out)
	return nil
}

// receivedOut is a received request as the API shows it.
type receivedOut struct {
	ID       string              `json:"id"`
	SourceID string              `json:"sourceId"`
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Query    string              `json:"query"`
	Headers  map[string][]string `json:"headers"`
	// Body is the body as text when it is valid UTF-8, else null;
	// BodyBase64 always holds its exact bytes.
	Body        *string         `json:"body"`
	BodyBase64  string          `json:"bodyBase64"`
	RemoteAddr  string          `json:"remoteAddr"`
	Verified    bool            `json:"verified"`
	VerifyError *string         `json:"verifyError"`
	EventType   *string         `json:"eventType"`
	DeliveryID  *string         `json:"deliveryId"`
	View        json.RawMessage `json:"view"`
	ReceivedAt  time.Time       `json:"receivedAt"`
	// Runs are the request's command runs; lists leave them out.
	Runs []runOut `json:"runs,omitempty"`
}

// runOut is one command run of a received request.
type runOut struct {
	ID        string    `json:"id"`
	RouteID   string    `json:"routeId"`
	Command   string    `json:"command"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	ExitCode  int       `json:"exitCode"`
	Output    string    `json:"output"`
	Error     string    `json:"error"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// receivedToWire shows a received request. Its path is stored masked
// already; it is masked again for the requests that a node of an older
// version stored while a cluster was being upgraded.
func receivedToWire(x *hookline.Received) receivedOut {
	out := receivedOut{
		ID:          x.ID,
		SourceID:    x.SourceID,
		Method:      x.Method,
		Path:        inbound.MaskPath(x.Path),
		Query:       x.Query,
		Headers:     x.Headers,
		BodyBase64:  base64.StdEncoding.EncodeToString(x.Body),
		RemoteAddr:  x.RemoteAddr,
		Verified:    x.Verified,
		VerifyError: ptr(x.VerifyError),
		EventType:   ptr(x.EventType),
		DeliveryID:  ptr(x.DeliveryID),
		View:        x.View,
		ReceivedAt:  x.CreatedAt.UTC(),
	}
	if out.Headers == nil {
		out.Headers = map[string][]string{}
	}
	if utf8.Valid(x.Body) {
		body := string(x.Body)
		out.Body = &body
	}
	// A view is the body as JSON when encoding/json accepts it, which
	// allows more nesting than an answer holding it may have.
	if len(out.View) == 0 || hookline.JSONDeeper(out.View, hookline.MaxPayloadDepth) {
		out.View = json.RawMessage("null")
	}
	return out
}

// receivedItem is a received request in a list or a stream. It writes
// its own JSON, as the page is written: a request's body goes out twice
// (as text and base64), each appended to the answer straight from the
// stored bytes rather than built as strings first.
type receivedItem struct{ x *hookline.Received }

// receivedHead is a receivedOut without its body and view, which
// receivedItem appends after it: these fields, shallower than the
// embedded ones of the same names and always empty, leave them out.
type receivedHead struct {
	receivedOut
	Body       *string         `json:"body,omitempty"`
	BodyBase64 string          `json:"bodyBase64,omitempty"`
	View       json.RawMessage `json:"view,omitempty"`
}

func (r receivedItem) appendJSON(b []byte) ([]byte, error) {
	x := *r.x
	x.Body, x.View = nil, nil
	enc, err := json.Marshal(receivedHead{receivedOut: receivedToWire(&x)})
	if err != nil {
		return b, err
	}
	b = append(b, enc[:len(enc)-1]...)
	b = append(b, `,"body":`...)
	if utf8.Valid(r.x.Body) {
		b = appendString(b, r.x.Body)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"bodyBase64":"`...)
	b = base64.StdEncoding.AppendEncode(b, r.x.Body)
	b = append(b, `","view":`...)
	b = append(b, receivedToWire(&hookline.Received{View: r.x.View}).View...)
	return append(b, '}'), nil
}

// appendString appends s, valid UTF-8, as a JSON string.
func appendString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func receivedItems(reqs []hookline.Received) []receivedItem {
	out := make([]receivedItem, len(reqs))
	for i := range reqs {
		out[i] = receivedItem{&reqs[i]}
	}
	return out
}

func runsToWire(runs []hookline.Run) []runOut {
	out := make([]runOut, len(runs))
	for i, r := range runs {
		out[i] = runOut{ID: r.ID, RouteID: r.RouteID, Command: r.Command, Status: r.Status.String(),
			Attempts: r.Attempts, ExitCode: r.ExitCode, Output: r.Output, Error: r.Error, UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out
}

// receivedList lists a source's received requests, newest first.
// verified=true leaves out those that failed verification (kept with
// keepRejected), verified=false shows only them.
func (s *server) receivedList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixReceived), desc: true})
	rq := ops.ReceivedQuery{ReceivedFilter: store.ReceivedFilter{Page: p, Window: q.window(), EventTypes: q.eventTypes()}}
	if q.values.Has("verified") {
		if q.bool("verified", true) {
			rq.VerifiedOnly = true
		} else {
			rq.Rejected = true
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	_, page, err := s.ops.ReceivedList(r.Context(), accessFrom(r.Context()), r.PathValue("source_id"), rq)
	if err != nil {
		return err
	}
	l := newList(receivedItems(page.Reqs), page.Done, func(o *receivedItem) string { return o.x.ID })
	if page.Last != "" && !p.Prev {
		// Continue after the last request read, even one filtered out, so
		// the next page does not read it again.
		l.Iterator = &page.Last
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *server) receivedGet(w http.ResponseWriter, r *http.Request) error {
	_, x, runs, err := s.ops.Received(r.Context(), accessFrom(r.Context()), r.PathValue("source_id"), r.PathValue("request_id"))
	if err != nil {
		return err
	}
	out := receivedToWire(x)
	out.Runs = runsToWire(runs)
	if out.Runs == nil {
		out.Runs = []runOut{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// receivedReplay runs a stored request through the source's current
// routes again.
func (s *server) receivedReplay(w http.ResponseWriter, r *http.Request) error {
	if err := s.ops.Replay(r.Context(), accessFrom(r.Context()), r.PathValue("source_id"), r.PathValue("request_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// holdFilter returns whether a request passes the filter of any of the
// source's hold routes: those are the requests a polling app is given.
func holdFilter(src *hookline.Source) func(*hookline.Received) bool {
	var filters []hookline.RouteFilter
	for _, rt := range src.Routes {
		if rt.Type == hookline.RouteHold {
			filters = append(filters, rt.Filter)
		}
	}
	return func(x *hookline.Received) bool {
		view := hookline.NewFields(x.View)
		return slices.ContainsFunc(filters, func(f hookline.RouteFilter) bool { return f.Matches(x.EventType, view) })
	}
}

// holding loads the source in the path and refuses one that holds nothing
// for polling.
func (s *server) holding(r *http.Request) (*hookline.Source, error) {
	src, err := s.source(r)
	if err != nil {
		return nil, err
	}
	if !src.Holds() {
		return nil, conflict("source " + quote(src.ID) + ` has no "hold" route, so it keeps no events for polling; add a route {"type": "hold"}`)
	}
	return src, nil
}

// sourceEvents serves a polling app: the verified requests its source
// holds after a cursor, oldest first. With wait, an empty answer is held
// back until a request arrives or the wait ends (a long poll).
func (s *server) sourceEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	after := q.values.Get("after")
	if after != "" && !hookline.IsID(hookline.PrefixReceived, after) {
		q.fail("after", "must be the ID of a received request (in_...)")
	}
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixReceived)})
	var wait time.Duration
	if v := q.values.Get("wait"); v != "" {
		d, err := parseWait(v)
		if err != nil {
			q.fail("wait", err.Error())
		}
		wait = d
	}
	if after == "" {
		// The iterator of the last answer works in place of after, as
		// it does on every other list.
		after = p.Iterator
	}
	if err := q.err(); err != nil {
		return err
	}
	src, err := s.holding(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if after == "" {
		if after, err = s.inbound().SourceCursorGet(ctx, src.ID); err != nil {
			return lookup(err, "source", src.ID)
		}
	}
	if wait > 0 {
		// The poll outlives neither the server's read nor its write
		// timeout; both are set for ordinary requests.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Now().Add(wait + 30*time.Second))
	}
	deadline := time.Now().Add(wait)
	rq := ops.ReceivedQuery{ReceivedFilter: store.ReceivedFilter{Page: store.Page{Limit: p.Limit, Iterator: after}, VerifiedOnly: true},
		Keep: holdFilter(src)}
	var page ops.ReceivedPage
	for {
		changed := s.in.Changes(src.ID)
		if _, page, err = s.ops.ReceivedList(ctx, accessFrom(ctx), src.ID, rq); err != nil {
			return err
		}
		if page.Last != "" {
			rq.Iterator = page.Last
		}
		left := time.Until(deadline)
		// A page that is empty but not done read only requests the hold
		// routes filter out: answer, and let the client ask on at once.
		if len(page.Reqs) > 0 || !page.Done || left <= 0 || ctx.Err() != nil {
			break
		}
		// Each wait is bounded like a stream's: a request stored by
		// another node wakes no one here.
		inbound.WaitChange(ctx, changed, min(left, inbound.StreamPoll))
	}
	l := listOut[receivedItem]{Data: receivedItems(page.Reqs), Done: page.Done}
	if rq.Iterator != "" {
		l.Iterator = &rq.Iterator
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// parseWait reads a long-poll wait: a Go duration ("30s") or a number of
// seconds, at most maxPollWait.
func parseWait(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil {
			return 0, errors.New(`must be a duration such as "30s" or a number of seconds, at most 60`)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 || d > maxPollWait {
		return 0, errors.New("must be from 0 to 60 seconds")
	}
	return d, nil
}

// ackIn is the body of an acknowledgement.
type ackIn struct {
	ID string `json:"id"`
}

// sourceAck moves a source's acknowledged cursor forward to a request, so
// a poll without "after" starts past it. It never moves back.
func (s *server) sourceAck(w http.ResponseWriter, r *http.Request) error {
	var in ackIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if !hookline.IsID(hookline.PrefixReceived, in.ID) {
		return hookline.Invalid([]string{"body", "id"}, "must be the ID of a received request (in_...)")
	}
	src, err := s.holding(r)
	if err != nil {
		return err
	}
	if _, err := s.inbound().ReceivedGet(r.Context(), src.ID, in.ID); err != nil {
		return lookup(err, "request", in.ID)
	}
	if err := s.inbound().SourceCursorPut(r.Context(), src.ID, in.ID); err != nil {
		return lookup(err, "source", src.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sourceStream sends a source's verified requests as Server-Sent Events
// while the client stays connected: every request after the Last-Event-ID
// header, else after the "after" parameter, else after the newest one
// stored when the stream opens. It is what `hookline listen` reads.
func (s *server) sourceStream(w http.ResponseWriter, r *http.Request) error {
	after := r.Header.Get("Last-Event-ID")
	name := "Last-Event-ID"
	if after == "" {
		after, name = r.URL.Query().Get("after"), "after"
	}
	if after != "" && !hookline.IsID(hookline.PrefixReceived, after) {
		loc := []string{"query", "after"}
		if name != "after" {
			loc = []string{"header", "last-event-id"}
		}
		return hookline.Invalid(loc, "must be the ID of a received request (in_...)")
	}
	src, err := s.source(r)
	if err != nil {
		return err
	}
	return s.in.Stream(w, r, src, after, func(b []byte, x *hookline.Received) ([]byte, error) {
		return receivedItem{x}.appendJSON(b)
	})
}
