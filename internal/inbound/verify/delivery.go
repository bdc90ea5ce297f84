package verify

import (
	"encoding/json"
	"net/http"
	"strings"
)

// maxIDLen bounds a delivery ID, which the store keeps as a key. Providers
// use a few dozen characters.
const maxIDLen = 256

// DeliveryID returns the sender's own ID of a delivery, so that a
// delivery the sender retries, or sends twice, is recognised and routed
// once. It returns "" when the scheme carries none, or the request lacks
// a usable one (longer than 256 bytes, or holding anything but printable
// ASCII); such requests are not de-duplicated.
//
//   - github: the X-GitHub-Delivery header
//   - standard-webhooks: the webhook-id header
//   - svix: the svix-id header, else webhook-id
//   - shopify: the X-Shopify-Webhook-Id header
//   - stripe: the "id" field of the event in the body (evt_...)
//   - slack: the "event_id" field of an Events API body; slash commands
//     and interactions carry none
//
// Call it only on a request that Verify accepted: an unverified sender
// could otherwise claim the ID of a delivery still to come and have that
// one dropped as a duplicate. Even then, GitHub's and Shopify's IDs are
// headers outside the signature, so a replay of a captured request under
// a new ID is not recognised; the IDs of Standard Webhooks, Svix, Stripe
// and Slack are signed.
func DeliveryID(c *Config, h http.Header, body []byte) string {
	if c == nil {
		return ""
	}
	var id string
	switch c.Scheme {
	case SchemeGitHub:
		id = h.Get(headerGitHubDelivery)
	case SchemeStandardWebhooks:
		id = h.Get(standardHeaders.id)
	case SchemeSvix:
		if id = h.Get(headerSvixID); id == "" {
			id = h.Get(standardHeaders.id)
		}
	case SchemeShopify:
		id = h.Get(headerShopifyWebhookID)
	case SchemeStripe:
		var event struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &event) == nil {
			id = event.ID
		}
	case SchemeSlack:
		var event struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(body, &event) == nil {
			id = event.EventID
		}
	}
	if len(id) > maxIDLen || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return ""
	}
	return id
}

// maxChallengeLen bounds the challenge Handshake echoes back. Slack's are
// about 50 characters.
const maxChallengeLen = 512

// Handshake answers the URL check a provider sends when the receive URL
// is registered with it. When the request is such a check it returns the
// response body and content type to send with status 200, and ok; the
// request is then not an event and is not routed. Otherwise ok is false.
// Call it only after Verify accepted the request, since providers sign
// their checks like their events.
//
// Slack's Events API sends {"type":"url_verification","challenge":"..."}
// and wants the challenge back; of the forms Slack accepts, Handshake
// answers with the one its documentation shows first, the bare challenge
// as text/plain. It answers only for SchemeSlack, so a source that does
// not expect Slack does not echo text back to whoever asks.
//
// The other providers need nothing here. GitHub's "ping" on registration
// is an ordinary signed event (X-GitHub-Event: ping) that wants only a
// 2xx; Stripe, Shopify, Svix and Standard Webhooks senders register a URL
// without a check and send test events as ordinary events. Providers that
// check by GET with a query parameter (Dropbox's challenge, Microsoft
// Graph's validationToken, Meta's hub.challenge) or with an HMAC of a
// token (Zoom's endpoint.url_validation, X's CRC) are not supported.
func Handshake(c *Config, h http.Header, body []byte) (resp []byte, contentType string, ok bool) {
	if c == nil || c.Scheme != SchemeSlack {
		return nil, "", false
	}
	var check struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(body, &check) != nil || check.Type != "url_verification" {
		return nil, "", false
	}
	if check.Challenge == "" || len(check.Challenge) > maxChallengeLen || strings.ContainsFunc(check.Challenge, isControl) {
		return nil, "", false
	}
	return []byte(check.Challenge), "text/plain; charset=utf-8", true
}
