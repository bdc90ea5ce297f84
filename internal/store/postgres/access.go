package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

const tokenCols = `id, name, hash, scope, app_id, capabilities, read_only, session_id, feature_flags, created_at, expires_at, last_used_at, revoked_at`

func scanToken(r scanner) (hookline.Token, error) {
	var (
		t                          hookline.Token
		scope                      string
		appID, sessionID           *string
		caps, flags                []byte
		expires, lastUsed, revoked *time.Time
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Hash, &scope, &appID, &caps, &t.ReadOnly, &sessionID, &flags,
		&t.CreatedAt, &expires, &lastUsed, &revoked); err != nil {
		return t, err
	}
	t.Scope = hookline.Scope(scope)
	if appID != nil {
		t.AppID = *appID
	}
	if sessionID != nil {
		t.SessionID = *sessionID
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = utcPtr(expires), utcPtr(lastUsed), utcPtr(revoked)
	var err error
	if t.Capabilities, err = sqlstore.ParseJSON[[]hookline.Capability](caps); err != nil {
		return t, err
	}
	t.FeatureFlags, err = sqlstore.ParseJSON[[]string](flags)
	return t, err
}

// tokenArgs are a token's columns, in tokenCols's order.
func tokenArgs(t *hookline.Token) []any {
	caps := t.Capabilities
	if caps == nil {
		caps = []hookline.Capability{}
	}
	flags := t.FeatureFlags
	if flags == nil {
		flags = []string{}
	}
	return []any{t.ID, clean(t.Name), t.Hash, string(t.Scope), nullString(t.AppID), jsonText(caps), t.ReadOnly, nullString(t.SessionID), jsonText(flags),
		t.CreatedAt.UTC(), timePtr(t.ExpiresAt), timePtr(t.LastUsedAt), timePtr(t.RevokedAt)}
}

const tokenInsert = `INSERT INTO tokens (` + tokenCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// TokenCreate stores a new token.
func (s *Store) TokenCreate(ctx context.Context, t *hookline.Token) error {
	_, err := s.pool.Exec(ctx, tokenInsert, tokenArgs(t)...)
	if isUnique(err) {
		return fmt.Errorf("create token: %w", hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// TokenGet finds a token by ID.
func (s *Store) TokenGet(ctx context.Context, id string) (*hookline.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "token "+id)
	}
	return &t, nil
}

// TokenByHash finds a token by the hash of its secret, through the hash's
// unique index.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*hookline.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "token")
	}
	return &t, nil
}

// TokenList lists tokens in ID order.
func (s *Store) TokenList(ctx context.Context, p store.Page) ([]hookline.Token, bool, error) {
	q := dialect.Query()
	toks, done, err := sqlstore.List(ctx, s.pool.Query, &q, tokenCols, "tokens", "id", p, func(r pgx.Rows) (hookline.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list tokens: %w", err)
	}
	return toks, done, nil
}

// TokenRevoke revokes a token, keeping the time of a first revocation.
func (s *Store) TokenRevoke(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return checkAffected(tag, "token "+id)
}

// TokenExpireApp brings forward the expiry of an app's tokens.
func (s *Store) TokenExpireApp(ctx context.Context, appID string, sessionIDs []string, at time.Time) (int, error) {
	if sessionIDs == nil {
		sessionIDs = []string{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET expires_at = $1
		WHERE app_id = $2 AND scope = 'app' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)
		AND (cardinality($3::text[]) = 0 OR session_id = ANY($3))`, at.UTC(), appID, sessionIDs)
	if err != nil {
		return 0, fmt.Errorf("expire tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// TokenTouch records a token's use.
func (s *Store) TokenTouch(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// LoginCodeCreate stores a login code and drops expired ones.
func (s *Store) LoginCodeCreate(ctx context.Context, c *hookline.LoginCode, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_codes WHERE expires_at <= $1`, now.UTC()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO login_codes (hash, token_id, expires_at) VALUES ($1, $2, $3)`, c.Hash, c.TokenID, c.ExpiresAt.UTC())
		return err
	})
	if err != nil {
		return fmt.Errorf("create login code: %w", err)
	}
	return nil
}

// LoginCodeUse spends a login code and returns its token. The DELETE
// decides: of two nodes using one code at once, one deletes the row and
// the other finds none.
func (s *Store) LoginCodeUse(ctx context.Context, hash []byte, now time.Time) (*hookline.Token, error) {
	var t hookline.Token
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var tokenID string
		err := tx.QueryRow(ctx, `DELETE FROM login_codes WHERE hash = $1 AND expires_at > $2 RETURNING token_id`, hash, now.UTC()).Scan(&tokenID)
		if err != nil {
			return notFound(err, "login code")
		}
		t, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = $1`, tokenID))
		return notFound(err, "login code's token")
	})
	if err != nil {
		return nil, fmt.Errorf("use login code: %w", err)
	}
	return &t, nil
}

// TokenPrune deletes tokens that ended before the cutoff, with their
// login codes.
func (s *Store) TokenPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE id IN (
		SELECT id FROM tokens WHERE expires_at < $1
		UNION SELECT id FROM tokens WHERE revoked_at < $1
		LIMIT $2)`, before.UTC(), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
