package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/webhook"
)

// Scheme names the way a sender proves that a request is its own.
type Scheme string

// The schemes a source can verify with.
const (
	// SchemeNone accepts every request. The receive URL's unguessable
	// token is then the only protection, as with senders that sign
	// nothing.
	SchemeNone Scheme = "none"
	// SchemeStandardWebhooks checks the webhook-id, webhook-timestamp and
	// webhook-signature headers of the Standard Webhooks specification,
	// which hookline itself sends.
	SchemeStandardWebhooks Scheme = "standard-webhooks"
	// SchemeSvix is Standard Webhooks under Svix's header names
	// (svix-id, svix-timestamp, svix-signature).
	SchemeSvix Scheme = "svix"
	// SchemeGitHub checks GitHub's X-Hub-Signature-256 header.
	SchemeGitHub Scheme = "github"
	// SchemeStripe checks Stripe's Stripe-Signature header.
	SchemeStripe Scheme = "stripe"
	// SchemeShopify checks Shopify's X-Shopify-Hmac-Sha256 header.
	SchemeShopify Scheme = "shopify"
	// SchemeSlack checks Slack's X-Slack-Signature and
	// X-Slack-Request-Timestamp headers.
	SchemeSlack Scheme = "slack"
	// SchemeHMAC checks an HMAC of the body in a header the source names,
	// with the algorithm, encoding and prefix it names, for senders that
	// sign in their own way.
	SchemeHMAC Scheme = "hmac"
	// SchemeBasic checks HTTP basic auth credentials, for senders that
	// can only put a user and password in the URL or the request.
	SchemeBasic Scheme = "basic"
	// SchemeAPIKey checks a key sent as is in a header.
	SchemeAPIKey Scheme = "api-key"
)

// schemes lists every scheme, in the order the documentation gives them.
var schemes = []Scheme{
	SchemeNone, SchemeStandardWebhooks, SchemeSvix, SchemeGitHub, SchemeStripe,
	SchemeShopify, SchemeSlack, SchemeHMAC, SchemeBasic, SchemeAPIKey,
}

// Schemes returns every scheme, in the order the documentation gives them.
func Schemes() []Scheme { return slices.Clone(schemes) }

// The hash algorithms of SchemeHMAC.
const (
	AlgorithmSHA1   = "sha1"
	AlgorithmSHA256 = "sha256"
	AlgorithmSHA512 = "sha512"
)

// The signature encodings of SchemeHMAC.
const (
	EncodingHex    = "hex"
	EncodingBase64 = "base64"
)

// Defaults for the fields a Config may leave empty.
const (
	// DefaultTolerance is the replay window of the timestamped schemes:
	// how far a request's timestamp may lie from the receiver's clock,
	// either way. It is what Stripe, Slack and Standard Webhooks
	// recommend.
	DefaultTolerance = webhook.DefaultTolerance
	// DefaultAPIKeyHeader is the header SchemeAPIKey reads when the
	// Config names none.
	DefaultAPIKeyHeader = "X-API-Key"
)

// Bounds on a Config, so that a stored one stays small and a request
// costs a bounded number of HMACs.
const (
	// MaxSecrets is how many secrets a Config may hold: enough for a
	// rotation with a spare.
	MaxSecrets = 10
	// maxSecretLen bounds one secret, key or credential, in bytes.
	maxSecretLen = 1024
	// maxHeaderLen bounds a header name and a prefix.
	maxHeaderLen = 128
	// MaxTolerance is the widest replay window a Config may ask for.
	// A wider one would make the timestamp check close to meaningless.
	MaxTolerance = 24 * time.Hour
)

// Config is how a source verifies the requests it receives. It is stored
// with the source and travels through the REST API as JSON, so its fields
// carry camelCase JSON names. Fields that a scheme does not use must be
// left empty; Validate says which ones a scheme takes.
type Config struct {
	// Scheme is how the sender proves a request is its own.
	Scheme Scheme `json:"scheme"`
	// Secrets are the values a request may match; any one will do, so a
	// secret is rotated by adding the new one, switching the sender over
	// and then removing the old one. Their meaning depends on the scheme:
	// the signing secret for the signed schemes (for Standard Webhooks and
	// Svix a "whsec_..." secret; for the others the string's own bytes
	// are the HMAC key), "user:password" for basic, and the accepted keys
	// for api-key.
	Secrets []string `json:"secrets,omitempty"`
	// Header is the header holding the signature (hmac, required) or the
	// key (api-key, default DefaultAPIKeyHeader).
	Header string `json:"header,omitempty"`
	// Algorithm is the hash of an hmac signature: sha1, sha256 (the
	// default) or sha512.
	Algorithm string `json:"algorithm,omitempty"`
	// Encoding is how an hmac signature is written: hex (the default) or
	// base64 (standard or URL alphabet, padded or not).
	Encoding string `json:"encoding,omitempty"`
	// Prefix is text before an hmac signature in its header, such as
	// "sha256="; it is matched without regard to case.
	Prefix string `json:"prefix,omitempty"`
	// Tolerance is the replay window of the timestamped schemes (stripe,
	// slack, standard-webhooks, svix) in whole seconds, in either
	// direction; zero means DefaultTolerance. Seconds rather than a Go
	// duration string, because every API client can write a number.
	Tolerance int `json:"tolerance,omitempty"`
}

// Validate checks that c can verify requests and says, for each field that
// is wrong, what to set instead. It returns a *hookline.ValidationError,
// which matches hookline.ErrInvalid; its locations are relative to the
// Config (["secrets", "1"]), so that a caller holding the Config in a
// field prefixes them with that field's own location. Messages never quote
// a secret.
func (c *Config) Validate() error {
	v := &validator{}
	spec, ok := schemeSpecs[c.Scheme]
	switch {
	case c.Scheme == "":
		v.add("is required: one of "+schemeList()+` ("none" accepts every request)`, "scheme")
	case !ok:
		v.add(fmt.Sprintf("unknown scheme %q: want one of %s", clip(string(c.Scheme)), schemeList()), "scheme")
	}
	if !ok {
		return v.err()
	}
	c.validateSecrets(v, spec)

	if c.Header != "" && !spec.header {
		v.add(fmt.Sprintf("scheme %s takes no header; only hmac and api-key do", c.Scheme), "header")
	}
	if spec.header {
		switch {
		case c.Header == "" && c.Scheme == SchemeHMAC:
			v.add("scheme hmac needs the name of the header that holds the signature, such as X-Signature", "header")
		case c.Header != "" && !validHeaderName(c.Header):
			v.add(fmt.Sprintf("must be an HTTP header name of 1 to %d letters, digits and !#$%%&'*+-.^_`|~", maxHeaderLen), "header")
		}
	}

	if c.Scheme == SchemeHMAC {
		if c.Algorithm != "" && newHash(c.Algorithm) == nil {
			v.add(fmt.Sprintf("unknown algorithm %q: want sha1, sha256 or sha512", clip(c.Algorithm)), "algorithm")
		}
		if c.Encoding != "" && c.Encoding != EncodingHex && c.Encoding != EncodingBase64 {
			v.add(fmt.Sprintf("unknown encoding %q: want hex or base64", clip(c.Encoding)), "encoding")
		}
		if len(c.Prefix) > maxHeaderLen || strings.IndexFunc(c.Prefix, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			v.add(fmt.Sprintf("must be at most %d printable ASCII characters without spaces, such as sha256=", maxHeaderLen), "prefix")
		}
	} else {
		for _, f := range []struct{ name, value string }{{"algorithm", c.Algorithm}, {"encoding", c.Encoding}, {"prefix", c.Prefix}} {
			if f.value != "" {
				v.add(fmt.Sprintf("scheme %s takes no %s; only hmac does", c.Scheme, f.name), f.name)
			}
		}
	}

	switch {
	case c.Tolerance != 0 && !spec.timestamped:
		v.add(fmt.Sprintf("scheme %s signs no timestamp, so it has no replay window; only stripe, slack, standard-webhooks and svix do", c.Scheme), "tolerance")
	case c.Tolerance < 0 || time.Duration(c.Tolerance)*time.Second > MaxTolerance:
		v.add(fmt.Sprintf("must be 1 to %d seconds, or 0 for the default of %d", int(MaxTolerance/time.Second), int(DefaultTolerance/time.Second)), "tolerance")
	}
	return v.err()
}

// validateSecrets checks the secrets of a scheme that takes them.
func (c *Config) validateSecrets(v *validator, spec schemeSpec) {
	if c.Scheme == SchemeNone {
		if len(c.Secrets) > 0 {
			v.add(`scheme none takes no secrets; choose another scheme to check them`, "secrets")
		}
		return
	}
	switch {
	case len(c.Secrets) == 0:
		v.add("scheme "+string(c.Scheme)+" needs at least one "+spec.secret, "secrets")
		return
	case len(c.Secrets) > MaxSecrets:
		v.add(fmt.Sprintf("holds %d items; at most %d are allowed (remove those no sender uses any more)", len(c.Secrets), MaxSecrets), "secrets")
		return
	}
	for i, s := range c.Secrets {
		loc := strconv.Itoa(i)
		switch {
		case s == "":
			v.add("is empty; want a "+spec.secret, "secrets", loc)
			continue
		case len(s) > maxSecretLen:
			v.add(fmt.Sprintf("is %d bytes; at most %d are allowed", len(s), maxSecretLen), "secrets", loc)
			continue
		// HTTP trims the whitespace around a header value, so a key with
		// any could never match; for the signing secrets it is almost
		// always a paste error. A password may hold spaces.
		case c.Scheme != SchemeBasic && strings.TrimSpace(s) != s:
			v.add("starts or ends with whitespace; paste it without", "secrets", loc)
			continue
		}
		switch c.Scheme {
		case SchemeStandardWebhooks, SchemeSvix:
			if strings.HasPrefix(s, "whpk_") || strings.HasPrefix(s, "whsk_") {
				v.add("is an asymmetric (ed25519) key; only symmetric whsec_ secrets are supported", "secrets", loc)
			} else if _, err := webhook.ParseSecret(s); err != nil {
				v.add("is not a signing secret: "+strings.TrimPrefix(err.Error(), "parse secret: "), "secrets", loc)
			}
		case SchemeStripe:
			// Stripe's API keys are easy to paste here by mistake and
			// would never match; the endpoint's secret starts whsec_.
			for _, p := range []string{"sk_", "rk_", "pk_"} {
				if strings.HasPrefix(s, p) {
					v.add("is a Stripe API key; use the webhook endpoint's signing secret, which starts with whsec_", "secrets", loc)
				}
			}
		case SchemeBasic:
			user, _, found := strings.Cut(s, ":")
			switch {
			case !found:
				v.add(`must be "user:password"`, "secrets", loc)
			case user == "" || len(s) == len(user)+1:
				v.add(`must be "user:password" with neither part empty`, "secrets", loc)
			case strings.ContainsFunc(s, isControl):
				v.add("must not hold control characters", "secrets", loc)
			}
		case SchemeAPIKey:
			if strings.ContainsFunc(s, isControl) {
				v.add("must not hold control characters, which no header can carry", "secrets", loc)
			}
		}
	}
}

// schemeSpec says which optional fields a scheme takes.
type schemeSpec struct {
	secret      string // what a secret is, for messages
	header      bool   // takes Header
	timestamped bool   // takes Tolerance
}

var schemeSpecs = map[Scheme]schemeSpec{
	SchemeNone:             {},
	SchemeStandardWebhooks: {secret: "signing secret (whsec_...)", timestamped: true},
	SchemeSvix:             {secret: "signing secret (whsec_...)", timestamped: true},
	SchemeGitHub:           {secret: "webhook secret"},
	SchemeStripe:           {secret: "endpoint signing secret (whsec_...)", timestamped: true},
	SchemeShopify:          {secret: "webhook signing secret (the app's client secret)"},
	SchemeSlack:            {secret: "signing secret", timestamped: true},
	SchemeHMAC:             {secret: "signing secret", header: true},
	SchemeBasic:            {secret: `"user:password" pair`},
	SchemeAPIKey:           {secret: "key", header: true},
}

func schemeList() string {
	names := make([]string, len(schemes))
	for i, s := range schemes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// tolerance returns c's replay window.
func (c *Config) tolerance() time.Duration {
	if c.Tolerance <= 0 {
		return DefaultTolerance
	}
	return min(time.Duration(c.Tolerance)*time.Second, MaxTolerance)
}

// validator collects field errors.
type validator struct {
	fields []hookline.FieldError
}

func (v *validator) add(msg string, loc ...string) {
	v.fields = append(v.fields, hookline.FieldError{Loc: slices.Clone(loc), Msg: msg, Type: "value_error"})
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &hookline.ValidationError{Fields: v.fields}
}

// validHeaderName reports whether s is an RFC 9110 field name (a token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > maxHeaderLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// clip shortens text taken from a request or a config for an error
// message, which may end up in a log line.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
