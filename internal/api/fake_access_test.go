package api

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// fakeAccess is the store.AccessStore part of fakeStore; its zero value
// is empty and ready.
type fakeAccess struct {
	amu    sync.Mutex
	tokens map[string]*hookline.Token // by ID
	codes  map[string]hookline.LoginCode
}

func cloneToken(t *hookline.Token) *hookline.Token {
	c := *t
	c.Hash = slices.Clone(t.Hash)
	c.Capabilities = slices.Clone(t.Capabilities)
	c.FeatureFlags = slices.Clone(t.FeatureFlags)
	for _, p := range []**time.Time{&c.ExpiresAt, &c.LastUsedAt, &c.RevokedAt} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return &c
}

func (s *fakeAccess) TokenCreate(ctx context.Context, t *hookline.Token) error {
	s.amu.Lock()
	defer s.amu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]*hookline.Token{}
	}
	for _, o := range s.tokens {
		if o.ID == t.ID || string(o.Hash) == string(t.Hash) {
			return fmt.Errorf("create token: %w", hookline.ErrConflict)
		}
	}
	s.tokens[t.ID] = cloneToken(t)
	return nil
}

func (s *fakeAccess) TokenGet(ctx context.Context, id string) (*hookline.Token, error) {
	s.amu.Lock()
	defer s.amu.Unlock()
	if t, ok := s.tokens[id]; ok {
		return cloneToken(t), nil
	}
	return nil, fmt.Errorf("token %s: %w", id, hookline.ErrNotFound)
}

func (s *fakeAccess) TokenByHash(ctx context.Context, hash []byte) (*hookline.Token, error) {
	s.amu.Lock()
	defer s.amu.Unlock()
	for _, t := range s.tokens {
		if string(t.Hash) == string(hash) {
			return cloneToken(t), nil
		}
	}
	return nil, fmt.Errorf("token: %w", hookline.ErrNotFound)
}

func (s *fakeAccess) TokenList(ctx context.Context, p store.Page) ([]hookline.Token, bool, error) {
	s.amu.Lock()
	defer s.amu.Unlock()
	var all []hookline.Token
	for _, t := range s.tokens {
		all = append(all, *cloneToken(t))
	}
	page, done := paginate(all, func(t *hookline.Token) string { return t.ID }, p)
	return page, done, nil
}

func (s *fakeAccess) TokenRevoke(ctx context.Context, id string, at time.Time) error {
	s.amu.Lock()
	defer s.amu.Unlock()
	t, ok := s.tokens[id]
	if !ok {
		return fmt.Errorf("token %s: %w", id, hookline.ErrNotFound)
	}
	if t.RevokedAt == nil {
		t.RevokedAt = &at
	}
	return nil
}

func (s *fakeAccess) TokenExpireApp(ctx context.Context, appID string, sessionIDs []string, at time.Time) (int, error) {
	s.amu.Lock()
	defer s.amu.Unlock()
	n := 0
	for _, t := range s.tokens {
		if t.AppID != appID || t.Scope != hookline.ScopeApp || t.RevokedAt != nil || (t.ExpiresAt != nil && !t.ExpiresAt.After(at)) ||
			(len(sessionIDs) > 0 && !slices.Contains(sessionIDs, t.SessionID)) {
			continue
		}
		t.ExpiresAt = &at
		n++
	}
	return n, nil
}

func (s *fakeAccess) TokenTouch(ctx context.Context, id string, at time.Time) error {
	s.amu.Lock()
	defer s.amu.Unlock()
	if t, ok := s.tokens[id]; ok && (t.LastUsedAt == nil || t.LastUsedAt.Before(at)) {
		t.LastUsedAt = &at
	}
	return nil
}

func (s *fakeAccess) LoginCodeCreate(ctx context.Context, c *hookline.LoginCode, now time.Time) error {
	s.amu.Lock()
	defer s.amu.Unlock()
	if s.codes == nil {
		s.codes = map[string]hookline.LoginCode{}
	}
	for k, o := range s.codes {
		if !o.ExpiresAt.After(now) {
			delete(s.codes, k)
		}
	}
	s.codes[string(c.Hash)] = *c
	return nil
}

func (s *fakeAccess) LoginCodeUse(ctx context.Context, hash []byte, now time.Time) (*hookline.Token, error) {
	s.amu.Lock()
	defer s.amu.Unlock()
	c, ok := s.codes[string(hash)]
	if !ok || !c.ExpiresAt.After(now) {
		return nil, fmt.Errorf("login code: %w", hookline.ErrNotFound)
	}
	delete(s.codes, string(hash))
	t, ok := s.tokens[c.TokenID]
	if !ok {
		return nil, fmt.Errorf("login code's token: %w", hookline.ErrNotFound)
	}
	return cloneToken(t), nil
}
