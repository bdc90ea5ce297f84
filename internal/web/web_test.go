package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestEveryPageParses(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := parsePages(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "login_failed", "error", "endpoints", "endpoint_form", "endpoint_delete", "secret"} {
		if pages[name] == nil {
			t.Errorf("no page %s", name)
		}
	}
}

func TestLoginSpendsTheCodeOnlyOnContinue(t *testing.T) {
	e := newEnv(t)
	link := e.portalLink(nil)
	b := e.browser()

	// Opening the link twice, as a link scanner and then the customer
	// would, spends nothing.
	b.get(link).want(http.StatusOK)
	p := b.get(link).want(http.StatusOK)
	p.hasText(`button[data-test-id=continue]`, "Continue")
	if got := p.resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q", got)
	}
	p.none(`input[name=csrf]`)

	code := p.attr(`input[name=code]`, "value")
	p = b.post("/portal/login", url.Values{"code": {code}}).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/portal/endpoints" {
		t.Errorf("Location %q", loc)
	}
	sc := p.resp.Header.Get("Set-Cookie")
	for _, want := range []string{"hookline_portal=hl_", "Path=/portal", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on http", sc)
	}
	b.get("/portal/endpoints").want(http.StatusOK).hasText(`.brand`, "Acme Corp")

	// The code is spent: another browser cannot use it.
	p = e.browser().post("/portal/login", url.Values{"code": {code}}).want(http.StatusGone)
	p.hasText(`h1`, "used or has expired")
	e.browser().post("/portal/login", url.Values{"code": {"made-up"}}).want(http.StatusGone)
}

func TestSessionCookieForIframesOnHTTPS(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.PublicURL = "https://hooks.example.com"
		o.FrameAncestors = "https://app.example.com"
	})
	b := e.browser()
	p := b.get(e.portalLink(nil)).want(http.StatusOK)
	if csp := p.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://app.example.com") ||
		!strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	p = b.post("/portal/login", url.Values{"code": {p.attr(`input[name=code]`, "value")}}).want(http.StatusSeeOther)
	sc := p.resp.Header.Get("Set-Cookie")
	for _, want := range []string{"Path=/portal", "HttpOnly", "Secure", "SameSite=None", "Partitioned"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
}

func TestNoSessionAndLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/portal/endpoints").want(http.StatusUnauthorized).hasText(`h1`, "open the portal again")
	b.login(e.portalLink(nil))
	b.post("/portal/logout", url.Values{"csrf": {b.csrf()}}).want(http.StatusOK).hasText(`h1`, "logged out")
	b.get("/portal/endpoints").want(http.StatusUnauthorized)
}

func TestAssetsHaveContentHashURLs(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login(e.portalLink(nil))
	p := b.get("/portal/endpoints").want(http.StatusOK)
	css := p.attr(`link[rel=stylesheet]`, "href")
	js := p.attr(`script`, "src")
	for _, u := range []string{css, js} {
		if !strings.HasPrefix(u, "/portal/static/app.") || strings.Count(u, ".") != 2 {
			t.Errorf("asset URL %q has no content hash", u)
		}
		a := b.get(u).want(http.StatusOK)
		if cc := a.resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
	}
	b.get("/portal/static/app.css").want(http.StatusNotFound)
	// No inline script: every script has a src.
	for _, s := range p.all(`script`) {
		if _, ok := attr(s, "src"); !ok {
			t.Error("inline script")
		}
	}
	p.one(`a[href=#main]`)
	p.one(`main[id=main]`)
}

// expire-all through the API ends the app's portal sessions at once.
func TestExpireAllEndsSessions(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login(e.portalLink(nil))
	b.get("/portal/endpoints").want(http.StatusOK)
	e.api("POST", "/api/v1/auth/app/"+e.appID+"/expire-all", map[string]any{}, nil, http.StatusNoContent)
	b.get("/portal/endpoints").want(http.StatusUnauthorized).hasText(`h1`, "session has ended")
}
