package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/metrics"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// consoleLogin logs b in to the console with token, wanting status.
func (b *browser) consoleLogin(token string, status int) *htmlPage {
	b.e.t.Helper()
	return b.post("/console/login", url.Values{"token": {token}, "next": {"/console/"}}).want(status)
}

// consoleCSRF reads the form token off a console page.
func (b *browser) consoleCSRF() string {
	b.e.t.Helper()
	return b.get("/console/").want(http.StatusOK).attr(`form[action=/console/logout] input[name=csrf]`, "value")
}

func TestConsoleLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.get("/console/apps").want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/console/login?next=%2Fconsole%2Fapps" {
		t.Errorf("without a session: redirect to %q", loc)
	}
	p = b.get("/console/login").want(http.StatusOK)
	p.one(`input[name=token][type=password]`)
	if csp := p.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("console CSP %q", csp)
	}
	b.consoleLogin("not-a-token", http.StatusUnauthorized).hasText(`[data-test-id=login-error]`, "not valid")
	// A portal token is for one app's pages, not the console.
	var access struct{ Token string }
	e.api("POST", "/api/v1/auth/app-portal-access/"+e.appID, nil, &access, http.StatusOK)
	b.consoleLogin(access.Token, http.StatusUnauthorized).hasText(`[data-test-id=login-error]`, "one application")

	p = b.consoleLogin(adminToken, http.StatusSeeOther)
	var cookie *http.Cookie
	for _, c := range p.resp.Cookies() {
		if c.Name == consoleCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/console" {
		t.Fatalf("console cookie %+v", cookie)
	}
	if loc := p.resp.Header.Get("Location"); loc != "/console/" {
		t.Errorf("after login: %q", loc)
	}
	b.get("/console/").want(http.StatusOK).one(`[data-test-id=gauges]`)
	// A next outside the console is not followed.
	p = b.post("/console/login", url.Values{"token": {adminToken}, "next": {"//evil.example/"}}).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/console/" {
		t.Errorf("a foreign next: redirect to %q", loc)
	}

	b.post("/console/logout", url.Values{"csrf": {b.consoleCSRF()}}).want(http.StatusSeeOther)
	b.get("/console/").want(http.StatusSeeOther)
}

func TestConsoleScreens(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	csrf := b.consoleCSRF()

	// Applications: listed, and found by uid.
	b.get("/console/apps").want(http.StatusOK).one(`[data-test-id=app][data-id=` + e.appID + `]`)
	p := b.get("/console/apps?q=acme").want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/console/apps/"+e.appID+"/" {
		t.Fatalf("find by uid: %q", loc)
	}
	b.get("/console/apps?q=nope").want(http.StatusOK).one(`[data-test-id=not-found]`)
	// By a part of the name, in any case.
	p = b.get("/console/apps?q=ME%20co").want(http.StatusOK)
	p.one(`[data-test-id=found-app][data-id=` + e.appID + `]`)
	b.get("/console/apps/"+e.appID+"/").want(http.StatusOK).hasText(`h1`, "Acme Corp")

	// The app's endpoints through the portal's pages, under the console.
	base := "/console/apps/" + e.appID
	p = b.get(base + "/endpoints").want(http.StatusOK)
	if href := p.attr(`a[data-test-id=new-endpoint]`, "href"); href != base+"/endpoints/new" {
		t.Errorf("new endpoint link %q", href)
	}
	p = b.post(base+"/endpoints", url.Values{"csrf": {csrf}, "url": {"https://example.com/ops"}, "format": {"json"}}).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); !strings.HasPrefix(loc, base+"/endpoints") {
		t.Errorf("after create: %q", loc)
	}
	if eps := e.endpoints(); len(eps) != 1 || eps[0].URL != "https://example.com/ops" {
		t.Fatalf("endpoints through the API: %+v", eps)
	}
	b.get(base + "/messages").want(http.StatusOK)
	b.get("/console/apps/app_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ/endpoints").want(http.StatusNotFound)

	// Open its portal: a one-use link to the customer's view.
	p = b.post(base+"/portal", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); !strings.HasPrefix(loc, "/portal/login?code=") {
		t.Fatalf("open portal: %q", loc)
	}
	portal := e.browser()
	portal.login(p.resp.Header.Get("Location"))
	portal.get("/portal/endpoints").want(http.StatusOK).hasText(`[data-test-id=endpoint] h2`, "https://example.com/ops")

	// Event types: made with an example, which the API and the portal show.
	p = b.post("/console/event-types", url.Values{"csrf": {csrf}, "name": {"order.shipped"}, "description": {"An order left."},
		"example": {`{"orderId": "o_1"}`}}).want(http.StatusSeeOther)
	var et struct {
		Schemas map[string]map[string]any
	}
	e.api("GET", "/api/v1/event-type/order.shipped", nil, &et, http.StatusOK)
	if ex, _ := et.Schemas["1"]["examples"].([]any); len(ex) != 1 {
		t.Errorf("schemas after the form: %+v", et.Schemas)
	}
	b.post("/console/event-types", url.Values{"csrf": {csrf}, "name": {"order.shipped"}}).want(http.StatusUnprocessableEntity)
	b.post("/console/event-types", url.Values{"csrf": {csrf}, "name": {"bad"}, "example": {"[1"}}).want(http.StatusUnprocessableEntity).
		hasText(`[id=example-error]`, "JSON")
	b.post("/console/event-types/order.shipped", url.Values{"csrf": {csrf}, "description": {"Shipped."}, "example": {`{"orderId": "o_2"}`}}).
		want(http.StatusSeeOther)
	p = b.get("/console/event-types").want(http.StatusOK)
	p.hasText(`[data-test-id=event-type][data-name=order.shipped]`, "Shipped.")
	p.hasText(`[data-test-id=event-type][data-name=order.shipped] pre`, `"o_2"`)

	// Tokens: a read-only one is shown once, and logs in to a console
	// that changes nothing.
	p = b.post("/console/tokens", url.Values{"csrf": {csrf}, "name": {"viewer"}, "scope": {"read-only"}}).want(http.StatusCreated)
	secret := p.text(`[data-test-id=token-secret]`)
	if !strings.HasPrefix(secret, "hl_") && len(secret) < 20 {
		t.Fatalf("token secret %q", secret)
	}
	b.post("/console/tokens", url.Values{"csrf": {csrf}, "scope": {"app"}, "app": {"nope"}}).want(http.StatusUnprocessableEntity).
		hasText(`[data-test-id=app-error]`, "nope")

	ro := e.browser()
	ro.consoleLogin(secret, http.StatusSeeOther)
	roCSRF := ro.consoleCSRF()
	p = ro.get("/console/event-types").want(http.StatusOK)
	p.none(`[data-test-id=new-event-type]`)
	p = ro.get(base + "/endpoints").want(http.StatusOK)
	p.none(`[data-test-id=new-endpoint]`)
	ro.get("/console/apps/" + e.appID + "/").want(http.StatusOK).none(`[data-test-id=open-portal]`)
	p = ro.get("/console/tokens").want(http.StatusForbidden)
	for path, form := range map[string]url.Values{
		"/console/event-types": {"name": {"forged.type"}},
		base + "/endpoints":    {"url": {"https://example.com/forged"}},
		base + "/portal":       {},
		"/console/tokens":      {"scope": {"admin"}},
	} {
		form.Set("csrf", roCSRF)
		ro.post(path, form).want(http.StatusForbidden)
	}
	if eps := e.endpoints(); len(eps) != 1 {
		t.Errorf("%d endpoints after forged posts", len(eps))
	}

	// Revoked, the token no longer logs in, and its session ends.
	var revoke string
	for _, row := range b.get("/console/tokens").want(http.StatusOK).all(`[data-test-id=token]`) {
		if strings.Contains(textOf(row), "viewer") {
			for _, f := range matchAll(row, `form`) {
				revoke, _ = attr(f, "action")
			}
		}
	}
	if revoke == "" {
		t.Fatal("no revoke form for the viewer token")
	}
	b.post(revoke, url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	ro.get("/console/").want(http.StatusSeeOther)
	e.browser().consoleLogin(secret, http.StatusUnauthorized)
}

func TestConsoleOverviewCharts(t *testing.T) {
	m := metrics.New(metrics.Options{})
	h := m.NewHistory(nil)
	m.Published(3)
	m.Attempted(hookline.StatusSuccess, time.Millisecond, time.Millisecond)
	m.Attempted(hookline.StatusFail, time.Millisecond, time.Millisecond)
	m.Received("src_1", "accepted")
	m.Received("src_1", "accepted")
	h.Tick()
	e := newEnv(t, func(o *Options) { o.History = h })
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	p := b.get("/console/").want(http.StatusOK)
	if n := len(p.all(`[data-test-id=chart]`)); n != 5 {
		t.Fatalf("%d charts, want 5", n)
	}
	if got := textOf(p.all(`[data-test-id=chart] figcaption`)[0]); !strings.Contains(got, "Messages published in the last hour, by minute: 3") {
		t.Errorf("first chart: %q", got)
	}
	if n := len(p.all(`[data-test-id=source-count]`)); n != 1 {
		t.Errorf("%d sources counted, want 1", n)
	}
	p.hasText(`[data-test-id=source-count][data-id=src_1]`, "2")
	if n := len(p.all(`rect`)); n < 3 {
		t.Errorf("%d bars drawn, want the minute's published, succeeded and failed", n)
	}

	// Without metrics, the overview says why there are no charts.
	e = newEnv(t)
	b = e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	b.get("/console/").want(http.StatusOK).none(`[data-test-id=chart]`)
}

func TestConsoleMessages(t *testing.T) {
	e := newEnv(t)
	var other struct{ ID string }
	e.api("POST", "/api/v1/app", map[string]any{"name": "Globex", "uid": "globex"}, &other, http.StatusCreated)
	var m1, m2 struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/msg", map[string]any{"eventType": "invoice.paid", "eventId": "e-1", "payload": map[string]any{}}, &m1, http.StatusAccepted)
	e.api("POST", "/api/v1/app/"+other.ID+"/msg", map[string]any{"eventType": "user.created", "payload": map[string]any{}}, &m2, http.StatusAccepted)
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)

	p := b.get("/console/messages").want(http.StatusOK)
	p.one(`[data-test-id=message][data-id=` + m1.ID + `]`)
	p.one(`[data-test-id=message][data-id=` + m2.ID + `]`)
	p = b.get("/console/messages?eventType=user.created").want(http.StatusOK)
	p.none(`[data-test-id=message][data-id=` + m1.ID + `]`)
	p.one(`[data-test-id=message][data-id=` + m2.ID + `]`)

	p = b.get("/console/messages?q=" + m2.ID).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/console/apps/"+other.ID+"/messages/"+m2.ID {
		t.Errorf("find by ID: %q", loc)
	}
	b.get(p.resp.Header.Get("Location")).want(http.StatusOK).hasText(`[data-test-id=message-id]`, m2.ID)
	b.get("/console/messages?q=msg_nothing").want(http.StatusOK).one(`[data-test-id=not-found]`)

	// An application narrows the search to its logs, where event IDs are.
	p = b.get("/console/messages?app=acme&q=e-1").want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/console/apps/"+e.appID+"/messages?q=e-1" {
		t.Errorf("with an app: %q", loc)
	}
	p = b.get(p.resp.Header.Get("Location")).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/console/apps/"+e.appID+"/messages/"+m1.ID {
		t.Errorf("event ID in the app: %q", loc)
	}
	b.get("/console/messages?app=nope").want(http.StatusOK).one(`[data-test-id=app-error]`)
}

// TestConsoleClusterNodes shows a PostgreSQL cluster's nodes on the
// overview, with the one that leads.
func TestConsoleClusterNodes(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{NodeID: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.NodeBeat(ctx, store.Node{ID: "node-a", Worker: true}, time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if lead, err := st.TryLead(ctx); err != nil || !lead {
		t.Fatalf("lead: %v, %v", lead, err)
	}
	e := newEnvOn(t, st, func(o *Options) { o.NodeID = "node-a" })
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	p := b.get("/console/").want(http.StatusOK)
	p.hasText(`[data-test-id=node][data-id=node-a]`, "this node")
	p.one(`[data-test-id=node][data-id=node-a] [data-test-id=leader]`)
}
