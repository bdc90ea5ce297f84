package verify_test

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/inbound/verify"
)

func TestDeliveryID(t *testing.T) {
	t.Parallel()
	cfg := func(s verify.Scheme) *verify.Config { return &verify.Config{Scheme: s} }
	tests := []struct {
		name string
		cfg  *verify.Config
		h    http.Header
		body string
		want string
	}{
		{"github", cfg(verify.SchemeGitHub), hdr("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"), "{}",
			"72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{"github without the header", cfg(verify.SchemeGitHub), hdr(), "{}", ""},
		{"standard-webhooks", cfg(verify.SchemeStandardWebhooks), hdr("webhook-id", "msg_2Lxyz"), "{}", "msg_2Lxyz"},
		{"standard-webhooks ignores svix-id", cfg(verify.SchemeStandardWebhooks), hdr("svix-id", "msg_1"), "{}", ""},
		{"svix", cfg(verify.SchemeSvix), hdr("svix-id", "msg_1", "webhook-id", "msg_2"), "{}", "msg_1"},
		{"svix under standard names", cfg(verify.SchemeSvix), hdr("webhook-id", "msg_2"), "{}", "msg_2"},
		{"shopify", cfg(verify.SchemeShopify), hdr("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"), "{}",
			"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{"stripe", cfg(verify.SchemeStripe), hdr(), stripeEvent, "evt_1PabcDEFghiJKL"},
		{"stripe, nested ids are not the event's", cfg(verify.SchemeStripe), hdr(), `{"data":{"object":{"id":"in_1"}}}`, ""},
		{"stripe, body not JSON", cfg(verify.SchemeStripe), hdr(), "id=evt_1", ""},
		{"stripe, id not a string", cfg(verify.SchemeStripe), hdr(), `{"id":12}`, ""},
		{"slack events API", cfg(verify.SchemeSlack), hdr(),
			`{"type":"event_callback","event_id":"Ev0PV52K21","event":{"type":"app_mention"}}`, "Ev0PV52K21"},
		{"slack slash command", cfg(verify.SchemeSlack), hdr(), "token=x&command=%2Fdeploy", ""},
		{"slack handshake", cfg(verify.SchemeSlack), hdr(), `{"type":"url_verification","challenge":"abc"}`, ""},
		{"hmac has none", &verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig"}, hdr("webhook-id", "msg_1"), `{"id":"x"}`, ""},
		{"basic has none", cfg(verify.SchemeBasic), hdr("X-GitHub-Delivery", "d1"), "{}", ""},
		{"api-key has none", cfg(verify.SchemeAPIKey), hdr("X-GitHub-Delivery", "d1"), "{}", ""},
		{"none has none", cfg(verify.SchemeNone), hdr("webhook-id", "msg_1"), "{}", ""},
		{"nil config", nil, hdr("webhook-id", "msg_1"), "{}", ""},
		{"too long", cfg(verify.SchemeGitHub), hdr("X-GitHub-Delivery", strings.Repeat("a", 257)), "{}", ""},
		{"longest kept", cfg(verify.SchemeGitHub), hdr("X-GitHub-Delivery", strings.Repeat("a", 256)), "{}", strings.Repeat("a", 256)},
		{"with a space", cfg(verify.SchemeGitHub), hdr("X-GitHub-Delivery", "a b"), "{}", ""},
		{"with a control character", cfg(verify.SchemeStripe), hdr(), `{"id":"evt_\u0000"}`, ""},
		{"not ASCII", cfg(verify.SchemeShopify), hdr("X-Shopify-Webhook-Id", "idé"), "{}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := verify.DeliveryID(tt.cfg, tt.h, []byte(tt.body)); got != tt.want {
				t.Errorf("DeliveryID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	slack := &verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{secret}}
	// The example of Slack's url_verification documentation.
	const check = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	tests := []struct {
		name   string
		cfg    *verify.Config
		body   string
		want   string
		wantOK bool
	}{
		{"slack url_verification", slack, check, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", true},
		{"slack event", slack, `{"type":"event_callback","event_id":"Ev1","challenge":"x"}`, "", false},
		{"slack slash command", slack, "token=x&challenge=y", "", false},
		{"slack check without challenge", slack, `{"type":"url_verification"}`, "", false},
		{"slack check with a control character", slack, `{"type":"url_verification","challenge":"a\nb"}`, "", false},
		{"slack check with a long challenge", slack, `{"type":"url_verification","challenge":"` + strings.Repeat("a", 513) + `"}`, "", false},
		{"slack check with a non-string challenge", slack, `{"type":"url_verification","challenge":5}`, "", false},
		{"not for other schemes", &verify.Config{Scheme: verify.SchemeGitHub}, check, "", false},
		{"not for none", &verify.Config{Scheme: verify.SchemeNone}, check, "", false},
		{"github ping is an event", &verify.Config{Scheme: verify.SchemeGitHub}, `{"zen":"Design for failure.","hook_id":1}`, "", false},
		{"nil config", nil, check, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, ctype, ok := verify.Handshake(tt.cfg, hdr("Content-Type", "application/json"), []byte(tt.body))
			if ok != tt.wantOK || string(resp) != tt.want {
				t.Fatalf("Handshake = %q, %q, %v; want %q, %v", resp, ctype, ok, tt.want, tt.wantOK)
			}
			if ok && ctype != "text/plain; charset=utf-8" {
				t.Errorf("content type %q, want text/plain", ctype)
			}
			if !ok && (resp != nil || ctype != "") {
				t.Errorf("Handshake = %q, %q with ok false", resp, ctype)
			}
		})
	}
}

// TestSlackHandshakeIsSigned checks the order the receive handler follows:
// Slack signs its url_verification like any event, so a forged one fails
// Verify before Handshake would echo it.
func TestSlackHandshakeIsSigned(t *testing.T) {
	t.Parallel()
	cfg := &verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{secret}}
	const check = `{"token":"t","challenge":"c1","type":"url_verification"}`
	ts := unix(now)
	signed := hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0="+hexMAC(sha256.New, secret, "v0:", ts, ":", check))
	if err := verify.Verify(cfg, signed, []byte(check), now); err != nil {
		t.Fatalf("Verify(signed check) = %v", err)
	}
	if resp, _, ok := verify.Handshake(cfg, signed, []byte(check)); !ok || string(resp) != "c1" {
		t.Errorf("Handshake = %q, %v", resp, ok)
	}
	forged := hdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0="+hexMAC(sha256.New, "guess", "v0:", ts, ":", check))
	if err := verify.Verify(cfg, forged, []byte(check), now); err == nil {
		t.Error("Verify accepted a forged url_verification")
	}
}
