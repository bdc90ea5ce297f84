package store

import (
	"context"
	"time"

	"github.com/hookline/hookline"
)

// AccessStore keeps the API tokens beyond the bootstrap admin token and the
// portal's one-use login codes. It holds only their SHA-256 hashes, never
// a secret, and finds a token by its hash through an index, as the API
// does on requests. Each method is one transaction.
type AccessStore interface {
	TokenCreate(ctx context.Context, t *hookline.Token) error
	// TokenGet finds a token by ID.
	TokenGet(ctx context.Context, id string) (*hookline.Token, error)
	// TokenByHash finds a token by the SHA-256 of its secret, whether or
	// not it is still active: the caller decides with Token.Active.
	TokenByHash(ctx context.Context, hash []byte) (*hookline.Token, error)
	// TokenList lists tokens, revoked and expired ones too.
	TokenList(ctx context.Context, p Page) (tokens []hookline.Token, done bool, err error)
	// TokenRevoke revokes a token at at; revoking a revoked token keeps
	// its first revocation time.
	TokenRevoke(ctx context.Context, id string, at time.Time) error
	// TokenExpireApp moves the expiry of every unrevoked app-scoped token
	// of an app to at, unless it expires sooner already, and returns how
	// many it changed. When sessionIDs is not empty, only the tokens made
	// with one of those session IDs change.
	TokenExpireApp(ctx context.Context, appID string, sessionIDs []string, at time.Time) (int, error)
	// TokenTouch records that a token was used at at, unless a later use
	// is recorded already.
	TokenTouch(ctx context.Context, id string, at time.Time) error

	// LoginCodeCreate stores a login code, and forgets the codes that
	// expired before c was made.
	LoginCodeCreate(ctx context.Context, c *hookline.LoginCode, now time.Time) error
	// LoginCodeUse spends the login code with this hash: it returns the
	// code's token and deletes the code, so a second use finds nothing.
	// An unknown, spent or expired code is hookline.ErrNotFound. The token
	// may have been revoked or expired since: the caller checks
	// Token.Active.
	LoginCodeUse(ctx context.Context, hash []byte, now time.Time) (*hookline.Token, error)
}
