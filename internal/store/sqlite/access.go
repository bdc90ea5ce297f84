package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

const tokenCols = `id, name, hash, scope, app_id, capabilities, read_only, session_id, feature_flags, created_at, expires_at, last_used_at, revoked_at`

func scanToken(r interface{ Scan(...any) error }) (hookline.Token, error) {
	var (
		t                          hookline.Token
		appID, sessionID           sql.NullString
		caps, flags                string
		created                    int64
		expires, lastUsed, revoked sql.NullInt64
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Hash, &t.Scope, &appID, &caps, &t.ReadOnly, &sessionID, &flags,
		&created, &expires, &lastUsed, &revoked); err != nil {
		return t, err
	}
	t.AppID, t.SessionID = appID.String, sessionID.String
	t.CreatedAt = fromMicro(created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMicroPtr(expires), fromMicroPtr(lastUsed), fromMicroPtr(revoked)
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
	return []any{t.ID, t.Name, t.Hash, string(t.Scope), nullString(t.AppID), jsonText(caps), t.ReadOnly, nullString(t.SessionID), jsonText(flags),
		micro(t.CreatedAt), microPtr(t.ExpiresAt), microPtr(t.LastUsedAt), microPtr(t.RevokedAt)}
}

// TokenCreate stores a new token.
func (s *Store) TokenCreate(ctx context.Context, t *hookline.Token) error {
	_, err := s.exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (`+placeholders(13)+`)`, tokenArgs(t)...)
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
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "token "+id)
	}
	return &t, nil
}

// TokenByHash finds a token by the hash of its secret, through the hash's
// unique index.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*hookline.Token, error) {
	st, err := s.readStmt(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`)
	if err != nil {
		return nil, err
	}
	t, err := scanToken(st.QueryRowContext(ctx, hash))
	if err != nil {
		return nil, notFound(err, "token")
	}
	return &t, nil
}

// TokenList lists tokens in ID order.
func (s *Store) TokenList(ctx context.Context, p store.Page) ([]hookline.Token, bool, error) {
	q := dialect.Query()
	toks, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, tokenCols, "tokens", "id", p, func(r *sql.Rows) (hookline.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list tokens: %w", err)
	}
	return toks, done, nil
}

// TokenRevoke revokes a token, keeping the time of a first revocation.
func (s *Store) TokenRevoke(ctx context.Context, id string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micro(at), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return checkAffected(res, "token "+id)
}

// TokenExpireApp brings forward the expiry of an app's tokens.
func (s *Store) TokenExpireApp(ctx context.Context, appID string, sessionIDs []string, at time.Time) (int, error) {
	res, err := s.exec(ctx, `UPDATE tokens SET expires_at = ?1
		WHERE app_id = ?2 AND scope = 'app' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?1)
		AND (?3 = '[]' OR session_id IN (SELECT value FROM json_each(?3)))`, micro(at), appID, idList(sessionIDs))
	if err != nil {
		return 0, fmt.Errorf("expire tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TokenTouch records a token's use.
func (s *Store) TokenTouch(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE tokens SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`, micro(at), id)
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// LoginCodeCreate stores a login code and drops expired ones.
func (s *Store) LoginCodeCreate(ctx context.Context, c *hookline.LoginCode, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_codes WHERE expires_at <= ?`, micro(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_codes (hash, token_id, expires_at) VALUES (?, ?, ?)`, c.Hash, c.TokenID, micro(c.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create login code: %w", err)
	}
	return nil
}

// LoginCodeUse spends a login code and returns its token.
func (s *Store) LoginCodeUse(ctx context.Context, hash []byte, now time.Time) (*hookline.Token, error) {
	var t hookline.Token
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var tokenID string
		err := tx.QueryRowContext(ctx, `DELETE FROM login_codes WHERE hash = ? AND expires_at > ? RETURNING token_id`, hash, micro(now)).Scan(&tokenID)
		if err != nil {
			return notFound(err, "login code")
		}
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, tokenID))
		return notFound(err, "login code's token")
	})
	if err != nil {
		return nil, fmt.Errorf("use login code: %w", err)
	}
	return &t, nil
}

// TokenPrune deletes tokens that ended before the cutoff.
func (s *Store) TokenPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM tokens WHERE id IN (
		SELECT id FROM tokens WHERE expires_at < ?1
		UNION SELECT id FROM tokens WHERE revoked_at < ?1
		LIMIT ?2)`, micro(before), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
