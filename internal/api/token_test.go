package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// clockEnv is an env whose clock the test moves forward.
func clockEnv(t *testing.T, st store.Store, opts ...func(*Options)) (*env, *atomic.Int64) {
	offset := new(atomic.Int64)
	e := newEnv(t, st, append([]func(*Options){func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}}, opts...)...)
	return e, offset
}

func TestTokenLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e, offset := clockEnv(t, st)
		app := e.createApp("Acme", "acme")
		e.createApp("Other", "other")

		// An app token by uid, with the default capabilities and an hour.
		var created tokenOut
		e.do("POST", "/api/v1/token", map[string]any{"name": "ci", "scope": "app", "appId": "acme", "expiry": 3600}).
			want(http.StatusCreated).decode(&created)
		if !strings.HasPrefix(created.Token, hookline.TokenPrefix) || len(created.Token) < len(hookline.TokenPrefix)+26 {
			t.Fatalf("token %q", created.Token)
		}
		if created.AppID == nil || *created.AppID != app.ID || len(created.Capabilities) != len(hookline.AppCapabilities) ||
			created.ExpiresAt == nil || created.ExpiresAt.Sub(created.CreatedAt) != time.Hour {
			t.Fatalf("created %+v", created)
		}
		bearer := "Bearer " + created.Token
		e.doAuth(bearer, "GET", "/api/v1/app/acme/endpoint", nil).want(http.StatusOK)
		e.doAuth(bearer, "GET", "/api/v1/app/other/endpoint", nil).wantError(http.StatusForbidden, "forbidden")
		e.doAuth(bearer, "GET", "/api/v1/app", nil).wantError(http.StatusForbidden, "forbidden")

		// Listed and read without the secret, with its last use.
		var list listOut[tokenOut]
		e.do("GET", "/api/v1/token", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 1 || list.Data[0].ID != created.ID || list.Data[0].Token != "" || list.Data[0].LastUsedAt == nil {
			t.Fatalf("list %+v", list.Data)
		}
		got := e.do("GET", "/api/v1/token/"+created.ID, nil).want(http.StatusOK)
		if strings.Contains(string(got.Body), created.Token) || strings.Contains(string(got.Body), `"token"`) {
			t.Errorf("GET token shows its secret: %s", got.Body)
		}
		e.do("GET", "/api/v1/token/tok_nope", nil).wantError(http.StatusNotFound, "not_found")

		// Expired: refused as unauthenticated.
		offset.Store(int64(time.Hour + time.Second))
		e.doAuth(bearer, "GET", "/api/v1/app/acme/endpoint", nil).wantError(http.StatusUnauthorized, "authentication_failed")
		offset.Store(0)
		e.doAuth(bearer, "GET", "/api/v1/app/acme/endpoint", nil).want(http.StatusOK)

		// Revoked: refused at once on this node, and again later.
		e.do("DELETE", "/api/v1/token/"+created.ID, nil).want(http.StatusNoContent)
		e.do("DELETE", "/api/v1/token/"+created.ID, nil).want(http.StatusNoContent)
		r := e.doAuth(bearer, "GET", "/api/v1/app/acme/endpoint", nil)
		r.wantError(http.StatusUnauthorized, "authentication_failed")
		if r.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Error("no WWW-Authenticate on a revoked token")
		}
		var after tokenOut
		e.do("GET", "/api/v1/token/"+created.ID, nil).want(http.StatusOK).decode(&after)
		if after.RevokedAt == nil {
			t.Errorf("revoked token shows no revokedAt: %+v", after)
		}

		// A token of hookline's form that was never issued.
		fake, _ := hookline.NewSecret(hookline.TokenPrefix)
		e.doAuth("Bearer "+fake, "GET", "/api/v1/app", nil).wantError(http.StatusUnauthorized, "authentication_failed")
	})
}

func TestTokenCreateValidates(t *testing.T) {
	e := newEnv(t, newFakeStore())
	e.createApp("Acme", "acme")
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no scope", map[string]any{"name": "x"}, "scope"},
		{"unknown scope", map[string]any{"scope": "root"}, "scope"},
		{"app scope without app", map[string]any{"scope": "app"}, "appId"},
		{"unknown app", map[string]any{"scope": "app", "appId": "nope"}, "appId"},
		{"admin with app", map[string]any{"scope": "admin", "appId": "acme"}, "appId"},
		{"unknown capability", map[string]any{"scope": "app", "appId": "acme", "capabilities": []string{"Everything"}}, "capabilities"},
		{"read-only writing", map[string]any{"scope": "read-only", "capabilities": []string{"ManageEndpoint"}}, "capabilities"},
		{"admin read-only", map[string]any{"scope": "admin", "readOnly": true}, "readOnly"},
		{"negative expiry", map[string]any{"scope": "admin", "expiry": -1}, "expiry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.in(t).do("POST", "/api/v1/token", c.body).wantInvalid("body", c.field)
		})
	}
}

// TestReadOnlyToken checks the read-only scope: every app and every read,
// nothing written, no secret unless granted.
func TestReadOnlyToken(t *testing.T) {
	e := newEnv(t, newFakeStore())
	app := e.createApp("Acme", "acme")
	ep := e.createEndpoint(app.ID, map[string]any{"url": "https://example.com/hook"})
	var ro tokenOut
	e.do("POST", "/api/v1/token", map[string]any{"scope": "read-only"}).want(http.StatusCreated).decode(&ro)
	if !ro.ReadOnly {
		t.Errorf("read-only token says readOnly=false")
	}
	bearer := "Bearer " + ro.Token
	e.doAuth(bearer, "GET", "/api/v1/app", nil).want(http.StatusOK)
	e.doAuth(bearer, "GET", "/api/v1/app/acme/endpoint/"+ep.ID, nil).want(http.StatusOK)
	b := e.doAuth(bearer, "POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/2"}).wantError(http.StatusForbidden, "forbidden")
	if !strings.Contains(b.Detail, "read-only") {
		t.Errorf("detail %q does not say the token is read-only", b.Detail)
	}
	e.doAuth(bearer, "GET", "/api/v1/app/acme/endpoint/"+ep.ID+"/secret", nil).wantError(http.StatusForbidden, "forbidden")
	e.doAuth(bearer, "GET", "/api/v1/token", nil).wantError(http.StatusForbidden, "forbidden")

	// An app token always reads its app, whatever capabilities it names.
	var resender tokenOut
	e.do("POST", "/api/v1/token", map[string]any{"scope": "app", "appId": "acme", "capabilities": []string{"CreateAttempts"}}).
		want(http.StatusCreated).decode(&resender)
	if !slices.Equal(resender.Capabilities, []string{"ViewBase", "CreateAttempts"}) {
		t.Errorf("capabilities %v", resender.Capabilities)
	}
	e.doAuth("Bearer "+resender.Token, "GET", "/api/v1/app/acme/endpoint", nil).want(http.StatusOK)

	var withSecret tokenOut
	e.do("POST", "/api/v1/token", map[string]any{"scope": "read-only", "capabilities": []string{"ViewEndpointSecret"}}).
		want(http.StatusCreated).decode(&withSecret)
	e.doAuth("Bearer "+withSecret.Token, "GET", "/api/v1/app/acme/endpoint/"+ep.ID+"/secret", nil).want(http.StatusOK)
}

// countingStore counts token lookups.
type countingStore struct {
	store.Store
	byHash atomic.Int32
}

func (c *countingStore) TokenByHash(ctx context.Context, hash []byte) (*hookline.Token, error) {
	c.byHash.Add(1)
	return c.Store.TokenByHash(ctx, hash)
}

// TestTokenLookups checks what authenticating costs the store: nothing for
// the bootstrap admin token, one lookup per few seconds for a stored
// token, and a last-used write at most once a minute.
func TestTokenLookups(t *testing.T) {
	st := &countingStore{Store: newFakeStore()}
	e, offset := clockEnv(t, st)
	app := e.createApp("Acme", "acme")
	for range 5 {
		e.do("POST", "/api/v1/app/acme/msg", map[string]any{"eventType": "a", "payload": map[string]any{}}).want(http.StatusAccepted)
	}
	if n := st.byHash.Load(); n != 0 {
		t.Fatalf("the admin token cost %d token lookups", n)
	}

	secret := mintToken(t, st, appToken(app.ID, hookline.CapViewBase))
	first := time.Now()
	for range 5 {
		e.doAuth("Bearer "+secret, "GET", "/api/v1/app/acme/msg", nil).want(http.StatusOK)
	}
	if n := st.byHash.Load(); n != 1 {
		t.Errorf("5 requests in a row cost %d token lookups, want 1", n)
	}
	tok, err := st.TokenByHash(context.Background(), hookline.HashSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	if tok.LastUsedAt == nil || tok.LastUsedAt.Before(first.Add(-time.Second)) {
		t.Fatalf("last used %v, want about %v", tok.LastUsedAt, first)
	}
	used := *tok.LastUsedAt

	offset.Store(int64(30 * time.Second))
	e.doAuth("Bearer "+secret, "GET", "/api/v1/app/acme/msg", nil).want(http.StatusOK)
	tok, _ = st.TokenByHash(context.Background(), hookline.HashSecret(secret))
	if !tok.LastUsedAt.Equal(used) {
		t.Errorf("last used written again after 30s: %v, was %v", tok.LastUsedAt, used)
	}
	offset.Store(int64(61 * time.Second))
	e.doAuth("Bearer "+secret, "GET", "/api/v1/app/acme/msg", nil).want(http.StatusOK)
	tok, _ = st.TokenByHash(context.Background(), hookline.HashSecret(secret))
	if !tok.LastUsedAt.After(used.Add(time.Minute)) {
		t.Errorf("last used %v not written a minute after %v", tok.LastUsedAt, used)
	}
}

func TestAppPortalAccess(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(o *Options) { o.PublicURL = "https://hooks.example.com/" })
		e.createApp("Acme", "acme")
		other := e.createApp("Other", "other")

		var out appPortalAccessOut
		e.do("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"capabilities": []string{"ManageEndpoint"},
			"featureFlags": []string{"beta"}, "sessionId": "s1"}).want(http.StatusOK).decode(&out)
		u, err := url.Parse(out.URL)
		if err != nil || u.Scheme != "https" || u.Host != "hooks.example.com" || u.Path != "/portal/login" || u.Query().Get("code") == "" {
			t.Fatalf("url %q", out.URL)
		}
		code := u.Query().Get("code")
		if strings.Contains(code, out.Token) || strings.Contains(out.Token, code) {
			t.Fatal("the login code holds the token")
		}

		// The token: this app, the capabilities asked for and ViewBase, 7 days.
		tok, err := st.TokenByHash(context.Background(), hookline.HashSecret(out.Token))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Scope != hookline.ScopeApp || tok.SessionID != "s1" || len(tok.Capabilities) != 2 ||
			tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.CreatedAt) != 7*24*time.Hour {
			t.Errorf("portal token %+v", tok)
		}
		bearer := "Bearer " + out.Token
		e.doAuth(bearer, "POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/h"}).want(http.StatusCreated)
		e.doAuth(bearer, "GET", "/api/v1/app/"+other.ID+"/endpoint", nil).wantError(http.StatusForbidden, "forbidden")
		e.doAuth(bearer, "POST", "/api/v1/app/acme/msg", map[string]any{"eventType": "a", "payload": map[string]any{}}).wantError(http.StatusForbidden, "forbidden")

		// The code opens the same token once, and is kept only as a hash.
		if _, err := st.LoginCodeUse(context.Background(), []byte(code), time.Now()); err == nil {
			t.Error("the code itself is stored")
		}
		got, err := st.LoginCodeUse(context.Background(), hookline.HashSecret(code), time.Now())
		if err != nil || got.ID != tok.ID {
			t.Fatalf("login code opens %v, %v; want token %s", got, err, tok.ID)
		}
		if _, err := st.LoginCodeUse(context.Background(), hookline.HashSecret(code), time.Now()); err == nil {
			t.Error("the login code works twice")
		}

		// Read-only: no writes whatever the capabilities.
		e.do("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"readOnly": true}).want(http.StatusOK).decode(&out)
		e.doAuth("Bearer "+out.Token, "GET", "/api/v1/app/acme/endpoint", nil).want(http.StatusOK)
		e.doAuth("Bearer "+out.Token, "POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/h"}).wantError(http.StatusForbidden, "forbidden")

		// An unknown app, created from the body when it names the same uid.
		e.do("POST", "/api/v1/auth/app-portal-access/new-co", map[string]any{}).wantError(http.StatusNotFound, "not_found")
		e.do("POST", "/api/v1/auth/app-portal-access/new-co", map[string]any{"application": map[string]any{"name": "New", "uid": "other-uid"}}).
			wantInvalid("body", "application", "uid")
		e.do("POST", "/api/v1/auth/app-portal-access/new-co", map[string]any{"application": map[string]any{"name": "New", "uid": "new-co"}}).
			want(http.StatusOK).decode(&out)
		e.doAuth("Bearer "+out.Token, "GET", "/api/v1/app/new-co", nil).want(http.StatusOK)

		e.do("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"expiry": 60}).wantInvalid("body", "expiry")
		e.do("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"capabilities": []string{"Root"}}).wantInvalid("body", "capabilities")
		e.do("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"featureFlags": []string{"no spaces"}}).wantInvalid("body", "featureFlags")
	})
}

func TestExpireAllAndLogout(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e, offset := clockEnv(t, st)
		e.createApp("Acme", "acme")
		e.createApp("Other", "other")
		access := func(app string, body map[string]any) string {
			var out appPortalAccessOut
			e.do("POST", "/api/v1/auth/app-portal-access/"+app, body).want(http.StatusOK).decode(&out)
			return "Bearer " + out.Token
		}
		works := func(bearer, app string) bool {
			return e.doAuth(bearer, "GET", "/api/v1/app/"+app+"/endpoint", nil).Status == http.StatusOK
		}
		s1, s2, plain := access("acme", map[string]any{"sessionId": "s1"}), access("acme", map[string]any{"sessionId": "s2"}), access("acme", nil)
		otherApp := access("other", map[string]any{"sessionId": "s1"})

		e.do("POST", "/api/v1/auth/app/acme/expire-all", map[string]any{"sessionIds": []string{"s1"}}).want(http.StatusNoContent)
		if works(s1, "acme") || !works(s2, "acme") || !works(plain, "acme") || !works(otherApp, "other") {
			t.Fatal("expire-all with sessionIds ended the wrong tokens")
		}
		e.do("POST", "/api/v1/auth/app/acme/expire-all", map[string]any{"expiry": 60}).want(http.StatusNoContent)
		if !works(s2, "acme") || !works(plain, "acme") {
			t.Fatal("tokens ended before their delay")
		}
		offset.Store(int64(61 * time.Second))
		if works(s2, "acme") || works(plain, "acme") || !works(otherApp, "other") {
			t.Fatal("expire-all with a delay did not end the app's tokens, or ended another app's")
		}
		e.do("POST", "/api/v1/auth/app/nope/expire-all", nil).wantError(http.StatusNotFound, "not_found")

		// Logout ends the calling token only; the bootstrap token cannot.
		fresh, other := access("acme", nil), access("acme", nil)
		e.doAuth(fresh, "POST", "/api/v1/auth/logout", nil).want(http.StatusNoContent)
		if works(fresh, "acme") || !works(other, "acme") {
			t.Fatal("logout ended the wrong tokens")
		}
		b := e.do("POST", "/api/v1/auth/logout", nil).wantError(http.StatusForbidden, "forbidden")
		if !strings.Contains(b.Detail, "bootstrap admin token") {
			t.Errorf("detail %q", b.Detail)
		}
		e.do("GET", "/api/v1/app", nil).want(http.StatusOK)
	})
}

// TestAppTokenByUID checks that an app token reaches its app by uid as by
// ID, and another app by neither, whether that app exists or not.
func TestAppTokenByUID(t *testing.T) {
	e := newEnv(t, newFakeStore())
	app := e.createApp("Acme", "acme")
	other := e.createApp("Other", "other")
	bearer := "Bearer " + mintToken(t, e.st, appToken(app.ID, hookline.CapViewBase))
	e.doAuth(bearer, "GET", "/api/v1/app/acme", nil).want(http.StatusOK)
	e.doAuth(bearer, "GET", "/api/v1/app/"+app.ID, nil).want(http.StatusOK)
	for _, p := range []string{"other", other.ID, "no-such-app"} {
		e.doAuth(bearer, "GET", "/api/v1/app/"+p, nil).wantError(http.StatusForbidden, "forbidden")
	}
}

// TestIdempotencyKeysPerToken checks that a key one caller used is not
// replayed to another: each token has keys of its own.
func TestIdempotencyKeysPerToken(t *testing.T) {
	e := newEnv(t, newFakeStore())
	app := e.createApp("Acme", "acme")
	portal := "Bearer " + mintToken(t, e.st, appToken(app.ID, hookline.AppCapabilities...))
	other := "Bearer " + mintToken(t, e.st, appToken(app.ID, hookline.AppCapabilities...))
	var first, replay, mine, theirs endpointOut
	e.do("POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/admin"}, "idempotency-key", "k1").
		want(http.StatusCreated).decode(&first)
	e.do("POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/admin"}, "idempotency-key", "k1").
		want(http.StatusCreated).decode(&replay)
	e.doAuth(portal, "POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/portal"}, "idempotency-key", "k1").
		want(http.StatusCreated).decode(&mine)
	e.doAuth(other, "POST", "/api/v1/app/acme/endpoint", map[string]any{"url": "https://example.com/other"}, "idempotency-key", "k1").
		want(http.StatusCreated).decode(&theirs)
	if replay.ID != first.ID || mine.ID == first.ID || theirs.ID == mine.ID || mine.URL != "https://example.com/portal" {
		t.Errorf("endpoints %s %s %s %s: a key was replayed across tokens, or not to its own", first.ID, replay.ID, mine.ID, theirs.ID)
	}
}
