package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// mintToken stores a token and returns its secret.
func mintToken(t *testing.T, st store.Store, mod func(tok *hookline.Token)) string {
	t.Helper()
	secret, hash := hookline.NewSecret(hookline.TokenPrefix)
	tok := &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Name: "test", Hash: hash, Scope: hookline.ScopeAdmin,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if mod != nil {
		mod(tok)
	}
	if err := st.TokenCreate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return secret
}

func appToken(appID string, caps ...hookline.Capability) func(*hookline.Token) {
	return func(tok *hookline.Token) {
		tok.Scope, tok.AppID, tok.Capabilities = hookline.ScopeApp, appID, caps
	}
}

// TestAccessEveryRoute tries every authenticated route with every kind of
// caller and checks who is refused with 403. What each kind may do is
// written out here from the route's path and method, apart from the rules
// table, so that a wrong row fails; a route without a row makes New panic.
func TestAccessEveryRoute(t *testing.T) {
	e := newSrcEnv(t)
	st := e.env.st
	appA := e.createApp("A", "a") // the app tokens' own
	appB := e.createApp("B", "b") // another app
	appC := e.createApp("C", "c") // what admins change, so that nothing the others use goes
	// What an app's own portal token may reach, beyond its app's routes:
	// the event type catalog and logging itself out.
	catalog := func(p string) bool { return strings.HasPrefix(p, "GET /api/v1/event-type") }
	logout := func(p string) bool { return p == "POST /api/v1/auth/logout" }
	// The routes anyone may call, with a token or without.
	public := func(p string) bool {
		return strings.HasPrefix(p, "GET /api/v1/health") || p == "GET /api/v1/openapi.json"
	}
	// The routes under an app that only the whole API may call.
	adminInApp := []string{
		"PUT /api/v1/app/{app_id}", "PATCH /api/v1/app/{app_id}", "DELETE /api/v1/app/{app_id}",
		"POST /api/v1/app/{app_id}/msg",
		"POST /api/v1/auth/app-portal-access/{app_id}", "POST /api/v1/auth/app/{app_id}/expire-all",
	}
	// The Svix capability an app's route needs, as Svix defines them.
	needs := func(p string) hookline.Capability {
		method, path, _ := strings.Cut(p, " ")
		switch {
		case strings.HasSuffix(path, "/secret"):
			return hookline.CapViewEndpointSecret
		case strings.HasSuffix(path, "/secret/rotate"):
			return hookline.CapManageEndpointSecret
		case strings.HasSuffix(path, "/resend") || strings.HasSuffix(path, "/recover") || strings.HasSuffix(path, "/send-example"):
			return hookline.CapCreateAttempts
		case method == "GET":
			return hookline.CapViewBase
		}
		return hookline.CapManageEndpoint
	}
	// implies says which capabilities include another, as Svix has it.
	implies := func(held, c hookline.Capability) bool {
		return held == hookline.CapManageEndpoint && (c == hookline.CapManageEndpointSecret || c == hookline.CapViewEndpointSecret) ||
			held == hookline.CapManageEndpointSecret && c == hookline.CapViewEndpointSecret
	}
	ownApp := func(p string) bool {
		return strings.Contains(p, "{app_id}") && !slices.Contains(adminInApp, p) || catalog(p) || logout(p) || public(p)
	}
	readOnly := func(p string) bool {
		method, path, _ := strings.Cut(p, " ")
		// Tokens and the operator's endpoints are the admin's alone.
		adminOnly := strings.HasPrefix(path, "/api/v1/token") || strings.HasPrefix(path, "/api/v1/operational-webhook")
		return method == "GET" && !adminOnly && !strings.HasSuffix(path, "/secret") || logout(p) || public(p)
	}

	type kind struct {
		name    string
		app     string // the app the path names
		token   func(pattern string) string
		allowed func(pattern string) bool
	}
	kinds := []kind{
		// The bootstrap admin token lives in the configuration: it may do
		// anything but log out.
		{"bootstrap admin", appC.ID, func(string) string { return testToken }, func(p string) bool { return !logout(p) }},
		{"stored admin", appC.ID, func(string) string { return mintToken(t, st, nil) }, func(string) bool { return true }},
		{"read-only", appA.ID, func(string) string {
			return mintToken(t, st, func(tok *hookline.Token) {
				tok.Scope, tok.ReadOnly, tok.Capabilities = hookline.ScopeReadOnly, true, []hookline.Capability{hookline.CapViewBase}
			})
		}, readOnly},
		{"app token, all capabilities", appA.ID, func(string) string { return mintToken(t, st, appToken(appA.ID, hookline.AppCapabilities...)) }, ownApp},
		{"app token of another app", appA.ID, func(string) string { return mintToken(t, st, appToken(appB.ID, hookline.AppCapabilities...)) }, func(p string) bool { return catalog(p) || logout(p) || public(p) }},
		{"app token lacking the capability", appA.ID, func(p string) string {
			var caps []hookline.Capability
			for _, c := range hookline.AppCapabilities {
				if c != needs(p) && !implies(c, needs(p)) {
					caps = append(caps, c)
				}
			}
			return mintToken(t, st, appToken(appA.ID, caps...))
		}, func(p string) bool { return logout(p) || public(p) }},
		{"app token with only that capability", appA.ID, func(p string) string {
			return mintToken(t, st, appToken(appA.ID, needs(p)))
		}, ownApp},
	}

	// The routes New registers with inbound sources, every one of which
	// has a rule (or New panics), and every rule a route.
	patterns := newServer(Options{Store: st, Inbound: e.svc}).patterns
	for p := range rules {
		if !slices.Contains(patterns, p) {
			t.Errorf("rule for %q, which is no route", p)
		}
	}
	for _, pattern := range patterns {
		method, path, _ := strings.Cut(pattern, " ")
		for _, k := range kinds {
			t.Run(pattern+"/"+k.name, func(t *testing.T) {
				p := strings.NewReplacer("{app_id}", k.app, "{endpoint_id}", "ep_x", "{msg_id}", "msg_x", "{attempt_id}", "atmpt_x",
					"{event_type_name}", "no.such.type", "{source_id}", "src_x", "{request_id}", "rcv_x", "{token_id}", "tok_x").Replace(path)
				var body any
				if method == "POST" || method == "PUT" || method == "PATCH" {
					body = "{}"
				}
				resp := e.in(t).doAuth("Bearer "+k.token(pattern), method, p, body)
				switch want := k.allowed(pattern); {
				case want && (resp.Status == http.StatusForbidden || resp.Status == http.StatusUnauthorized):
					t.Fatalf("%s %s: %d %s, want it allowed", method, p, resp.Status, resp.Body)
				case want && strings.Contains(string(resp.Body), "no such route"):
					t.Fatalf("%s %s did not reach its route: %s", method, p, resp.Body)
				case !want:
					b := resp.wantError(http.StatusForbidden, "forbidden")
					if !strings.HasPrefix(b.Detail, "Forbidden: ") {
						t.Errorf("403 detail %q does not say why", b.Detail)
					}
				}
			})
		}
	}
}
