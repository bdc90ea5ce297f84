package ops

import (
	"context"
	"errors"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// TokenCreate stores a new token (its ID, scope, app, capabilities and
// expiry set by the caller), and returns its secret, which is shown once:
// only its hash is kept.
func (s *Service) TokenCreate(ctx context.Context, acc *hookline.Access, t *hookline.Token) (string, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return "", err
	}
	if t.ID == "" {
		t.ID = hookline.NewID(hookline.PrefixToken)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	if err := t.Validate(); err != nil {
		return "", err
	}
	secret, hash := hookline.NewSecret(hookline.TokenPrefix)
	t.Hash = hash
	if err := s.st.TokenCreate(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

// TokenList lists the stored tokens, newest first unless p says otherwise.
func (s *Service) TokenList(ctx context.Context, acc *hookline.Access, p store.Page) ([]hookline.Token, bool, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, false, err
	}
	return s.st.TokenList(ctx, p)
}

// TokenRevoke revokes a token now.
func (s *Service) TokenRevoke(ctx context.Context, acc *hookline.Access, id string) error {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	return lookup(s.st.TokenRevoke(ctx, id, s.now()), "token", id)
}

// PortalLink stores t, an app-scoped token, and a one-use login code that
// opens the portal as it, valid for hookline.LoginCodeTTL. It returns the
// token's secret and the code.
func (s *Service) PortalLink(ctx context.Context, acc *hookline.Access, t *hookline.Token) (secret, code string, err error) {
	if t.Scope != hookline.ScopeApp {
		return "", "", errors.New("a portal link is of an app-scoped token")
	}
	if secret, err = s.TokenCreate(ctx, acc, t); err != nil {
		return "", "", err
	}
	code, codeHash := hookline.NewSecret("")
	now := s.now()
	if err := s.st.LoginCodeCreate(ctx, &hookline.LoginCode{Hash: codeHash, TokenID: t.ID,
		ExpiresAt: now.Add(hookline.LoginCodeTTL)}, now); err != nil {
		return "", "", err
	}
	return secret, code, nil
}

// DefaultPortalExpiry is how long a portal session lasts when its access
// names no expiry: 7 days, as in Svix.
const DefaultPortalExpiry = 7 * 24 * time.Hour
