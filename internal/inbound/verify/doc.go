// Package verify decides whether a request that arrived on a source's
// receive URL comes from the sender the source expects, by the scheme that
// sender uses: a provider's signature (Standard Webhooks, Svix, GitHub,
// Stripe, Shopify, Slack), a generic HMAC, HTTP basic auth or an API key
// in a header.
//
// A source stores its verification as a Config, the same value the REST
// API takes and shows. The receive handler reads the body once, exactly as
// sent, and then asks:
//
//	if err := verify.Verify(&cfg, r.Header, body, time.Now()); err != nil {
//		// 401 with a generic message; err says why, for the log
//	}
//	if resp, ctype, ok := verify.Handshake(&cfg, r.Header, body); ok {
//		// answer the provider's URL check with resp, route nothing
//	}
//	id := verify.DeliveryID(&cfg, r.Header, body) // "" when unknown
//
// Verification failures wrap ErrUnverified. Their text names the missing
// or malformed header, the timestamp outside the replay window or the
// absence of a match, so an operator can tell a wrong secret from a
// skewed clock, but it never quotes a secret, a signature or a key, since
// it ends up in logs. Every comparison with a secret-derived value takes
// constant time.
package verify
