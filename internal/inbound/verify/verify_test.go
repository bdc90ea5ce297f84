package verify_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/inbound/verify"
	"github.com/hookline/hookline/webhook"
)

// now is the receiver's clock in these tests.
var now = time.Unix(1_700_000_000, 0)

const (
	body    = `{"id":"evt_1OaBc","object":"event","type":"invoice.paid"}`
	secret  = "s3cret-one"
	secret2 = "s3cret-two"
	// Standard Webhooks secrets: whsec_ and the base64 of 24 bytes.
	whsec  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	whsec2 = "whsec_dGhlIHNlY29uZCBrZXkgb2YgdGhlIHJvdGF0aW9u"
)

func mac(newHash func() hash.Hash, key string, parts ...string) []byte {
	m := hmac.New(newHash, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func hexMAC(newHash func() hash.Hash, key string, parts ...string) string {
	return hex.EncodeToString(mac(newHash, key, parts...))
}

func b64MAC(newHash func() hash.Hash, key string, parts ...string) string {
	return base64.StdEncoding.EncodeToString(mac(newHash, key, parts...))
}

// hdr builds a header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// verifyCase is one request checked against one Config. want is nil for a
// request that verifies, else the kind of failure; text, when set, is part
// of the error's message.
type verifyCase struct {
	name string
	cfg  verify.Config
	h    http.Header
	body string
	now  time.Time
	want error
	text string
}

func runVerifyCases(t *testing.T, cases []verifyCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at := tt.now
			if at.IsZero() {
				at = now
			}
			err := verify.Verify(&tt.cfg, tt.h, []byte(tt.body), at)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, verify.ErrUnverified) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Verify = %q, want it to say %q", err, tt.text)
			}
			// The error goes to logs: it must not quote a secret, a
			// signature or a key.
			for _, s := range tt.cfg.Secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes a secret", err)
				}
			}
			for _, vs := range tt.h {
				for _, v := range vs {
					if len(v) > 16 && strings.Contains(err.Error(), v) {
						t.Errorf("error %q quotes header value %q", err, v)
					}
				}
			}
		})
	}
}

func TestVerifyGitHub(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{secret}}
	rotating := verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{secret2, secret}}
	sig := "sha256=" + hexMAC(sha256.New, secret, body)
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: hdr("X-Hub-Signature-256", sig), body: body},
		{name: "empty body", cfg: cfg, h: hdr("X-Hub-Signature-256", "sha256="+hexMAC(sha256.New, secret)), body: ""},
		{name: "upper-case hex and prefix", cfg: cfg, h: hdr("X-Hub-Signature-256", strings.ToUpper(sig)), body: body},
		{name: "second secret in rotation matches", cfg: rotating, h: hdr("X-Hub-Signature-256", sig), body: body},
		{name: "tampered body", cfg: cfg, h: hdr("X-Hub-Signature-256", sig), body: body + " ", want: verify.ErrNoMatch,
			text: "X-Hub-Signature-256 does not match the source's secret"},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{"other", "another"}},
			h: hdr("X-Hub-Signature-256", sig), body: body, want: verify.ErrNoMatch, text: "none of the source's 2 secrets"},
		{name: "missing header", cfg: cfg, h: hdr("X-GitHub-Event", "push"), body: body, want: verify.ErrMissingHeader,
			text: "X-Hub-Signature-256 is absent"},
		{name: "only the SHA-1 header", cfg: cfg, h: hdr("X-Hub-Signature", "sha1="+hexMAC(sha1.New, secret, body)), body: body,
			want: verify.ErrMissingHeader, text: "SHA-1"},
		{name: "sha1 prefix", cfg: cfg, h: hdr("X-Hub-Signature-256", "sha1="+hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader, text: `does not start with "sha256="`},
		{name: "no prefix", cfg: cfg, h: hdr("X-Hub-Signature-256", hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader},
		{name: "base64 instead of hex", cfg: cfg, h: hdr("X-Hub-Signature-256", "sha256="+b64MAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader, text: "is not 64 hex digits"},
		{name: "truncated", cfg: cfg, h: hdr("X-Hub-Signature-256", sig[:len(sig)-2]), body: body, want: verify.ErrMalformedHeader},
		{name: "empty signature", cfg: cfg, h: hdr("X-Hub-Signature-256", "sha256="), body: body, want: verify.ErrMalformedHeader},
	})
}

func TestVerifyShopify(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeShopify, Secrets: []string{secret}}
	rotating := verify.Config{Scheme: verify.SchemeShopify, Secrets: []string{secret2, secret}}
	sig := b64MAC(sha256.New, secret, body)
	raw := mac(sha256.New, secret, body)
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: hdr("X-Shopify-Hmac-Sha256", sig), body: body},
		{name: "unpadded", cfg: cfg, h: hdr("X-Shopify-Hmac-Sha256", base64.RawStdEncoding.EncodeToString(raw)), body: body},
		{name: "URL alphabet", cfg: cfg, h: hdr("X-Shopify-Hmac-Sha256", base64.URLEncoding.EncodeToString(raw)), body: body},
		{name: "second secret in rotation matches", cfg: rotating, h: hdr("X-Shopify-Hmac-Sha256", sig), body: body},
		{name: "tampered body", cfg: cfg, h: hdr("X-Shopify-Hmac-Sha256", sig), body: strings.Replace(body, "paid", "void", 1),
			want: verify.ErrNoMatch},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeShopify, Secrets: []string{"other"}},
			h: hdr("X-Shopify-Hmac-Sha256", sig), body: body, want: verify.ErrNoMatch},
		{name: "missing header", cfg: cfg, h: hdr("X-Shopify-Topic", "orders/create"), body: body, want: verify.ErrMissingHeader,
			text: "X-Shopify-Hmac-Sha256"},
		{name: "hex instead of base64", cfg: cfg, h: hdr("X-Shopify-Hmac-Sha256", hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader, text: "is not the base64 of 32 bytes"},
		{name: "not base64", cfg: cfg, h: hdr("X-Shopify-Hmac-Sha256", "!!"+sig[2:]), body: body, want: verify.ErrMalformedHeader},
	})
}

// stripeHeader signs body at ts with each secret, as Stripe does while a
// secret is rolled.
func stripeHeader(ts time.Time, body string, secrets ...string) string {
	v := "t=" + unix(ts)
	for _, s := range secrets {
		v += ",v1=" + hexMAC(sha256.New, s, unix(ts), ".", body)
	}
	return v
}

func TestVerifyStripe(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{secret}}
	rotating := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{secret2, secret}}
	sent := now.Add(-30 * time.Second)
	sig := stripeHeader(sent, body, secret)
	v1 := hexMAC(sha256.New, secret, unix(sent), ".", body)
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: hdr("Stripe-Signature", sig), body: body},
		{name: "second secret in rotation matches", cfg: rotating, h: hdr("Stripe-Signature", sig), body: body},
		{name: "sender rolling its secret sends two v1", cfg: cfg, h: hdr("Stripe-Signature", stripeHeader(sent, body, "old-one", secret)), body: body},
		{name: "test-mode v0 beside v1", cfg: cfg, h: hdr("Stripe-Signature", sig+",v0="+strings.Repeat("0", 64)), body: body},
		{name: "unknown elements ignored", cfg: cfg, h: hdr("Stripe-Signature", "x=1,"+sig), body: body},
		{name: "a malformed v1 beside a good one", cfg: cfg, h: hdr("Stripe-Signature", "t="+unix(sent)+",v1=zz,v1="+v1), body: body},
		{name: "tampered body", cfg: cfg, h: hdr("Stripe-Signature", sig), body: body + "\n", want: verify.ErrNoMatch,
			text: "Stripe-Signature does not match the source's secret"},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"whsec_other"}},
			h: hdr("Stripe-Signature", sig), body: body, want: verify.ErrNoMatch},
		{name: "timestamp altered", cfg: cfg, h: hdr("Stripe-Signature", "t="+unix(sent.Add(time.Second))+",v1="+v1), body: body,
			want: verify.ErrNoMatch},
		{name: "missing header", cfg: cfg, h: hdr(), body: body, want: verify.ErrMissingHeader, text: "Stripe-Signature is absent"},
		{name: "no timestamp", cfg: cfg, h: hdr("Stripe-Signature", "v1="+v1), body: body, want: verify.ErrMalformedHeader,
			text: "no t= timestamp"},
		{name: "two timestamps", cfg: cfg, h: hdr("Stripe-Signature", sig+",t=1"), body: body, want: verify.ErrMalformedHeader},
		{name: "no v1", cfg: cfg, h: hdr("Stripe-Signature", "t="+unix(sent)+",v0="+v1), body: body, want: verify.ErrMalformedHeader,
			text: "no v1= signature"},
		{name: "v1 not hex", cfg: cfg, h: hdr("Stripe-Signature", "t="+unix(sent)+",v1=xyz"), body: body, want: verify.ErrMalformedHeader,
			text: "64 hex digits"},
		{name: "element without =", cfg: cfg, h: hdr("Stripe-Signature", sig+",garbage"), body: body, want: verify.ErrMalformedHeader},
		{name: "timestamp not a number", cfg: cfg, h: hdr("Stripe-Signature", "t=soon,v1="+v1), body: body, want: verify.ErrMalformedHeader,
			text: `"soon" is not Unix seconds`},
		{name: "negative timestamp", cfg: cfg, h: hdr("Stripe-Signature", "t=-5,v1="+v1), body: body, want: verify.ErrMalformedHeader},
		{name: "too many v1", cfg: cfg, h: hdr("Stripe-Signature", sig+strings.Repeat(",v1="+v1, 16)), body: body,
			want: verify.ErrMalformedHeader, text: "more than 16"},
		{name: "stale timestamp", cfg: cfg, h: hdr("Stripe-Signature", sig), body: body, now: sent.Add(5*time.Minute + time.Second),
			want: verify.ErrOutsideTolerance, text: "is 5m1s before now, more than the 5m0s allowed"},
		{name: "future timestamp", cfg: cfg, h: hdr("Stripe-Signature", sig), body: body, now: sent.Add(-6 * time.Minute),
			want: verify.ErrOutsideTolerance, text: "after now"},
		{name: "at the edge of the window", cfg: cfg, h: hdr("Stripe-Signature", sig), body: body, now: sent.Add(5 * time.Minute)},
		{name: "wider window set", cfg: verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{secret}, Tolerance: 600},
			h: hdr("Stripe-Signature", sig), body: body, now: sent.Add(9 * time.Minute)},
		{name: "far-future timestamp", cfg: cfg, h: hdr("Stripe-Signature", stripeHeader(time.Unix(999_999_999_999, 0), body, secret)),
			body: body, want: verify.ErrOutsideTolerance},
	})
}

func TestVerifySlack(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{secret}}
	rotating := verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{secret2, secret}}
	sent := now.Add(-time.Minute)
	ts := unix(sent)
	sig := "v0=" + hexMAC(sha256.New, secret, "v0:", ts, ":", body)
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body: body},
		{name: "second secret in rotation matches", cfg: rotating, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body: body},
		{name: "tampered body", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body: "token=x",
			want: verify.ErrNoMatch, text: "X-Slack-Signature does not match"},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{"other"}},
			h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body: body, want: verify.ErrNoMatch},
		{name: "timestamp altered", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", unix(sent.Add(time.Second)), "X-Slack-Signature", sig),
			body: body, want: verify.ErrNoMatch},
		{name: "missing signature", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts), body: body, want: verify.ErrMissingHeader,
			text: "X-Slack-Signature"},
		{name: "missing timestamp", cfg: cfg, h: hdr("X-Slack-Signature", sig), body: body, want: verify.ErrMissingHeader,
			text: "X-Slack-Request-Timestamp"},
		{name: "wrong version prefix", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v1="+sig[3:]), body: body,
			want: verify.ErrMalformedHeader, text: `does not start with "v0="`},
		{name: "signature not hex", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0=nothex"), body: body,
			want: verify.ErrMalformedHeader},
		{name: "timestamp not a number", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", "1.5e9", "X-Slack-Signature", sig), body: body,
			want: verify.ErrMalformedHeader},
		{name: "stale timestamp", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body: body,
			now: sent.Add(time.Hour), want: verify.ErrOutsideTolerance, text: "X-Slack-Request-Timestamp 2023-11-14T22:12:20Z is 1h0m0s before now"},
		{name: "future timestamp", cfg: cfg, h: hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body: body,
			now: sent.Add(-10 * time.Minute), want: verify.ErrOutsideTolerance, text: "after now"},
	})
}

// standardRequest returns the headers of a Standard Webhooks request,
// under the given header names, signed with each of secrets.
func standardRequest(t testing.TB, names [3]string, id string, ts time.Time, body string, secrets ...string) http.Header {
	t.Helper()
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		key, err := webhook.ParseSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = key
	}
	return hdr(names[0], id, names[1], unix(ts), names[2], webhook.SignatureHeader(keys, id, ts, []byte(body)))
}

var (
	stdNames  = [3]string{"webhook-id", "webhook-timestamp", "webhook-signature"}
	svixNames = [3]string{"svix-id", "svix-timestamp", "svix-signature"}
)

func TestVerifyStandardWebhooks(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec}}
	rotating := verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec2, whsec}}
	sent := now.Add(-10 * time.Second)
	good := standardRequest(t, stdNames, "msg_1", sent, body, whsec)
	with := func(name, value string) http.Header {
		h := good.Clone()
		h.Set(name, value)
		return h
	}
	without := func(name string) http.Header {
		h := good.Clone()
		h.Del(name)
		return h
	}
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: good, body: body},
		{name: "second secret in rotation matches", cfg: rotating, h: good, body: body},
		{name: "sender rotating signs twice", cfg: cfg, h: standardRequest(t, stdNames, "msg_1", sent, body, whsec2, whsec), body: body},
		{name: "secret without whsec_ prefix", cfg: verify.Config{Scheme: verify.SchemeStandardWebhooks,
			Secrets: []string{strings.TrimPrefix(whsec, "whsec_")}}, h: good, body: body},
		{name: "tampered body", cfg: cfg, h: good, body: body[1:], want: verify.ErrNoMatch, text: "webhook-signature does not match"},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec2}}, h: good, body: body,
			want: verify.ErrNoMatch},
		{name: "ID altered", cfg: cfg, h: with("webhook-id", "msg_2"), body: body, want: verify.ErrNoMatch},
		{name: "missing ID", cfg: cfg, h: without("webhook-id"), body: body, want: verify.ErrMissingHeader, text: "webhook-id absent"},
		{name: "missing everything", cfg: cfg, h: hdr(), body: body, want: verify.ErrMissingHeader,
			text: "webhook-id, webhook-timestamp, webhook-signature absent"},
		{name: "svix headers only", cfg: cfg, h: standardRequest(t, svixNames, "msg_1", sent, body, whsec), body: body,
			want: verify.ErrMissingHeader},
		{name: "malformed timestamp", cfg: cfg, h: with("webhook-timestamp", "yesterday"), body: body, want: verify.ErrMalformedHeader},
		{name: "malformed signature", cfg: cfg, h: with("webhook-signature", "garbage"), body: body, want: verify.ErrMalformedHeader,
			text: "webhook-signature holds no space-separated v1,<base64> signature"},
		{name: "only other versions", cfg: cfg, h: with("webhook-signature", "v1a,abcd"), body: body, want: verify.ErrNoMatch},
		{name: "stale timestamp", cfg: cfg, h: good, body: body, now: sent.Add(6 * time.Minute), want: verify.ErrOutsideTolerance,
			text: "webhook-timestamp"},
		{name: "future timestamp", cfg: cfg, h: good, body: body, now: sent.Add(-6 * time.Minute), want: verify.ErrOutsideTolerance},
		{name: "wider window set", cfg: verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec}, Tolerance: 3600},
			h: good, body: body, now: sent.Add(50 * time.Minute)},
	})
}

func TestVerifySvix(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec}}
	sent := now.Add(-10 * time.Second)
	good := standardRequest(t, svixNames, "msg_1", sent, body, whsec)
	partial := good.Clone()
	partial.Del("svix-signature")
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: good, body: body},
		{name: "standard header names", cfg: cfg, h: standardRequest(t, stdNames, "msg_1", sent, body, whsec), body: body},
		{name: "second secret in rotation matches", cfg: verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec2, whsec}},
			h: good, body: body},
		{name: "tampered body", cfg: cfg, h: good, body: "{}", want: verify.ErrNoMatch, text: "svix-signature does not match"},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec2}}, h: good, body: body,
			want: verify.ErrNoMatch},
		{name: "missing signature", cfg: cfg, h: partial, body: body, want: verify.ErrMissingHeader, text: "svix-signature absent"},
		{name: "missing everything", cfg: cfg, h: hdr(), body: body, want: verify.ErrMissingHeader},
		{name: "stale timestamp", cfg: cfg, h: good, body: body, now: sent.Add(time.Hour), want: verify.ErrOutsideTolerance,
			text: "svix-timestamp"},
	})
}

func TestVerifyHMAC(t *testing.T) {
	t.Parallel()
	cfg := func(alg, enc, prefix string, secrets ...string) verify.Config {
		if len(secrets) == 0 {
			secrets = []string{secret}
		}
		return verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Signature", Algorithm: alg, Encoding: enc, Prefix: prefix, Secrets: secrets}
	}
	runVerifyCases(t, []verifyCase{
		{name: "defaults: sha256 hex", cfg: cfg("", "", ""), h: hdr("X-Signature", hexMAC(sha256.New, secret, body)), body: body},
		{name: "sha1 hex", cfg: cfg("sha1", "hex", ""), h: hdr("X-Signature", hexMAC(sha1.New, secret, body)), body: body},
		{name: "sha512 base64", cfg: cfg("sha512", "base64", ""), h: hdr("X-Signature", b64MAC(sha512.New, secret, body)), body: body},
		{name: "prefix", cfg: cfg("sha256", "hex", "sha256="), h: hdr("X-Signature", "sha256="+hexMAC(sha256.New, secret, body)), body: body},
		{name: "header name in another case", cfg: cfg("", "", ""), h: hdr("x-signature", hexMAC(sha256.New, secret, body)), body: body},
		{name: "second secret in rotation matches", cfg: cfg("", "", "", secret2, secret), h: hdr("X-Signature", hexMAC(sha256.New, secret, body)),
			body: body},
		{name: "tampered body", cfg: cfg("", "", ""), h: hdr("X-Signature", hexMAC(sha256.New, secret, body)), body: "x", want: verify.ErrNoMatch},
		{name: "wrong secret", cfg: cfg("", "", "", "nope"), h: hdr("X-Signature", hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrNoMatch},
		{name: "missing header", cfg: cfg("", "", ""), h: hdr("X-Other", hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMissingHeader, text: "X-Signature is absent"},
		{name: "wrong prefix", cfg: cfg("sha256", "hex", "sha256="), h: hdr("X-Signature", "sha512="+hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader, text: `does not start with "sha256="`},
		{name: "prefix missing", cfg: cfg("sha256", "hex", "sha256="), h: hdr("X-Signature", hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader},
		{name: "base64 where hex is set", cfg: cfg("sha256", "hex", ""), h: hdr("X-Signature", b64MAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader},
		{name: "hex where base64 is set", cfg: cfg("sha256", "base64", ""), h: hdr("X-Signature", hexMAC(sha256.New, secret, body)), body: body,
			want: verify.ErrMalformedHeader},
		{name: "sha1 signature where sha256 is set", cfg: cfg("sha256", "hex", ""), h: hdr("X-Signature", hexMAC(sha1.New, secret, body)),
			body: body, want: verify.ErrMalformedHeader, text: "is not 64 hex digits"},
	})
}

func basicAuth(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestVerifyBasic(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeBasic, Secrets: []string{"stripe:correct horse"}}
	rotating := verify.Config{Scheme: verify.SchemeBasic, Secrets: []string{"stripe:new pass", "stripe:correct horse"}}
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: hdr("Authorization", basicAuth("stripe:correct horse"))},
		{name: "scheme name in lower case", cfg: cfg, h: hdr("Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte("stripe:correct horse")))},
		{name: "second credential in rotation matches", cfg: rotating, h: hdr("Authorization", basicAuth("stripe:correct horse"))},
		{name: "wrong password", cfg: cfg, h: hdr("Authorization", basicAuth("stripe:correct")), want: verify.ErrNoMatch,
			text: "Authorization does not match"},
		{name: "wrong user", cfg: cfg, h: hdr("Authorization", basicAuth("admin:correct horse")), want: verify.ErrNoMatch},
		{name: "missing header", cfg: cfg, h: hdr(), want: verify.ErrMissingHeader},
		{name: "bearer token", cfg: cfg, h: hdr("Authorization", "Bearer abc"), want: verify.ErrMalformedHeader, text: "not Basic"},
		{name: "not base64", cfg: cfg, h: hdr("Authorization", "Basic %%%"), want: verify.ErrMalformedHeader},
		{name: "no colon", cfg: cfg, h: hdr("Authorization", basicAuth("stripe")), want: verify.ErrMalformedHeader},
	})
}

func TestVerifyAPIKey(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeAPIKey, Secrets: []string{"key-0123456789abcdef"}}
	named := verify.Config{Scheme: verify.SchemeAPIKey, Header: "Authorization", Secrets: []string{"Bearer key-0123456789abcdef"}}
	rotating := verify.Config{Scheme: verify.SchemeAPIKey, Secrets: []string{"key-new", "key-0123456789abcdef"}}
	runVerifyCases(t, []verifyCase{
		{name: "valid in the default header", cfg: cfg, h: hdr("X-API-Key", "key-0123456789abcdef")},
		{name: "valid in a named header", cfg: named, h: hdr("Authorization", "Bearer key-0123456789abcdef")},
		{name: "second key in rotation matches", cfg: rotating, h: hdr("X-Api-Key", "key-0123456789abcdef")},
		{name: "wrong key", cfg: cfg, h: hdr("X-API-Key", "key-0123456789abcdeF"), want: verify.ErrNoMatch},
		{name: "prefix of the key", cfg: cfg, h: hdr("X-API-Key", "key-0123"), want: verify.ErrNoMatch},
		{name: "missing header", cfg: cfg, h: hdr(), want: verify.ErrMissingHeader, text: "X-API-Key is absent"},
		{name: "key in another header", cfg: named, h: hdr("X-API-Key", "Bearer key-0123456789abcdef"), want: verify.ErrMissingHeader,
			text: "Authorization is absent"},
	})
}

func TestVerifyNoneAcceptsAnything(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeNone}
	for _, h := range []http.Header{hdr(), hdr("X-Hub-Signature-256", "sha256=00")} {
		if err := verify.Verify(&cfg, h, []byte(body), now); err != nil {
			t.Errorf("Verify(none) = %v", err)
		}
	}
}

// TestVerifyFailsClosed checks that configurations Validate refuses verify
// nothing, rather than everything.
func TestVerifyFailsClosed(t *testing.T) {
	t.Parallel()
	sig := hdr("X-Hub-Signature-256", "sha256="+hexMAC(sha256.New, secret, body), "X-Signature", hexMAC(sha256.New, secret, body))
	tests := []struct {
		name string
		cfg  *verify.Config
	}{
		{"nil config", nil},
		{"empty scheme", &verify.Config{Secrets: []string{secret}}},
		{"unknown scheme", &verify.Config{Scheme: "gitlab", Secrets: []string{secret}}},
		{"no secrets", &verify.Config{Scheme: verify.SchemeGitHub}},
		{"unknown algorithm", &verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Signature", Algorithm: "md5", Secrets: []string{secret}}},
		{"unknown encoding", &verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Signature", Encoding: "b32", Secrets: []string{secret}}},
		{"hmac without header", &verify.Config{Scheme: verify.SchemeHMAC, Secrets: []string{secret}}},
		{"standard-webhooks with a plain secret", &verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{secret}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := sig.Clone()
			for k, v := range standardRequest(t, stdNames, "msg_1", now, body, whsec) {
				h[k] = v
			}
			err := verify.Verify(tt.cfg, h, []byte(body), now)
			if !errors.Is(err, verify.ErrUnverified) || !strings.Contains(err.Error(), "misconfigured") {
				t.Fatalf("Verify = %v, want a misconfigured ErrUnverified", err)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{secret}}
	err := verify.Verify(&cfg, hdr(), nil, now)
	const want = "verify github: unverified: missing header: X-Hub-Signature-256 is absent or empty"
	if err == nil || err.Error() != want {
		t.Errorf("Verify = %v, want %q", err, want)
	}
}

// body1K is a 1 KB JSON body, the size of a typical event.
var body1K = func() []byte {
	b := []byte(`{"id":"evt_1","object":"event","data":{"text":"`)
	b = append(b, bytes.Repeat([]byte("x"), 1024-len(b)-3)...)
	return append(b, `"}}`...)
}()

func BenchmarkVerifyGitHub(b *testing.B) {
	cfg := verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{secret}}
	h := hdr("X-Hub-Signature-256", "sha256="+hexMAC(sha256.New, secret, string(body1K)))
	b.SetBytes(int64(len(body1K)))
	b.ReportAllocs()
	for b.Loop() {
		if err := verify.Verify(&cfg, h, body1K, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyStripe(b *testing.B) {
	cfg := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{secret}}
	h := hdr("Stripe-Signature", stripeHeader(now, string(body1K), secret))
	b.SetBytes(int64(len(body1K)))
	b.ReportAllocs()
	for b.Loop() {
		if err := verify.Verify(&cfg, h, body1K, now); err != nil {
			b.Fatal(err)
		}
	}
}
