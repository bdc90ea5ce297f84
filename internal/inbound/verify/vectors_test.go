package verify_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/inbound/verify"
)

// Published examples, verified as published. A signature this package made
// itself would only show that it agrees with itself; these show that it
// builds the signed string and reads the header exactly as the provider
// does.
func TestPublishedExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  verify.Config
		h    http.Header
		body string
		now  time.Time
	}{
		{
			// Slack's "Verifying requests from Slack": a slash command
			// signed with the documentation's signing secret.
			name: "slack documentation",
			cfg:  verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{"8f742231b10e8888abcd99yyyzzz85a5"}},
			h: hdr("X-Slack-Request-Timestamp", "1531420618",
				"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
			body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
				"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
				"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
				"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			now: time.Unix(1531420618+30, 0),
		},
		{
			// GitHub's "Validating webhook deliveries" test values.
			name: "github documentation",
			cfg:  verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{"It's a Secret to Everybody"}},
			h:    hdr("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
			body: "Hello, World!",
		},
		{
			// The Standard Webhooks specification's example.
			name: "standard webhooks specification",
			cfg:  verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			h: hdr("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330",
				"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
			body: `{"test": 2432232314}`,
			now:  time.Unix(1614265330, 0),
		},
		{
			name: "the same example under svix headers",
			cfg:  verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			h: hdr("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp", "1614265330",
				"svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
			body: `{"test": 2432232314}`,
			now:  time.Unix(1614265330, 0),
		},
		// Shopify publishes no signed example, and neither do senders of
		// generic HMACs; these were made with OpenSSL
		// (openssl dgst -sha256 -hmac KEY -binary | base64), an
		// implementation independent of Go's.
		{
			name: "shopify, signed by openssl",
			cfg:  verify.Config{Scheme: verify.SchemeShopify, Secrets: []string{"shpss_hookline_example"}},
			h:    hdr("X-Shopify-Hmac-Sha256", "HaFFU8dQ0i2yG8z3YqI9Grr3gh3K7I2mp/92whG85lM="),
			body: `{"id":820982911946154508,"email":"jon@doe.ca","topic":"orders/create"}`,
		},
		// RFC 2202 and RFC 4231 test case 2, as hex (the RFCs' own form)
		// and as base64 (made with openssl).
		{
			name: "hmac sha1 hex, RFC 2202",
			cfg:  verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha1", Secrets: []string{"Jefe"}},
			h:    hdr("X-Sig", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
			body: "what do ya want for nothing?",
		},
		{
			name: "hmac sha256 hex with prefix, RFC 4231",
			cfg:  verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Prefix: "sha256=", Secrets: []string{"Jefe"}},
			h:    hdr("X-Sig", "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
			body: "what do ya want for nothing?",
		},
		{
			name: "hmac sha512 hex, RFC 4231",
			cfg:  verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha512", Secrets: []string{"Jefe"}},
			h: hdr("X-Sig", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"+
				"9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
			body: "what do ya want for nothing?",
		},
		{
			name: "hmac sha1 base64",
			cfg:  verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha1", Encoding: "base64", Secrets: []string{"Jefe"}},
			h:    hdr("X-Sig", "7/zfauXrL6LSdBbV8YTfnCWafHk="),
			body: "what do ya want for nothing?",
		},
		{
			name: "hmac sha256 base64",
			cfg:  verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Encoding: "base64", Secrets: []string{"Jefe"}},
			h:    hdr("X-Sig", "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="),
			body: "what do ya want for nothing?",
		},
		{
			name: "hmac sha512 base64",
			cfg:  verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Secrets: []string{"Jefe"}},
			h:    hdr("X-Sig", "Fkt6e/z4GeLjlfvnO1bgo4e9ZCIugx/WECcM1+olBVSXWL91wFqZSm0DT2X48Ob9yuqxo01Ka0tjbgcKOLznNw=="),
			body: "what do ya want for nothing?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at := tt.now
			if at.IsZero() {
				at = now
			}
			if err := tt.cfg.Validate(); err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if err := verify.Verify(&tt.cfg, tt.h, []byte(tt.body), at); err != nil {
				t.Fatalf("Verify = %v", err)
			}
			// One byte more and it must fail.
			if err := verify.Verify(&tt.cfg, tt.h, []byte(tt.body+" "), at); !errors.Is(err, verify.ErrNoMatch) {
				t.Errorf("Verify(tampered) = %v, want ErrNoMatch", err)
			}
		})
	}
}

// TestSlackExampleReplayed checks the documented Slack request against a
// clock long past it: the signature is right, the request is a replay.
func TestSlackExampleReplayed(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{"8f742231b10e8888abcd99yyyzzz85a5"}}
	h := hdr("X-Slack-Request-Timestamp", "1531420618",
		"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
	err := verify.Verify(&cfg, h, []byte("token=x"), now)
	if !errors.Is(err, verify.ErrOutsideTolerance) {
		t.Errorf("Verify = %v, want ErrOutsideTolerance", err)
	}
}
