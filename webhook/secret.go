package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix marks a string as a Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// Bounds on a secret, as Svix sets them: 24 to 75 key bytes, which are 32
// to 100 base64 characters (pattern ^(whsec_)?[a-zA-Z0-9+/=]{32,100}$).
const (
	minKeyLen     = 24
	maxKeyLen     = 75
	minEncodedLen = 32
	maxEncodedLen = 100
)

// ErrInvalidSecret means a string is not a usable signing secret.
var ErrInvalidSecret = errors.New("invalid webhook secret")

// NewSecret returns a new random signing secret: "whsec_" and the standard
// base64 of 24 random bytes, the size Svix and Standard Webhooks recommend.
func NewSecret() string {
	key := make([]byte, minKeyLen)
	// crypto/rand.Read never returns an error; it crashes the program
	// when the system's random source fails.
	rand.Read(key)
	return FormatSecret(key)
}

// ParseSecret returns the key of a signing secret given with or without
// the "whsec_" prefix. It accepts what Svix accepts: 32 to 100 standard
// base64 characters that decode to 24 to 75 bytes.
func ParseSecret(s string) ([]byte, error) {
	enc := strings.TrimPrefix(s, SecretPrefix)
	if len(enc) < minEncodedLen || len(enc) > maxEncodedLen {
		return nil, fmt.Errorf("parse secret: %w: want 32 to 100 base64 characters after %q, got %d",
			ErrInvalidSecret, SecretPrefix, len(enc))
	}
	// Checked before decoding because DecodeString skips line breaks,
	// which Svix refuses. The error does not quote the offending
	// character: it is part of a secret, and errors end up in logs.
	if strings.IndexFunc(enc, func(r rune) bool { return !isBase64(r) }) >= 0 {
		return nil, fmt.Errorf("parse secret: %w: characters other than standard base64 (A-Z, a-z, 0-9, +, /, =)", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("parse secret: %w: malformed base64", ErrInvalidSecret)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("parse secret: %w: key is %d bytes, want 24 to 75", ErrInvalidSecret, len(key))
	}
	return key, nil
}

// FormatSecret returns key as a secret string: "whsec_" and its standard
// base64 encoding.
func FormatSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

func isBase64(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '/' || r == '='
}
