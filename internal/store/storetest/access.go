package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

func newToken(t *testing.T, s store.Store, mod func(tok *hookline.Token)) (*hookline.Token, string) {
	t.Helper()
	secret, hash := hookline.NewSecret(hookline.TokenPrefix)
	tok := &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Name: "ci", Hash: hash, Scope: hookline.ScopeAdmin, CreatedAt: t0}
	if mod != nil {
		mod(tok)
	}
	must(t, s.TokenCreate(ctx, tok))
	return tok, secret
}

func testTokens(t *testing.T, s store.Store) {
	exp := t0.Add(time.Hour)
	app, secret := newToken(t, s, func(tok *hookline.Token) {
		tok.Scope, tok.AppID, tok.ReadOnly, tok.SessionID = hookline.ScopeApp, "app_1", true, "sess-1"
		tok.Capabilities = []hookline.Capability{hookline.CapViewBase, hookline.CapManageEndpoint}
		tok.FeatureFlags = []string{"beta"}
		tok.ExpiresAt = &exp
	})
	admin, _ := newToken(t, s, nil)

	got, err := s.TokenByHash(ctx, hookline.HashSecret(secret))
	must(t, err)
	if diff := cmp.Diff(app, got); diff != "" {
		t.Errorf("TokenByHash (-created +got):\n%s", diff)
	}
	_, err = s.TokenByHash(ctx, hookline.HashSecret(secret+"x"))
	wantKind(t, err, hookline.ErrNotFound)
	got, err = s.TokenGet(ctx, admin.ID)
	must(t, err)
	if diff := cmp.Diff(admin, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("TokenGet (-created +got):\n%s", diff)
	}
	_, err = s.TokenGet(ctx, hookline.NewID(hookline.PrefixToken))
	wantKind(t, err, hookline.ErrNotFound)
	wantKind(t, s.TokenCreate(ctx, &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Hash: app.Hash, Scope: hookline.ScopeAdmin, CreatedAt: t0}), hookline.ErrConflict)

	// Use is recorded, and never moved back by a late writer.
	must(t, s.TokenTouch(ctx, app.ID, t0.Add(2*time.Minute)))
	must(t, s.TokenTouch(ctx, app.ID, t0.Add(time.Minute)))
	got, err = s.TokenGet(ctx, app.ID)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("last used %v, want %v", got.LastUsedAt, t0.Add(2*time.Minute))
	}

	// Revoking keeps the first time; an unknown token is not found.
	must(t, s.TokenRevoke(ctx, admin.ID, t0.Add(time.Minute)))
	must(t, s.TokenRevoke(ctx, admin.ID, t0.Add(time.Hour)))
	got, err = s.TokenByHash(ctx, admin.Hash)
	must(t, err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(t0.Add(time.Minute)) || got.Active(t0.Add(2*time.Minute)) {
		t.Errorf("revoked token %+v", got)
	}
	wantKind(t, s.TokenRevoke(ctx, hookline.NewID(hookline.PrefixToken), t0), hookline.ErrNotFound)

	// The list holds them all, in creation order, one page at a time.
	toks, done, err := s.TokenList(ctx, store.Page{Limit: 1})
	must(t, err)
	if done || len(toks) != 1 || toks[0].ID != app.ID {
		t.Fatalf("first page %v done=%v", toks, done)
	}
	toks, done, err = s.TokenList(ctx, store.Page{Limit: 5, Iterator: app.ID})
	must(t, err)
	if !done || len(toks) != 1 || toks[0].ID != admin.ID {
		t.Fatalf("second page %v done=%v", toks, done)
	}
}

func testTokenExpireApp(t *testing.T, s store.Store) {
	late := t0.Add(48 * time.Hour)
	soon := t0.Add(time.Minute)
	appTok := func(appID, session string, exp *time.Time) *hookline.Token {
		tok, _ := newToken(t, s, func(tok *hookline.Token) {
			tok.Scope, tok.AppID, tok.SessionID, tok.ExpiresAt = hookline.ScopeApp, appID, session, exp
		})
		return tok
	}
	never := appTok("app_1", "", nil)
	later := appTok("app_1", "s1", &late)
	sooner := appTok("app_1", "s2", &soon)
	other := appTok("app_2", "s1", &late)
	admin, _ := newToken(t, s, nil)

	at := t0.Add(time.Hour)
	// Only the named sessions first.
	n, err := s.TokenExpireApp(ctx, "app_1", []string{"s1"}, at)
	must(t, err)
	if n != 1 {
		t.Errorf("expired %d tokens of session s1, want 1", n)
	}
	n, err = s.TokenExpireApp(ctx, "app_1", nil, at)
	must(t, err)
	if n != 1 { // never; later is at `at` already and sooner expires sooner
		t.Errorf("expired %d more tokens, want 1", n)
	}
	for _, c := range []struct {
		tok  *hookline.Token
		want *time.Time
	}{{never, &at}, {later, &at}, {sooner, &soon}, {other, &late}, {admin, nil}} {
		got, err := s.TokenGet(ctx, c.tok.ID)
		must(t, err)
		if (got.ExpiresAt == nil) != (c.want == nil) || (c.want != nil && !got.ExpiresAt.Equal(*c.want)) {
			t.Errorf("token of app %q session %q expires %v, want %v", c.tok.AppID, c.tok.SessionID, got.ExpiresAt, c.want)
		}
	}
}

func testLoginCodes(t *testing.T, s store.Store) {
	tok, _ := newToken(t, s, func(tok *hookline.Token) { tok.Scope, tok.AppID = hookline.ScopeApp, "app_1" })
	code, hash := hookline.NewSecret("")
	must(t, s.LoginCodeCreate(ctx, &hookline.LoginCode{Hash: hash, TokenID: tok.ID, ExpiresAt: t0.Add(time.Minute)}, t0))

	_, err := s.LoginCodeUse(ctx, hookline.HashSecret(code+"x"), t0)
	wantKind(t, err, hookline.ErrNotFound)
	got, err := s.LoginCodeUse(ctx, hash, t0.Add(time.Second))
	must(t, err)
	if got.ID != tok.ID || got.AppID != "app_1" {
		t.Errorf("code opened token %+v, want %s", got, tok.ID)
	}
	_, err = s.LoginCodeUse(ctx, hash, t0.Add(time.Second))
	wantKind(t, err, hookline.ErrNotFound) // one use only

	// An expired code opens nothing, and is dropped when the next is made.
	_, old := hookline.NewSecret("")
	must(t, s.LoginCodeCreate(ctx, &hookline.LoginCode{Hash: old, TokenID: tok.ID, ExpiresAt: t0.Add(time.Minute)}, t0))
	_, err = s.LoginCodeUse(ctx, old, t0.Add(time.Minute))
	wantKind(t, err, hookline.ErrNotFound)
	_, fresh := hookline.NewSecret("")
	must(t, s.LoginCodeCreate(ctx, &hookline.LoginCode{Hash: fresh, TokenID: tok.ID, ExpiresAt: t0.Add(time.Hour)}, t0.Add(2*time.Minute)))
	_, err = s.LoginCodeUse(ctx, old, t0)
	wantKind(t, err, hookline.ErrNotFound)
	if _, err := s.LoginCodeUse(ctx, fresh, t0.Add(3*time.Minute)); err != nil {
		t.Errorf("fresh code: %v", err)
	}
}

func testTokenPrune(t *testing.T, s store.Store) {
	m := maintainer(t, s)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	expiredLongAgo, _ := newToken(t, s, func(tok *hookline.Token) { tok.ExpiresAt = at(time.Hour) })
	revokedLongAgo, _ := newToken(t, s, nil)
	must(t, s.TokenRevoke(ctx, revokedLongAgo.ID, t0.Add(time.Hour)))
	expiredLately, _ := newToken(t, s, func(tok *hookline.Token) { tok.ExpiresAt = at(72 * time.Hour) })
	live, _ := newToken(t, s, func(tok *hookline.Token) { tok.ExpiresAt = at(1000 * time.Hour) })
	forever, _ := newToken(t, s, nil)

	cutoff := t0.Add(48 * time.Hour)
	n, err := m.TokenPrune(ctx, cutoff, 1)
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d with limit 1", n)
	}
	n, err = m.TokenPrune(ctx, cutoff, 100)
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d more, want 1", n)
	}
	for _, tok := range []*hookline.Token{expiredLongAgo, revokedLongAgo} {
		_, err := s.TokenGet(ctx, tok.ID)
		wantKind(t, err, hookline.ErrNotFound)
	}
	for _, tok := range []*hookline.Token{expiredLately, live, forever} {
		if _, err := s.TokenGet(ctx, tok.ID); err != nil {
			t.Errorf("token kept past the cutoff: %v", err)
		}
	}
}
