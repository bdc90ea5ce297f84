package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/hookline/hookline/webhook"
)

// ErrUnverified means a request failed verification and is to be refused.
// Every error Verify returns wraps it; most also wrap one of the kinds
// below, which say why in a way a caller can count.
var ErrUnverified = errors.New("unverified")

// Kinds of verification failure. Each wraps ErrUnverified.
var (
	// ErrMissingHeader means a header the scheme needs is absent or
	// empty: the sender does not sign, or the source has the wrong
	// scheme.
	ErrMissingHeader = fmt.Errorf("%w: missing header", ErrUnverified)
	// ErrMalformedHeader means a header is present but not in the
	// scheme's format, such as a signature that is not hex.
	ErrMalformedHeader = fmt.Errorf("%w: malformed header", ErrUnverified)
	// ErrOutsideTolerance means a signed timestamp lies further from the
	// receiver's clock than the replay window: a replay, or a clock that
	// is off.
	ErrOutsideTolerance = fmt.Errorf("%w: timestamp outside tolerance", ErrUnverified)
	// ErrNoMatch means the request is well formed but its signature,
	// credentials or key match none of the source's secrets: the body was
	// altered, or the source holds the wrong secret.
	ErrNoMatch = fmt.Errorf("%w: no match", ErrUnverified)
)

// Headers the provider schemes read.
const (
	headerGitHubSignature  = "X-Hub-Signature-256"
	headerGitHubSHA1       = "X-Hub-Signature"
	headerGitHubDelivery   = "X-GitHub-Delivery"
	headerStripeSignature  = "Stripe-Signature"
	headerShopifyHMAC      = "X-Shopify-Hmac-Sha256"
	headerShopifyWebhookID = "X-Shopify-Webhook-Id"
	headerSlackSignature   = "X-Slack-Signature"
	headerSlackTimestamp   = "X-Slack-Request-Timestamp"
	headerSvixID           = "svix-id"
	headerSvixTimestamp    = "svix-timestamp"
	headerSvixSignature    = "svix-signature"
	headerAuthorization    = "Authorization"
)

const (
	// slackVersion and stripeVersion are the signature versions the two
	// providers send today.
	slackVersion  = "v0"
	stripeVersion = "v1"
	// maxStripeSignatures bounds the v1 entries read from one header;
	// Stripe sends one per secret during a rotation.
	maxStripeSignatures = 16
	// maxTimestampDigits bounds a Unix timestamp: seconds up to the year
	// 33658, far from any overflow.
	maxTimestampDigits = 12
)

// Verify reports whether a request verifies under c: nil when it does,
// otherwise an error wrapping ErrUnverified whose text says precisely why,
// for the operator's log (the sender should be told no more than 401).
// h holds the request's headers and body its exact bytes as received;
// now is the receiver's clock, which the timestamped schemes compare
// with the signed timestamp.
//
// A request verifies when it matches any one of c.Secrets. Verify fails
// closed: a nil or invalid Config verifies nothing except SchemeNone, and
// says so in the error.
func Verify(c *Config, h http.Header, body []byte, now time.Time) error {
	if c == nil || c.Scheme == "" {
		return fmt.Errorf("verify: %w", misconfigured("no scheme"))
	}
	if c.Scheme == SchemeNone {
		return nil
	}
	if err := verify(c, h, body, now); err != nil {
		return fmt.Errorf("verify %s: %w", clip(string(c.Scheme)), err)
	}
	return nil
}

func verify(c *Config, h http.Header, body []byte, now time.Time) error {
	if _, ok := schemeSpecs[c.Scheme]; !ok {
		return misconfigured("unknown scheme")
	}
	if len(c.Secrets) == 0 {
		return misconfigured("no secrets")
	}
	switch c.Scheme {
	case SchemeGitHub:
		if h.Get(headerGitHubSignature) == "" && h.Get(headerGitHubSHA1) != "" {
			return fail(ErrMissingHeader, "%s is absent; the request carries only %s (SHA-1), which is not accepted", headerGitHubSignature, headerGitHubSHA1)
		}
		return verifyBodyMAC(macSpec{header: headerGitHubSignature, prefix: "sha256=", hash: sha256.New}, c.Secrets, h, body)
	case SchemeShopify:
		return verifyBodyMAC(macSpec{header: headerShopifyHMAC, hash: sha256.New, base64: true}, c.Secrets, h, body)
	case SchemeHMAC:
		return verifyHMAC(c, h, body)
	case SchemeStripe:
		return verifyStripe(c, h, body, now)
	case SchemeSlack:
		return verifySlack(c, h, body, now)
	case SchemeStandardWebhooks:
		return verifyStandard(c, h, body, now, standardHeaders)
	case SchemeSvix:
		// Svix's own libraries fall back to the standard names when a
		// svix-* header is missing, since Svix can send both.
		names := svixHeaders
		if !names.complete(h) && standardHeaders.present(h) {
			names = standardHeaders
		}
		return verifyStandard(c, h, body, now, names)
	case SchemeBasic:
		return verifyBasic(c, h)
	case SchemeAPIKey:
		return verifyAPIKey(c, h)
	}
	return misconfigured("unknown scheme")
}

// macSpec describes a signature over the body alone, in one header.
type macSpec struct {
	header string
	prefix string
	hash   func() hash.Hash
	base64 bool
}

// verifyBodyMAC checks the HMACs of GitHub, Shopify and the generic
// scheme.
func verifyBodyMAC(s macSpec, secrets []string, h http.Header, body []byte) error {
	v := h.Get(s.header)
	if v == "" {
		return fail(ErrMissingHeader, "%s is absent or empty", s.header)
	}
	enc, ok := cutPrefixFold(v, s.prefix)
	if !ok {
		return fail(ErrMalformedHeader, "%s does not start with %q", s.header, s.prefix)
	}
	size := s.hash().Size()
	sig, err := decodeMAC(enc, s.base64, size)
	if err != nil {
		return fail(ErrMalformedHeader, "%s %s", s.header, err)
	}
	for _, secret := range secrets {
		m := hmac.New(s.hash, []byte(secret))
		m.Write(body)
		if hmac.Equal(m.Sum(nil), sig) {
			return nil
		}
	}
	return noMatch(s.header, len(secrets))
}

func verifyHMAC(c *Config, h http.Header, body []byte) error {
	alg := c.Algorithm
	if alg == "" {
		alg = AlgorithmSHA256
	}
	newHash := newHash(alg)
	if newHash == nil {
		return misconfigured("unknown algorithm")
	}
	if c.Header == "" {
		return misconfigured("no header named")
	}
	var b64 bool
	switch c.Encoding {
	case "", EncodingHex:
	case EncodingBase64:
		b64 = true
	default:
		return misconfigured("unknown encoding")
	}
	return verifyBodyMAC(macSpec{header: c.Header, prefix: c.Prefix, hash: newHash, base64: b64}, c.Secrets, h, body)
}

// verifyStripe checks "Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]",
// where each v1 is the HMAC-SHA256 of "<t>.<body>" keyed with the
// endpoint's secret as text. Stripe sends one v1 per secret while a secret
// is being rolled, and a v0 in test mode, which is ignored as Stripe's
// own libraries ignore it.
func verifyStripe(c *Config, h http.Header, body []byte, now time.Time) error {
	v := h.Get(headerStripeSignature)
	if v == "" {
		return fail(ErrMissingHeader, "%s is absent or empty", headerStripeSignature)
	}
	var (
		ts    string
		sigs  [][]byte
		v1s   int
		count int
	)
	for part := range strings.SplitSeq(v, ",") {
		count++
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fail(ErrMalformedHeader, "%s element %d is not key=value", headerStripeSignature, count)
		}
		switch k {
		case "t":
			if ts != "" {
				return fail(ErrMalformedHeader, "%s holds more than one t= timestamp", headerStripeSignature)
			}
			if ts = val; ts == "" {
				return fail(ErrMalformedHeader, "%s has an empty t= timestamp", headerStripeSignature)
			}
		case stripeVersion:
			if v1s++; v1s > maxStripeSignatures {
				return fail(ErrMalformedHeader, "%s holds more than %d v1 signatures", headerStripeSignature, maxStripeSignatures)
			}
			// Like Stripe's libraries, skip a v1 that is not a
			// signature rather than refuse its neighbours.
			if sig, err := decodeMAC(val, false, sha256.Size); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	switch {
	case ts == "":
		return fail(ErrMalformedHeader, "%s has no t= timestamp", headerStripeSignature)
	case v1s == 0:
		return fail(ErrMalformedHeader, "%s has no v1= signature", headerStripeSignature)
	case len(sigs) == 0:
		return fail(ErrMalformedHeader, "%s has no v1= signature of 64 hex digits", headerStripeSignature)
	}
	if err := checkTimestamp(headerStripeSignature+" t=", ts, now, c.tolerance()); err != nil {
		return err
	}
	for _, secret := range c.Secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		want := m.Sum(nil)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				return nil
			}
		}
	}
	return noMatch(headerStripeSignature, len(c.Secrets))
}

// verifySlack checks "X-Slack-Signature: v0=<hex>", the HMAC-SHA256 of
// "v0:<X-Slack-Request-Timestamp>:<body>" keyed with the signing secret
// as text.
func verifySlack(c *Config, h http.Header, body []byte, now time.Time) error {
	ts, v := h.Get(headerSlackTimestamp), h.Get(headerSlackSignature)
	switch {
	case v == "":
		return fail(ErrMissingHeader, "%s is absent or empty", headerSlackSignature)
	case ts == "":
		return fail(ErrMissingHeader, "%s is absent or empty", headerSlackTimestamp)
	}
	enc, ok := cutPrefixFold(v, slackVersion+"=")
	if !ok {
		return fail(ErrMalformedHeader, "%s does not start with %q", headerSlackSignature, slackVersion+"=")
	}
	sig, err := decodeMAC(enc, false, sha256.Size)
	if err != nil {
		return fail(ErrMalformedHeader, "%s %s", headerSlackSignature, err)
	}
	if err := checkTimestamp(headerSlackTimestamp, ts, now, c.tolerance()); err != nil {
		return err
	}
	for _, secret := range c.Secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(slackVersion + ":"))
		m.Write([]byte(ts))
		m.Write([]byte{':'})
		m.Write(body)
		if hmac.Equal(m.Sum(nil), sig) {
			return nil
		}
	}
	return noMatch(headerSlackSignature, len(c.Secrets))
}

// headerNames are the names a Standard Webhooks sender uses.
type headerNames struct{ id, timestamp, signature string }

// complete reports whether h holds all three headers.
func (n headerNames) complete(h http.Header) bool {
	return h.Get(n.id) != "" && h.Get(n.timestamp) != "" && h.Get(n.signature) != ""
}

// present reports whether h holds any of the three headers.
func (n headerNames) present(h http.Header) bool {
	return h.Get(n.id) != "" || h.Get(n.timestamp) != "" || h.Get(n.signature) != ""
}

var (
	standardHeaders = headerNames{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature}
	svixHeaders     = headerNames{headerSvixID, headerSvixTimestamp, headerSvixSignature}
)

// verifyStandard checks a Standard Webhooks or Svix request. It checks
// the headers and the timestamp itself, so that its errors name the
// headers the sender actually used, and leaves the signatures to package
// webhook, which hookline signs its own deliveries with.
func verifyStandard(c *Config, h http.Header, body []byte, now time.Time, names headerNames) error {
	id, ts, sigs := h.Get(names.id), h.Get(names.timestamp), h.Get(names.signature)
	var missing []string
	for _, f := range []struct{ name, value string }{{names.id, id}, {names.timestamp, ts}, {names.signature, sigs}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fail(ErrMissingHeader, "%s absent or empty", strings.Join(missing, ", "))
	}
	if err := checkTimestamp(names.timestamp, ts, now, c.tolerance()); err != nil {
		return err
	}
	keys := make([][]byte, len(c.Secrets))
	for i, s := range c.Secrets {
		key, err := webhook.ParseSecret(s)
		if err != nil {
			return misconfigured(fmt.Sprintf("secret %d is not a whsec_ secret", i))
		}
		keys[i] = key
	}
	std := http.Header{}
	std.Set(webhook.HeaderID, id)
	std.Set(webhook.HeaderTimestamp, ts)
	std.Set(webhook.HeaderSignature, sigs)
	err := webhook.Verify(keys, std, body, now, c.tolerance())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, webhook.ErrNoMatchingSignature):
		return noMatch(names.signature, len(keys))
	case errors.Is(err, webhook.ErrTimestampTooOld), errors.Is(err, webhook.ErrTimestampTooNew):
		return fail(ErrOutsideTolerance, "%s", err)
	case errors.Is(err, webhook.ErrInvalidHeaders):
		return fail(ErrMalformedHeader, "%s holds no space-separated v1,<base64> signature", names.signature)
	}
	return fail(ErrMalformedHeader, "%s", err)
}

// verifyBasic checks "Authorization: Basic base64(user:password)".
func verifyBasic(c *Config, h http.Header) error {
	v := h.Get(headerAuthorization)
	if v == "" {
		return fail(ErrMissingHeader, "%s is absent or empty", headerAuthorization)
	}
	kind, cred, _ := strings.Cut(v, " ")
	if !strings.EqualFold(kind, "Basic") {
		return fail(ErrMalformedHeader, "%s is not Basic credentials", headerAuthorization)
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return fail(ErrMalformedHeader, "%s Basic credentials are not base64", headerAuthorization)
	}
	if !strings.Contains(string(dec), ":") {
		return fail(ErrMalformedHeader, "%s Basic credentials are not user:password", headerAuthorization)
	}
	if !matchAny(dec, c.Secrets) {
		return noMatch(headerAuthorization, len(c.Secrets))
	}
	return nil
}

// verifyAPIKey checks a key sent as is in a header.
func verifyAPIKey(c *Config, h http.Header) error {
	name := c.Header
	if name == "" {
		name = DefaultAPIKeyHeader
	}
	v := h.Get(name)
	if v == "" {
		return fail(ErrMissingHeader, "%s is absent or empty", name)
	}
	if !matchAny([]byte(v), c.Secrets) {
		return noMatch(name, len(c.Secrets))
	}
	return nil
}

// matchAny reports whether got equals one of secrets, in time that
// depends on neither got's nor the secrets' contents or lengths:
// subtle.ConstantTimeCompare returns early on a length mismatch, so both
// sides are hashed to a fixed size first, and every secret is compared
// even after a match.
func matchAny(got []byte, secrets []string) bool {
	sum := sha256.Sum256(got)
	match := 0
	for _, s := range secrets {
		want := sha256.Sum256([]byte(s))
		match |= subtle.ConstantTimeCompare(sum[:], want[:])
	}
	return match == 1
}

// checkTimestamp checks that a signed Unix timestamp lies within tol of
// now, either way. A timestamp too far in the future is refused like a
// stale one, since it would let a captured request be replayed for longer.
func checkTimestamp(name, text string, now time.Time, tol time.Duration) error {
	if text == "" || len(text) > maxTimestampDigits || strings.IndexFunc(text, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return fail(ErrMalformedHeader, "%s %q is not Unix seconds", name, clip(text))
	}
	var sec int64
	for i := 0; i < len(text); i++ {
		sec = sec*10 + int64(text[i]-'0')
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tol {
		return fail(ErrOutsideTolerance, "%s %s is %s before now, more than the %s allowed", name, ts.UTC().Format(time.RFC3339), d.Round(time.Second), tol)
	}
	if d := ts.Sub(now); d > tol {
		return fail(ErrOutsideTolerance, "%s %s is %s after now, more than the %s allowed", name, ts.UTC().Format(time.RFC3339), d.Round(time.Second), tol)
	}
	return nil
}

// decodeMAC decodes a signature of size bytes written in hex (either
// case) or base64 (standard or URL alphabet, padded or not). Its error
// completes a sentence that starts with the header's name.
func decodeMAC(s string, b64 bool, size int) ([]byte, error) {
	if !b64 {
		sig, err := hex.DecodeString(s)
		if err != nil || len(sig) != size {
			return nil, fmt.Errorf("is not %d hex digits (an HMAC of %d bytes)", 2*size, size)
		}
		return sig, nil
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	sig, err := enc.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(sig) != size {
		return nil, fmt.Errorf("is not the base64 of %d bytes (an HMAC of that size)", size)
	}
	return sig, nil
}

// newHash returns the hash of an hmac algorithm, or nil.
func newHash(alg string) func() hash.Hash {
	switch alg {
	case AlgorithmSHA1:
		return sha1.New
	case AlgorithmSHA256:
		return sha256.New
	case AlgorithmSHA512:
		return sha512.New
	}
	return nil
}

// cutPrefixFold is strings.CutPrefix without regard to ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// fail returns an error of kind with a detail.
func fail(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// noMatch says that what the request carried matched none of n secrets.
func noMatch(what string, n int) error {
	if n == 1 {
		return fail(ErrNoMatch, "%s does not match the source's secret", what)
	}
	return fail(ErrNoMatch, "%s matches none of the source's %d secrets", what, n)
}

// misconfigured reports a Config that Validate would have refused.
func misconfigured(what string) error {
	return fmt.Errorf("%w: misconfigured: %s (Config.Validate says what to fix)", ErrUnverified, what)
}
