package webhook

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, as the specification recommends. Bounding
// it keeps a captured request from being replayed later.
const DefaultTolerance = 5 * time.Minute

// Kinds of verification failure. Verify wraps one of them; callers test
// with errors.Is. All of them mean the request is to be rejected.
var (
	// ErrMissingHeaders means the webhook-id, webhook-timestamp or
	// webhook-signature header is absent or empty.
	ErrMissingHeaders = errors.New("missing webhook headers")
	// ErrInvalidHeaders means a header is present but malformed, such as
	// a timestamp that is not an integer.
	ErrInvalidHeaders = errors.New("invalid webhook headers")
	// ErrTimestampTooOld means the timestamp lies further in the past
	// than the tolerance: possibly a replay.
	ErrTimestampTooOld = errors.New("webhook timestamp too old")
	// ErrTimestampTooNew means the timestamp lies further in the future
	// than the tolerance.
	ErrTimestampTooNew = errors.New("webhook timestamp too new")
	// ErrNoMatchingSignature means no v1 signature in the header matches
	// any of the keys: the body, ID or timestamp was altered, or the
	// secret is wrong.
	ErrNoMatchingSignature = errors.New("no matching webhook signature")
)

// Verify checks that a webhook request was signed by the holder of one of
// keys. h holds the request's headers and body its exact bytes, as read
// before any parsing. The timestamp must lie within tolerance of now, in
// either direction; a tolerance of zero or less means DefaultTolerance.
// Signatures of versions other than v1 are ignored, so a header that also
// carries asymmetric (v1a) signatures still verifies. Signatures are
// compared in constant time.
func Verify(keys [][]byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	msgID, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if msgID == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("verify webhook: %w: want %s, %s and %s", ErrMissingHeaders, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("verify webhook: %w: %s %q is not Unix seconds", ErrInvalidHeaders, HeaderTimestamp, tsText)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts := time.Unix(sec, 0)
	if now.Sub(ts) > tolerance {
		return fmt.Errorf("verify webhook: %w: %s is more than %s before now", ErrTimestampTooOld, ts.UTC().Format(time.RFC3339), tolerance)
	}
	if ts.Sub(now) > tolerance {
		return fmt.Errorf("verify webhook: %w: %s is more than %s after now", ErrTimestampTooNew, ts.UTC().Format(time.RFC3339), tolerance)
	}

	want := make([]byte, 0, len(keys)*signatureLen+scratchLen)
	for _, key := range keys {
		want = appendSignature(want, key, msgID, ts, body)
	}
	wellFormed := false
	for entry := range strings.FieldsSeq(sigs) {
		ver, sig, ok := strings.Cut(entry, ",")
		if !ok || ver == "" || sig == "" {
			continue
		}
		wellFormed = true
		if ver != scheme {
			continue
		}
		got := []byte(entry)
		for i := range keys {
			if hmac.Equal(got, want[i*signatureLen:(i+1)*signatureLen]) {
				return nil
			}
		}
	}
	if !wellFormed {
		return fmt.Errorf("verify webhook: %w: %s holds no version,signature pair", ErrInvalidHeaders, HeaderSignature)
	}
	return fmt.Errorf("verify webhook: %w", ErrNoMatchingSignature)
}
