package hookline

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	fastjson "github.com/segmentio/encoding/json"
)

// PrefixSource and the other inbound ID prefixes.
const (
	PrefixSource   = "src_"
	PrefixReceived = "in_"
	PrefixRoute    = "rt_"
	PrefixRun      = "run_"
)

// Source is an inbound webhook source: an unguessable receive URL that a
// sender (GitHub, Stripe, any app) posts to, with how hookline verifies,
// answers and routes what arrives.
type Source struct {
	ID   string
	UID  string
	Name string
	// TokenHash is the SHA-256 of the token in the receive URL; the token
	// itself is shown once, when made, and never stored.
	TokenHash []byte
	// PrevTokenHash is the hash of the token replaced by the last rotation,
	// still accepted until PrevTokenExpires.
	PrevTokenHash    []byte
	PrevTokenExpires *time.Time
	// Methods are the HTTP methods accepted; POST when empty.
	Methods []string
	// MaxBodyBytes bounds a received body; larger ones are answered 413.
	MaxBodyBytes int64
	// Verification is the verify.Config of the source, as JSON.
	Verification json.RawMessage
	// Response is what the receive URL answers to an accepted request.
	Response SourceResponse
	// KeepRejected keeps requests that fail verification for inspection.
	KeepRejected bool
	// Handshakes lets the source answer providers' URL handshakes (such as
	// Slack's url_verification) itself.
	Handshakes bool
	Routes     []Route
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SourceResponse is the answer a source gives the sender.
type SourceResponse struct {
	Status      int    `json:"status"`
	Body        string `json:"body"`
	ContentType string `json:"contentType"`
}

// DefaultSourceResponse is what a source answers unless configured.
var DefaultSourceResponse = SourceResponse{Status: http.StatusOK, Body: `{"ok":true}`, ContentType: "application/json"}

// DefaultSourceMaxBody is the default bound of a received body.
const DefaultSourceMaxBody = 1 << 20

// RouteType says what a route does with a received request.
type RouteType string

// Route types.
const (
	// RouteForward forwards the request byte-for-byte to a URL through the
	// outbound delivery engine (retries, attempt log, SSRF guard).
	RouteForward RouteType = "forward"
	// RoutePublish publishes the request's JSON view into an outbound app
	// as a message, to fan out to its endpoints.
	RoutePublish RouteType = "publish"
	// RouteCommand runs a command defined by the operator in the server's
	// config file, with the body on stdin.
	RouteCommand RouteType = "command"
	// RouteHold keeps requests for an app to fetch by polling.
	RouteHold RouteType = "hold"
)

// Route is one thing a source does with each request it accepts.
type Route struct {
	ID     string      `json:"id"`
	Type   RouteType   `json:"type"`
	Filter RouteFilter `json:"filter"`
	// URL is the forward target.
	URL string `json:"url,omitempty"`
	// Sign adds hookline's Standard Webhooks signature to a forward, beside
	// the provider's own headers.
	Sign bool `json:"sign,omitempty"`
	// App and EventType say where a publish route publishes; an empty
	// EventType takes the request's own event type.
	App       string `json:"app,omitempty"`
	EventType string `json:"eventType,omitempty"`
	// Command names a command of the server's config file.
	Command string `json:"command,omitempty"`
}

// RouteFilter selects the requests a route acts on; an empty filter
// selects all.
type RouteFilter struct {
	// EventTypes matches the request's event type (such as GitHub's
	// X-GitHub-Event or Stripe's "type").
	EventTypes []string `json:"eventTypes,omitempty"`
	// Match holds JSON field paths in dot notation ("pull_request.state")
	// and the value each must have, compared as text.
	Match map[string]string `json:"match,omitempty"`
}

// Matches reports whether a request with this event type and JSON view
// passes the filter.
func (f *RouteFilter) Matches(eventType string, view *Fields) bool {
	if len(f.EventTypes) > 0 && !slices.Contains(f.EventTypes, eventType) {
		return false
	}
	for path, want := range f.Match {
		got, ok := view.Lookup(path)
		if !ok || got != want {
			return false
		}
	}
	return true
}

// Fields is a received request's JSON view as route filters, event type
// detection and commands look into it. A path is found in the view's bytes
// without decoding them into Go values, which would cost many times the
// body: the top level is indexed once, by the offsets of its members, and
// a deeper level is scanned when a path goes into it. A nil Fields, or one
// over a view that is not a JSON object, has no fields.
type Fields struct {
	view json.RawMessage
	// top holds, for each member of the top-level object in order, the
	// offsets in view of its quoted name and of its value: four a member.
	top     []uint32
	indexed bool
}

// NewFields returns the fields of a JSON view.
func NewFields(view json.RawMessage) *Fields {
	return &Fields{view: bytes.TrimSpace(view)}
}

// Lookup finds the value at a dot-separated path and returns it as text:
// strings as they are, null as "", other values as JSON.
func (f *Fields) Lookup(path string) (string, bool) {
	raw, ok := f.value(path)
	if !ok {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil
	case 'n':
		return "", true
	}
	// Other values read as encoding/json writes them back (numbers in
	// their shortest form, object keys sorted), as filters compare them.
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	b, err := json.Marshal(v)
	return string(b), err == nil
}

// String finds the string at a dot-separated path; false when there is
// none or the value there is not a string.
func (f *Fields) String(path string) (string, bool) {
	raw, ok := f.value(path)
	if !ok || raw[0] != '"' {
		return "", false
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// value returns the raw JSON at a path.
func (f *Fields) value(path string) ([]byte, bool) {
	if f == nil {
		return nil, false
	}
	if !f.indexed {
		f.indexed = true
		f.top = members(f.view, "", f.top[:0])
	}
	key, rest, more := strings.Cut(path, ".")
	var cur []byte
	for i := len(f.top) - 4; i >= 0; i -= 4 { // the last of a name wins, as in encoding/json
		if nameIs(f.view[f.top[i]:f.top[i+1]], key) {
			cur = f.view[f.top[i+2]:f.top[i+3]]
			break
		}
	}
	for cur != nil && more {
		key, rest, more = strings.Cut(rest, ".")
		spans := members(cur, key, nil)
		if len(spans) == 0 {
			return nil, false
		}
		n := len(spans) - 4
		cur = cur[spans[n+2]:spans[n+3]]
	}
	return cur, cur != nil
}

// members scans a JSON object's top level and appends to spans the
// offsets of each member's quoted name and value, four a member; with a
// name, only the members of that name. It appends nothing when obj is not
// a valid object.
func members(obj []byte, name string, spans []uint32) []uint32 {
	if len(obj) == 0 || obj[0] != '{' || len(obj) > math.MaxUint32 {
		return spans
	}
	orig := len(spans)
	t := fastjson.NewTokenizer(obj)
	defer t.Reset(nil) // returns the tokenizer's stack to its pool
	pos := func() uint32 { return uint32(len(obj) - t.Remaining()) }
	for t.Next() {
		if t.Depth != 1 || !t.IsKey {
			continue
		}
		keyStart, keyEnd := pos()-uint32(len(t.Value)), pos()
		want := name == "" || nameIs(t.Value, name)
		if !t.Next() || t.Delim != ':' || !t.Next() {
			return spans[:orig]
		}
		valStart := pos() - uint32(len(t.Value))
		if t.Delim == '{' || t.Delim == '[' {
			for t.Next() && (t.Depth != 1 || (t.Delim != '}' && t.Delim != ']')) {
			}
		}
		if want {
			spans = append(spans, keyStart, keyEnd, valStart, pos())
		}
	}
	if t.Err != nil {
		return spans[:orig]
	}
	return spans
}

// nameIs reports whether a quoted JSON string is name.
func nameIs(quoted []byte, name string) bool {
	if len(quoted) < 2 {
		return false
	}
	if raw := quoted[1 : len(quoted)-1]; bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == name
}

// Validate checks the fields a caller sets, but not the verification
// config, which the inbound package owns.
func (s *Source) Validate() error {
	var v ValidationError
	if s.Name == "" {
		v.add("name", "field required")
	}
	validUID(&v, s.UID)
	for _, m := range s.Methods {
		switch m {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			v.add("methods", "must be GET, POST, PUT, PATCH or DELETE")
		}
	}
	if s.MaxBodyBytes < 0 || s.MaxBodyBytes > 64<<20 {
		v.add("maxBodyBytes", "must be between 1 and 67108864 (64 MiB), or 0 for the default of 1 MiB")
	}
	if s.Response.Status < 200 || s.Response.Status > 299 {
		v.add("response.status", "must be a 2xx status, so that senders count the request as delivered")
	}
	seen := map[string]bool{}
	for i := range s.Routes {
		r := &s.Routes[i]
		if msg := checkName(r.ID, 128); msg != "" {
			v.add("routes.id", msg)
		}
		if seen[r.ID] {
			v.add("routes", "route IDs must be unique")
		}
		seen[r.ID] = true
		switch r.Type {
		case RouteForward:
			if msg := checkURL(r.URL); msg != "" {
				v.add("routes.url", msg)
			}
		case RoutePublish:
			if r.App == "" {
				v.add("routes.app", "a publish route needs the app to publish into")
			}
			if msg := checkName(r.EventType, maxName); r.EventType != "" && msg != "" {
				v.add("routes.eventType", msg)
			}
		case RouteCommand:
			if r.Command == "" {
				v.add("routes.command", "a command route needs the name of a command from the server's config file")
			}
		case RouteHold:
		default:
			v.add("routes.type", `must be "forward", "publish", "command" or "hold"`)
		}
	}
	return v.err()
}

// Accepts reports whether the source takes requests of this method.
func (s *Source) Accepts(method string) bool {
	if len(s.Methods) == 0 {
		return method == http.MethodPost
	}
	return slices.Contains(s.Methods, method)
}

// Holds reports whether the source keeps requests for polling.
func (s *Source) Holds() bool {
	return slices.ContainsFunc(s.Routes, func(r Route) bool { return r.Type == RouteHold })
}

// Received is one request a source received, kept exactly as it came but
// for the receive URL's token, which is the source's credential.
type Received struct {
	ID       string
	SourceID string
	Method   string
	// Path is the request's path with the token masked: /in/**** and
	// whatever followed the token.
	Path       string
	Query      string
	Headers    map[string][]string
	Body       []byte
	RemoteAddr string
	// Verified is false for a request that failed verification and was
	// kept for inspection; VerifyError says why.
	Verified    bool
	VerifyError string
	// View is a JSON rendering of a JSON, form or XML body, for filters and
	// display; nil when the body is none of these.
	View json.RawMessage
	// EventType is the provider's event type, when it names one.
	EventType string
	// DeliveryID is the provider's own ID of the delivery, used to spot a
	// sender's retries of a request already received.
	DeliveryID string
	CreatedAt  time.Time
}

// RunStatus is the state of a command run.
type RunStatus int

// Command run states.
const (
	RunPending RunStatus = iota
	RunRunning
	RunSucceeded
	RunFailed
)

// String names the state in words, as the API writes it.
func (st RunStatus) String() string {
	switch st {
	case RunPending:
		return "pending"
	case RunRunning:
		return "running"
	case RunSucceeded:
		return "succeeded"
	case RunFailed:
		return "failed"
	}
	return "unknown"
}

// Run is one execution, due or done, of a command route for a request.
type Run struct {
	ID         string
	ReceivedID string
	SourceID   string
	RouteID    string
	Command    string
	Status     RunStatus
	Attempts   int
	// NextAttempt is when the run is next due (for a running one, when its
	// lease ends); zero once finished.
	NextAttempt time.Time
	ExitCode    int
	Output      string
	Error       string
	UpdatedAt   time.Time
}
