package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// These helpers match the secret functions of package webhook (NewSecret,
// ParseSecret, FormatSecret), which own the secret format; the API only
// needs to create, parse and show secrets the same way.

const secretPrefix = "whsec_"

// newSecret returns "whsec_" and the base64 of 24 random bytes.
func newSecret() string {
	key := make([]byte, 24)
	rand.Read(key) // never fails; it crashes the program if the system's source does
	return formatSecret(key)
}

// parseSecret returns the key of a secret given with or without the
// "whsec_" prefix: 32 to 100 standard base64 characters decoding to 24 to
// 75 bytes, as Svix accepts.
func parseSecret(s string) ([]byte, error) {
	enc := strings.TrimPrefix(s, secretPrefix)
	if len(enc) < 32 || len(enc) > 100 {
		return nil, errors.New("must be 32 to 100 base64 characters, optionally prefixed with whsec_")
	}
	if strings.ContainsAny(enc, "\r\n") {
		return nil, errors.New("must be standard base64")
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("must be standard base64")
	}
	if len(key) < 24 || len(key) > 75 {
		return nil, errors.New("must decode to 24 to 75 bytes")
	}
	return key, nil
}

// formatSecret returns "whsec_" and the standard base64 of key.
func formatSecret(key []byte) string {
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}
