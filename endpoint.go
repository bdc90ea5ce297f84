package hookline

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Format is the body encoding an endpoint receives.
type Format string

// The body formats webhooks use.
const (
	FormatJSON Format = "json" // the message payload as published
	FormatForm Format = "form" // application/x-www-form-urlencoded
	FormatXML  Format = "xml"  // application/xml
)

// Secret is one signing key of an endpoint. The current key has no expiry;
// keys replaced by a rotation keep signing until ExpiresAt.
type Secret struct {
	Key       []byte
	ExpiresAt *time.Time
}

// Endpoint is a URL that receives an app's messages.
type Endpoint struct {
	ID          string
	AppID       string
	UID         string
	URL         string
	Description string
	Version     int
	Disabled    bool
	// DisabledReason says why hookline disabled the endpoint by itself
	// (410 Gone, failing too long); empty when a user disabled it.
	DisabledReason string
	// RateLimit caps deliveries per second to this endpoint; nil means no
	// limit of its own.
	RateLimit *int
	// EventTypes filters messages by event type; empty means all.
	EventTypes []string
	// Channels filters messages by channel; empty means all.
	Channels []string
	Metadata map[string]string
	// Headers are sent with every delivery.
	Headers map[string]string
	Format  Format
	// Secrets holds the current signing key first, then rotated-out keys
	// that still sign until they expire.
	Secrets []Secret
	// FailingSince is the time of the first failed attempt since the last
	// success; nil while the endpoint is healthy.
	FailingSince *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// HopHeaders describe one HTTP connection, not the request it carries
// (RFC 9110, section 7.6.1), or, like Host and Content-Length, are set by
// each request for itself. hookline keeps none of them from a received
// request, sends none from a forwarded one, and takes none as an
// endpoint's custom header.
var HopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length"}

// reservedHeaders are set by hookline on every delivery and cannot be
// overridden by an endpoint's custom headers.
var reservedHeaders = []string{
	"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature", "Content-Type", "Content-Length",
	"Host", "Connection", "Transfer-Encoding", "User-Agent", "Svix-Id", "Svix-Timestamp", "Svix-Signature",
}

// Validate checks the fields a caller sets.
func (e *Endpoint) Validate() error {
	var v ValidationError
	if msg := checkURL(e.URL); msg != "" {
		v.add("url", msg)
	}
	validUID(&v, e.UID)
	if e.Version < 1 {
		v.add("version", "must be 1 or more")
	}
	validRate(&v, "rateLimit", e.RateLimit)
	validNames(&v, "eventTypes", e.EventTypes, 0)
	validNames(&v, "channels", e.Channels, 10)
	for _, c := range e.Channels {
		if len(c) > 128 {
			v.add("channels", "each channel must be at most 128 characters")
			break
		}
	}
	switch e.Format {
	case FormatJSON, FormatForm, FormatXML:
	default:
		v.add("format", `must be "json", "form" or "xml"`)
	}
	if msg := CheckHeaders(e.Headers); msg != "" {
		v.add("headers", msg)
	}
	return v.err()
}

// sensitiveHeaders are custom headers shown by name only, never by value,
// as Svix does: they usually carry credentials.
var sensitiveHeaders = []string{
	"x-auth-token", "x-api-key", "www-authenticate", "authorization", "proxy-authenticate", "proxy-authorization",
}

// SensitiveHeader reports whether a custom header's value is kept from
// view, whatever the case of its name.
func SensitiveHeader(name string) bool {
	return slices.Contains(sensitiveHeaders, strings.ToLower(name))
}

// CheckHeaders returns what is wrong with a set of custom headers, or "".
func CheckHeaders(h map[string]string) string {
	for k, val := range h {
		ck := http.CanonicalHeaderKey(k)
		if k == "" || strings.IndexFunc(k, notTokenChar) >= 0 {
			return "header names must be tokens: letters, digits and !#$%&'*+-.^_`|~, without spaces or colons"
		}
		if strings.IndexFunc(val, isControl) >= 0 {
			return "header values must not contain line breaks or other control characters"
		}
		if slices.Contains(reservedHeaders, ck) {
			return "header " + ck + " is set by hookline and cannot be overridden"
		}
		if slices.Contains(HopHeaders, ck) {
			return "header " + ck + " belongs to a single connection and is not sent with deliveries"
		}
	}
	return ""
}

// notTokenChar reports whether r may not appear in a header name
// (RFC 9110, section 5.6.2).
func notTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// isControl reports whether r may not appear in a header value: a control
// character other than the tab (RFC 9110, section 5.5).
func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

func checkURL(raw string) string {
	if raw == "" {
		return "field required"
	}
	if len(raw) > 65536 {
		return "must be at most 65536 characters"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http:// or https:// URL"
	}
	if u.User != nil {
		return "must not contain credentials; use custom headers instead"
	}
	return ""
}

func validNames(v *ValidationError, field string, names []string, max int) {
	if names == nil {
		return
	}
	if len(names) == 0 {
		v.add(field, "must hold at least one item, or be left out")
		return
	}
	if max > 0 && len(names) > max {
		v.add(field, "must hold at most "+strconv.Itoa(max)+" items")
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if msg := checkName(n, maxName); msg != "" {
			v.add(field, "items "+msg)
			return
		}
		if seen[n] {
			v.add(field, "items must be unique")
			return
		}
		seen[n] = true
	}
}

// EffectiveRateLimit is the limit deliveries to the endpoint keep to: its
// own, else its app's (appLimit); nil for none.
func (e *Endpoint) EffectiveRateLimit(appLimit *int) *int {
	if e.RateLimit != nil {
		return e.RateLimit
	}
	return appLimit
}

// Accepts reports whether the endpoint subscribes to a message of the given
// event type and channels. Disabled endpoints accept nothing.
func (e *Endpoint) Accepts(eventType string, channels []string) bool {
	if e.Disabled {
		return false
	}
	if len(e.EventTypes) > 0 && !slices.Contains(e.EventTypes, eventType) {
		return false
	}
	if len(e.Channels) > 0 {
		for _, c := range channels {
			if slices.Contains(e.Channels, c) {
				return true
			}
		}
		return false
	}
	return true
}

// SigningKeys returns the keys that sign a delivery at time now: the
// current key and any rotated-out key that has not yet expired.
func (e *Endpoint) SigningKeys(now time.Time) [][]byte {
	keys := make([][]byte, 0, len(e.Secrets))
	for _, s := range e.Secrets {
		if s.ExpiresAt == nil || now.Before(*s.ExpiresAt) {
			keys = append(keys, s.Key)
		}
	}
	return keys
}
