package verify_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/inbound/verify"
)

// fuzzConfigs covers every scheme and every hmac option.
var fuzzConfigs = []verify.Config{
	{Scheme: verify.SchemeNone},
	{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec, whsec2}},
	{Scheme: verify.SchemeSvix, Secrets: []string{whsec}},
	{Scheme: verify.SchemeGitHub, Secrets: []string{secret, secret2}},
	{Scheme: verify.SchemeStripe, Secrets: []string{secret}, Tolerance: 1},
	{Scheme: verify.SchemeShopify, Secrets: []string{secret}},
	{Scheme: verify.SchemeSlack, Secrets: []string{secret}},
	{Scheme: verify.SchemeHMAC, Header: "X-Sig", Secrets: []string{secret}},
	{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha1", Encoding: "base64", Prefix: "sha1=", Secrets: []string{secret}},
	{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Secrets: []string{secret}},
	{Scheme: verify.SchemeBasic, Secrets: []string{"u:p"}},
	{Scheme: verify.SchemeAPIKey, Secrets: []string{"k"}},
	// Invalid ones must fail without panicking too.
	{Scheme: verify.SchemeHMAC, Secrets: []string{secret}},
	{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{"not a secret"}},
	{Scheme: "unknown", Secrets: []string{secret}},
}

// parseHeaders reads "Name: value" lines, the form the fuzz corpus keeps
// headers in, taking whatever bytes it is given.
func parseHeaders(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		name, value, _ := strings.Cut(line, ":")
		h.Add(name, strings.TrimSpace(value))
	}
	return h
}

// FuzzVerify checks that no request, however malformed, makes Verify,
// DeliveryID or Handshake panic, and that Verify's failures are all
// ErrUnverified.
func FuzzVerify(f *testing.F) {
	ts := unix(now)
	stripe := stripeHeader(now, body, secret)
	std := standardRequest(f, stdNames, "msg_1", now, body, whsec)
	f.Add("X-Hub-Signature-256: sha256="+hexMAC(sha256.New, secret, body)+"\nX-GitHub-Delivery: d1", []byte(body), now.Unix())
	f.Add("Stripe-Signature: "+stripe, []byte(body), now.Unix())
	f.Add("Stripe-Signature: t=,v1=,v1,=,,", []byte(body), now.Unix())
	f.Add("X-Shopify-Hmac-Sha256: "+b64MAC(sha256.New, secret, body), []byte(body), now.Unix())
	f.Add("X-Slack-Request-Timestamp: "+ts+"\nX-Slack-Signature: v0="+hexMAC(sha256.New, secret, "v0:", ts, ":", body),
		[]byte(`{"type":"url_verification","challenge":"c"}`), now.Unix())
	f.Add("webhook-id: msg_1\nwebhook-timestamp: "+ts+"\nwebhook-signature: "+std.Get("webhook-signature"), []byte(body), now.Unix())
	f.Add("svix-id: msg_1\nsvix-timestamp: 99999999999999999999\nsvix-signature: v1,", []byte(body), int64(-1<<63))
	f.Add("X-Sig: sha1=AAAA\nAuthorization: Basic dTpw\nX-API-Key: k", []byte{}, int64(1<<62))
	f.Fuzz(func(t *testing.T, rawHeaders string, body []byte, clock int64) {
		h := parseHeaders(rawHeaders)
		at := time.Unix(clock, 0)
		for _, cfg := range fuzzConfigs {
			if err := verify.Verify(&cfg, h, body, at); err != nil && !errors.Is(err, verify.ErrUnverified) {
				t.Errorf("Verify(%s) = %v, not ErrUnverified", cfg.Scheme, err)
			}
			if id := verify.DeliveryID(&cfg, h, body); len(id) > 256 {
				t.Errorf("DeliveryID(%s) is %d bytes", cfg.Scheme, len(id))
			}
			verify.Handshake(&cfg, h, body)
		}
	})
}
