package verify_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v93/github"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	stripewebhook "github.com/stripe/stripe-go/v85/webhook"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookline/hookline/internal/inbound/verify"
)

// These tests check the provider schemes against code this package does
// not share: the providers' own libraries, or the libraries their
// specifications point to.

// stripeEvent is an event body as Stripe sends it, trimmed.
const stripeEvent = `{
  "id": "evt_1PabcDEFghiJKL",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1700000000,
  "data": {"object": {"id": "in_1", "object": "invoice", "status": "paid"}},
  "livemode": false,
  "pending_webhooks": 1,
  "type": "invoice.paid"
}`

func TestStripeGoSignedPayloadVerifies(t *testing.T) {
	t.Parallel()
	const stripeSecret = "whsec_test_secret"
	sent := now.Add(-42 * time.Second)
	signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
		Payload:   []byte(stripeEvent),
		Secret:    stripeSecret,
		Timestamp: sent,
	})
	rolled := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
		Payload:   []byte(stripeEvent),
		Secret:    "whsec_old_secret",
		Timestamp: sent,
	})
	// While a secret is rolled Stripe signs with both: one t, two v1.
	_, oldV1, _ := strings.Cut(rolled.Header, ",")
	both := signed.Header + "," + oldV1

	cfg := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{stripeSecret}}
	rotating := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"whsec_next_secret", stripeSecret}}
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: hdr("Stripe-Signature", signed.Header), body: stripeEvent},
		{name: "second secret in rotation matches", cfg: rotating, h: hdr("Stripe-Signature", signed.Header), body: stripeEvent},
		{name: "sender rolling its secret", cfg: cfg, h: hdr("Stripe-Signature", both), body: stripeEvent},
		{name: "old secret of a roll", cfg: verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"whsec_old_secret"}},
			h: hdr("Stripe-Signature", both), body: stripeEvent},
		{name: "tampered body", cfg: cfg, h: hdr("Stripe-Signature", signed.Header), body: strings.Replace(stripeEvent, "paid", "void", 1),
			want: verify.ErrNoMatch},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"whsec_other"}},
			h: hdr("Stripe-Signature", signed.Header), body: stripeEvent, want: verify.ErrNoMatch},
		{name: "stale", cfg: cfg, h: hdr("Stripe-Signature", signed.Header), body: stripeEvent,
			now: sent.Add(stripewebhook.DefaultTolerance + time.Second), want: verify.ErrOutsideTolerance},
	})
}

// TestStripeAgreesWithStripeGo runs stripe-go's own check and ours on the
// same headers. The clock is the signature's, since stripe-go reads the
// real one.
func TestStripeAgreesWithStripeGo(t *testing.T) {
	t.Parallel()
	const stripeSecret = "whsec_test_secret"
	sent := now
	gen := func(secret, scheme string) string {
		return stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
			Payload: []byte(stripeEvent), Secret: secret, Timestamp: sent, Scheme: scheme,
		}).Header
	}
	good := gen(stripeSecret, "")
	_, goodV1, _ := strings.Cut(good, ",")
	_, otherV1, _ := strings.Cut(gen("whsec_other", ""), ",")
	tests := []struct {
		name   string
		header string
		body   string
	}{
		{"valid", good, stripeEvent},
		{"tampered body", good, stripeEvent + " "},
		{"signed with another secret", gen("whsec_other", ""), stripeEvent},
		{"two v1, second matches", "t=" + unix(sent) + "," + otherV1 + "," + goodV1, stripeEvent},
		{"v0 only", gen(stripeSecret, "v0"), stripeEvent},
		{"v1 not hex beside a good one", "t=" + unix(sent) + ",v1=nothex," + goodV1, stripeEvent},
		{"unknown element", good + ",v2=abc", stripeEvent},
		{"no timestamp", goodV1, stripeEvent},
		{"timestamp not a number", "t=now," + goodV1, stripeEvent},
		{"element without =", good + ",junk", stripeEvent},
		{"empty", "", stripeEvent},
	}
	cfg := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{stripeSecret}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			theirs := stripewebhook.ValidatePayloadIgnoringTolerance([]byte(tt.body), tt.header, stripeSecret)
			ours := verify.Verify(&cfg, hdr("Stripe-Signature", tt.header), []byte(tt.body), sent)
			if (theirs == nil) != (ours == nil) {
				t.Errorf("stripe-go says %v, Verify says %v", theirs, ours)
			}
		})
	}
}

// TestStripeHelperMatchesStripeGo checks that the helper the table tests
// sign with makes headers that stripe-go, reading the real clock, accepts
// and turns into the event whose ID DeliveryID reports.
func TestStripeHelperMatchesStripeGo(t *testing.T) {
	t.Parallel()
	const stripeSecret = "whsec_test_secret"
	header := stripeHeader(time.Now(), stripeEvent, stripeSecret)
	event, err := stripewebhook.ConstructEventWithOptions([]byte(stripeEvent), header, stripeSecret,
		stripewebhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		t.Fatalf("stripe-go refuses our header: %v", err)
	}
	cfg := verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{stripeSecret}}
	if got := verify.DeliveryID(&cfg, hdr("Stripe-Signature", header), []byte(stripeEvent)); got != event.ID {
		t.Errorf("DeliveryID = %q, stripe-go reads event ID %q", got, event.ID)
	}
}

func TestStandardWebhooksLibrarySignatureVerifies(t *testing.T) {
	t.Parallel()
	sent := now.Add(-time.Second)
	sign := func(secret, id string) string {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(id, sent, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	sig := sign(whsec, "msg_2Lxyz")
	good := hdr("webhook-id", "msg_2Lxyz", "webhook-timestamp", unix(sent), "webhook-signature", sig)
	rolled := hdr("webhook-id", "msg_2Lxyz", "webhook-timestamp", unix(sent),
		"webhook-signature", sign(whsec2, "msg_2Lxyz")+" "+sig)
	cfg := verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec}}
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: good, body: body},
		{name: "second secret in rotation matches", cfg: verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec2, whsec}},
			h: good, body: body},
		{name: "sender signing with two secrets", cfg: cfg, h: rolled, body: body},
		{name: "tampered body", cfg: cfg, h: good, body: body + "x", want: verify.ErrNoMatch},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec2}}, h: good, body: body,
			want: verify.ErrNoMatch},
		{name: "stale", cfg: cfg, h: good, body: body, now: sent.Add(10 * time.Minute), want: verify.ErrOutsideTolerance},
	})
}

func TestSvixLibrarySignatureVerifies(t *testing.T) {
	t.Parallel()
	sent := now.Add(-time.Second)
	wh, err := svix.NewWebhook(whsec)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign("msg_svix1", sent, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	good := hdr("svix-id", "msg_svix1", "svix-timestamp", unix(sent), "svix-signature", sig)
	cfg := verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec}}
	runVerifyCases(t, []verifyCase{
		{name: "valid", cfg: cfg, h: good, body: body},
		{name: "tampered body", cfg: cfg, h: good, body: "{}", want: verify.ErrNoMatch},
		{name: "wrong secret", cfg: verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec2}}, h: good, body: body,
			want: verify.ErrNoMatch},
	})
	// Svix's own verifier agrees on what it signed, with svix-* headers
	// and with the standard ones it falls back to.
	if err := wh.VerifyIgnoringTimestamp([]byte(body), good); err != nil {
		t.Errorf("svix refuses its own signature: %v", err)
	}
}

// TestSvixFallbackAgreesWithSvix checks the header fallback against Svix's
// library: both use the webhook-* names when a svix-* one is missing.
func TestSvixFallbackAgreesWithSvix(t *testing.T) {
	t.Parallel()
	sent := now
	wh, err := svix.NewWebhook(whsec)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign("msg_1", sent, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		h    http.Header
	}{
		{"svix names", hdr("svix-id", "msg_1", "svix-timestamp", unix(sent), "svix-signature", sig)},
		{"standard names", hdr("webhook-id", "msg_1", "webhook-timestamp", unix(sent), "webhook-signature", sig)},
		{"partial svix, full standard", hdr("svix-id", "msg_1",
			"webhook-id", "msg_1", "webhook-timestamp", unix(sent), "webhook-signature", sig)},
		{"partial svix only", hdr("svix-id", "msg_1", "svix-signature", sig)},
		{"wrong id under svix names", hdr("svix-id", "msg_2", "svix-timestamp", unix(sent), "svix-signature", sig)},
	}
	cfg := verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			theirs := wh.VerifyIgnoringTimestamp([]byte(body), tt.h)
			ours := verify.Verify(&cfg, tt.h, []byte(body), sent)
			if (theirs == nil) != (ours == nil) {
				t.Errorf("svix says %v, Verify says %v", theirs, ours)
			}
		})
	}
}

// githubAgrees runs go-github's ValidateSignature and our GitHub verifier
// on one input and reports a disagreement. Two are by design and skipped:
// go-github also takes sha1= and sha512= signatures, which a
// X-Hub-Signature-256 header never carries, and we take the sha256=
// prefix in any letter case.
func githubAgrees(t *testing.T, secret, body, sig string) {
	t.Helper()
	prefix, _, _ := strings.Cut(sig, "=")
	if prefix != "sha256" && strings.EqualFold(prefix, "sha256") || prefix == "sha1" || prefix == "sha512" {
		return
	}
	theirs := github.ValidateSignature(sig, []byte(body), []byte(secret))
	cfg := verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{secret}}
	ours := verify.Verify(&cfg, hdr("X-Hub-Signature-256", sig), []byte(body), now)
	if (theirs == nil) != (ours == nil) {
		t.Errorf("secret %q body %q signature %q: go-github says %v, Verify says %v", secret, body, sig, theirs, ours)
	}
	if ours != nil && !errors.Is(ours, verify.ErrUnverified) {
		t.Errorf("Verify = %v, want ErrUnverified", ours)
	}
}

func TestGitHubAgreesWithGoGitHub(t *testing.T) {
	t.Parallel()
	good := "sha256=" + hexMAC(sha256.New, secret, body)
	tests := []struct {
		name, secret, body, sig string
	}{
		{"valid", secret, body, good},
		{"documented example", "It's a Secret to Everybody", "Hello, World!",
			"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		{"upper-case hex", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256="))},
		{"tampered body", secret, body + " ", good},
		{"wrong secret", "other", body, good},
		{"empty body", secret, "", "sha256=" + hexMAC(sha256.New, secret, "")},
		{"empty secret", "", body, "sha256=" + hexMAC(sha256.New, "", body)},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256=")},
		{"unknown prefix", secret, body, "md5=" + strings.TrimPrefix(good, "sha256=")},
		{"not hex", secret, body, "sha256=" + strings.Repeat("z", 64)},
		{"odd length", secret, body, good[:len(good)-1]},
		{"short", secret, body, good[:len(good)-2]},
		{"empty", secret, body, ""},
		{"prefix only", secret, body, "sha256="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			githubAgrees(t, tt.secret, tt.body, tt.sig)
		})
	}
}

func FuzzGitHubAgreesWithGoGitHub(f *testing.F) {
	f.Add(secret, body, "sha256="+hexMAC(sha256.New, secret, body))
	f.Add("It's a Secret to Everybody", "Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	f.Add(secret, body, "sha256=zz")
	f.Add("", "", "=")
	f.Fuzz(func(t *testing.T, secret, body, sig string) {
		githubAgrees(t, secret, body, sig)
		// A signature made for the input must always verify.
		githubAgrees(t, secret, body, "sha256="+hexMAC(sha256.New, secret, body))
	})
}
