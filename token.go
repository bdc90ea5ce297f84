package hookline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"slices"
	"strings"
	"time"
)

// TokenPrefix begins every API token hookline issues, so that one is
// recognized for what it is in a config file or a leaked log.
const TokenPrefix = "hl_"

// LoginCodeTTL is how long a portal login code stays usable: long enough
// to open the link the sender's product just fetched, short enough that a
// link seen later is worthless.
const LoginCodeTTL = 15 * time.Minute

// tokenEncoding spells secrets in lowercase letters and digits, which
// survive being copied, double-clicked and pasted.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a new bearer secret with the given prefix, 160 random
// bits, and its SHA-256, the only form in which it is stored.
func NewSecret(prefix string) (secret string, hash []byte) {
	b := make([]byte, 20)
	rand.Read(b) // never fails (crypto/rand)
	secret = prefix + strings.ToLower(tokenEncoding.EncodeToString(b))
	return secret, HashSecret(secret)
}

// HashSecret returns the SHA-256 of a bearer secret, as it is stored and
// looked up.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Token is an API token beyond the bootstrap admin token: one made with
// the token API, or by a portal access for one app. Only the SHA-256 of
// its secret is kept.
type Token struct {
	ID   string
	Name string
	// Hash is the SHA-256 of the secret.
	Hash         []byte
	Scope        Scope
	AppID        string // the app of an app-scoped token
	Capabilities []Capability
	ReadOnly     bool
	// SessionID is Svix's sessionId of a portal access, by which
	// expire-all may pick the tokens to end.
	SessionID string
	// FeatureFlags are Svix's featureFlags of a portal access, kept for
	// the portal.
	FeatureFlags []string
	CreatedAt    time.Time
	ExpiresAt    *time.Time
	// LastUsedAt is when the token last authenticated a request, to
	// within a minute or so (see the API's authenticate).
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Validate checks the fields a caller sets.
func (t *Token) Validate() error {
	var v ValidationError
	if len(t.Name) > 256 {
		v.add("name", "must be at most 256 characters")
	}
	validAccess(&v, t.Scope, t.AppID, t.Capabilities)
	if t.Scope == ScopeAdmin && t.ReadOnly {
		v.add("readOnly", `an admin token changes things; choose the "read-only" scope instead`)
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(t.CreatedAt) {
		v.add("expiry", "must be in the future")
	}
	return v.err()
}

// Active reports whether the token may be used at now: neither revoked
// nor expired.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Access returns what the token allows.
func (t *Token) Access() *Access {
	a := &Access{Scope: t.Scope, AppID: t.AppID, Capabilities: slices.Clone(t.Capabilities),
		ReadOnly: t.ReadOnly || t.Scope == ScopeReadOnly, TokenID: t.ID}
	if t.ExpiresAt != nil {
		e := *t.ExpiresAt
		a.ExpiresAt = &e
	}
	return a
}

// LoginCode is a one-use code that opens the portal as a token: the
// portal's login page exchanges it, once and before it expires, for a
// session with the token's access. Only its SHA-256 is kept.
type LoginCode struct {
	Hash      []byte
	TokenID   string
	ExpiresAt time.Time
}
