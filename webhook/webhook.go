// Package webhook signs and verifies webhooks the way the Standard Webhooks
// specification (https://www.standardwebhooks.com) defines: an HMAC-SHA256,
// keyed with the endpoint's secret, over the message ID, the Unix timestamp
// and the exact body bytes, sent in the webhook-id, webhook-timestamp and
// webhook-signature headers. Svix signs the same way under svix-* header
// names and its libraries fall back to the webhook-* ones, so receivers
// built on Svix's or Standard Webhooks' libraries verify hookline's
// deliveries too.
//
// hookline uses this package to sign every delivery; receivers written in Go
// use it to verify them:
//
//	key, err := webhook.ParseSecret(os.Getenv("WEBHOOK_SECRET"))
//	...
//	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//	...
//	err = webhook.Verify([][]byte{key}, r.Header, body, time.Now(), webhook.DefaultTolerance)
//
// During a secret rotation the sender signs with the old and the new key
// at once, so a receiver verifies with whichever key it holds.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"time"
)

// The headers that carry a webhook's ID, timestamp and signatures.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const (
	// scheme is the signature version this package writes and checks:
	// symmetric HMAC-SHA256.
	scheme = "v1"
	// encodedLen is the length of one base64 HMAC-SHA256 signature.
	encodedLen = 44 // base64.StdEncoding.EncodedLen(sha256.Size)
	// signatureLen is the length of one "v1,<base64>" signature.
	signatureLen = len(scheme) + 1 + encodedLen
	// scratchLen is the spare room appendMAC borrows past the signature:
	// enough for the ".<timestamp>." part and for the raw sum.
	scratchLen = 64
)

// Sign returns the signature of one message for one key, in the form
// "v1,<base64 HMAC-SHA256 of msgID.timestamp.body>". Only the whole seconds
// of ts are signed, as the webhook-timestamp header carries them.
func Sign(key []byte, msgID string, ts time.Time, body []byte) string {
	return string(appendSignature(make([]byte, 0, signatureLen+scratchLen), key, msgID, ts, body))
}

// SignatureHeader returns the value of the webhook-signature header for a
// message: one signature per key, separated by spaces. Endpoints hold two
// keys while a secret is being rotated, so receivers holding either verify.
func SignatureHeader(keys [][]byte, msgID string, ts time.Time, body []byte) string {
	n := len(keys)*(signatureLen+1) + scratchLen
	return string(AppendSignatureHeader(make([]byte, 0, n), keys, msgID, ts, body))
}

// AppendSignatureHeader appends the webhook-signature header value that
// SignatureHeader returns to dst and returns the extended buffer. Senders
// that reuse dst across messages pay only for the HMACs themselves.
func AppendSignatureHeader(dst []byte, keys [][]byte, msgID string, ts time.Time, body []byte) []byte {
	for i, key := range keys {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendSignature(dst, key, msgID, ts, body)
	}
	return dst
}

// appendSignature appends "v1,<base64 signature>" to dst.
func appendSignature(dst, key []byte, msgID string, ts time.Time, body []byte) []byte {
	dst = append(dst, scheme...)
	dst = append(dst, ',')
	dst = slices.Grow(dst, encodedLen+scratchLen)
	start := len(dst)
	// The raw sum lands past the room its encoding takes, so encoding
	// does not overwrite the bytes it reads.
	sum := appendMAC(dst[start+encodedLen:start+encodedLen], key, msgID, ts, body)
	dst = dst[:start+encodedLen]
	base64.StdEncoding.Encode(dst[start:], sum)
	return dst
}

// appendMAC appends the raw HMAC-SHA256 of msgID.timestamp.body to dst,
// which must have scratchLen bytes of spare capacity. The hash takes its
// input through an interface, so any buffer handed to it escapes to the
// heap; borrowing the caller's spare capacity instead of a local array
// saves an allocation per signature.
func appendMAC(dst, key []byte, msgID string, ts time.Time, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	scratch := dst[len(dst) : len(dst)+scratchLen]
	for len(msgID) > 0 {
		n := copy(scratch, msgID)
		mac.Write(scratch[:n])
		msgID = msgID[n:]
	}
	b := append(scratch[:0], '.')
	b = strconv.AppendInt(b, ts.Unix(), 10)
	b = append(b, '.')
	mac.Write(b)
	mac.Write(body)
	return mac.Sum(dst)
}
