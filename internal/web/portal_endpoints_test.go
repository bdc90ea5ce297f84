package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestEndpointScreens(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login(e.portalLink(nil))

	p := b.get("/portal/endpoints").want(http.StatusOK)
	p.one(`[data-test-id=no-endpoints]`)
	p.one(`a[data-test-id=new-endpoint]`)
	csrf := p.attr(`form[action=/portal/logout] input[name=csrf]`, "value")

	// The form offers the catalog with its descriptions and the formats.
	p = b.get("/portal/endpoints/new").want(http.StatusOK)
	p.one(`input[name=url][type=url]`)
	p.one(`label[for=url]`)
	p.one(`input[name=eventTypes][value=invoice.paid]`)
	if !strings.Contains(p.body, "An invoice was paid in full.") {
		t.Error("the form does not describe invoice.paid")
	}
	p.one(`input[name=format][value=xml]`)
	p.one(`input[name=format][value=json][checked]`)

	// A refused URL re-renders the form with the message by the field.
	p = b.post("/portal/endpoints", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/hook"},
		"eventTypes": {"invoice.paid"}, "format": {"form"}}).want(http.StatusUnprocessableEntity)
	p.one(`[role=alert]`)
	p.hasText(`[role=alert] a[href=#url]`, "URL:")
	p.one(`input[name=url][aria-invalid=true]`)
	// In a customer's words: the guard's own names the operator's flag.
	p.hasText(`[id=url-error]`, "reachable from the internet")
	if strings.Contains(p.body, "allow-private-networks") {
		t.Error("the portal names an operator's flag to a customer")
	}
	p.one(`input[name=eventTypes][value=invoice.paid][checked]`)
	p.one(`input[name=format][value=form][checked]`)
	// So does an event type not in the catalog.
	p = b.post("/portal/endpoints", url.Values{"csrf": {csrf}, "url": {"https://example.com/hook"},
		"eventTypes": {"no.such"}}).want(http.StatusUnprocessableEntity)
	p.hasText(`[id=eventTypes-error]`, "no.such")
	if n := len(e.endpoints()); n != 0 {
		t.Fatalf("%d endpoints after refused posts", n)
	}

	p = b.post("/portal/endpoints", url.Values{"csrf": {csrf}, "url": {"https://example.com/hook"},
		"description": {"Billing"}, "eventTypes": {"invoice.paid"}, "format": {"xml"}}).want(http.StatusSeeOther)
	eps := e.endpoints()
	if len(eps) != 1 || eps[0].URL != "https://example.com/hook" || eps[0].Description != "Billing" ||
		eps[0].Format != "xml" || len(eps[0].EventTypes) != 1 || eps[0].EventTypes[0] != "invoice.paid" {
		t.Fatalf("endpoints through the API: %+v", eps)
	}
	id := eps[0].ID
	p = b.get(p.resp.Header.Get("Location")).want(http.StatusOK)
	p.hasText(`[data-test-id=flash]`, "created")
	p.hasText(`[data-test-id=endpoint] h2`, "https://example.com/hook")
	p.hasText(`[data-test-id=state]`, "Enabled")
	p.hasText(`[data-test-id=event-types]`, "invoice.paid")

	// Edit.
	p = b.get("/portal/endpoints/" + id + "/edit").want(http.StatusOK)
	if v := p.attr(`input[name=description]`, "value"); v != "Billing" {
		t.Errorf("edit form description %q", v)
	}
	p.one(`input[name=eventTypes][value=invoice.paid][checked]`)
	b.post("/portal/endpoints/"+id, url.Values{"csrf": {csrf}, "url": {"https://example.com/hook2"},
		"description": {"Billing v2"}, "format": {"json"}}).want(http.StatusSeeOther)
	eps = e.endpoints()
	if eps[0].URL != "https://example.com/hook2" || eps[0].Description != "Billing v2" || len(eps[0].EventTypes) != 0 || eps[0].Format != "json" {
		t.Fatalf("after edit: %+v", eps[0])
	}
	b.get("/portal/endpoints").want(http.StatusOK).hasText(`[data-test-id=event-types]`, "All event types")

	// Disable, then enable.
	b.post("/portal/endpoints/"+id+"/disable", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	if !e.endpoints()[0].Disabled {
		t.Fatal("not disabled")
	}
	p = b.get("/portal/endpoints").want(http.StatusOK)
	p.hasText(`[data-test-id=state]`, "Disabled")
	p.one(`button[data-test-id=enable]`)
	b.post("/portal/endpoints/"+id+"/enable", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	if e.endpoints()[0].Disabled {
		t.Fatal("not enabled")
	}

	// Delete asks first.
	p = b.get("/portal/endpoints/" + id + "/delete").want(http.StatusOK)
	p.hasText(`h1`, "Delete this endpoint?")
	b.post("/portal/endpoints/"+id+"/delete", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	if n := len(e.endpoints()); n != 0 {
		t.Fatalf("%d endpoints after delete", n)
	}
	b.get("/portal/endpoints/" + id + "/edit").want(http.StatusNotFound)
}

func TestSecretScreen(t *testing.T) {
	e := newEnv(t)
	var ep struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/s"}, &ep, http.StatusCreated)
	secret := func() string {
		var out struct{ Key string }
		e.api("GET", "/api/v1/app/"+e.appID+"/endpoint/"+ep.ID+"/secret", nil, &out, http.StatusOK)
		return out.Key
	}
	before := secret()
	b := e.browser()
	b.login(e.portalLink(nil))
	base := "/portal/endpoints/" + ep.ID + "/secret"

	p := b.get(base).want(http.StatusOK)
	if strings.Contains(p.body, before) {
		t.Fatal("the secret shows before it is revealed")
	}
	p.one(`a[data-test-id=reveal]`)
	p.hasText(`[data-test-id=overlap]`, "24 hours")
	csrf := p.attr(`form[action=/portal/logout] input[name=csrf]`, "value")
	if got := b.get(base + "?reveal=1").want(http.StatusOK).text(`[data-test-id=secret]`); got != before {
		t.Fatalf("revealed %q, the API says %q", got, before)
	}

	p = b.post(base+"/rotate", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	after := secret()
	if after == before {
		t.Fatal("the secret did not change")
	}
	p = b.get(p.resp.Header.Get("Location")).want(http.StatusOK)
	p.hasText(`[data-test-id=flash]`, "rotated")
	p.hasText(`[data-test-id=old-secrets]`, "1 previous secret still signs until")

	// With ViewBase alone, the secret stays hidden, even asked for.
	b2 := e.browser()
	b2.login(e.portalLink(map[string]any{"capabilities": []string{"ViewBase"}}))
	p = b2.get(base).want(http.StatusOK)
	p.one(`[data-test-id=no-view-secret]`)
	p.none(`button[data-test-id=rotate]`)
	p = b2.get(base + "?reveal=1").want(http.StatusForbidden)
	if strings.Contains(p.body, after) {
		t.Fatal("a 403 shows the secret")
	}
	p.hasText(`[data-test-id=error-message]`, "does not include seeing signing secrets")
	b2.post(base+"/rotate", url.Values{"csrf": {b2.csrf()}}).want(http.StatusForbidden).
		hasText(`[data-test-id=error-message]`, "does not include rotating signing secrets")
	if secret() != after {
		t.Fatal("a session without ManageEndpointSecret rotated the secret")
	}
}

// A read-only session sees no control that changes anything, and the
// server refuses the forms it could forge, with a valid form token.
func TestReadOnlySession(t *testing.T) {
	e := newEnv(t)
	var ep struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/r"}, &ep, http.StatusCreated)
	b := e.browser()
	b.login(e.portalLink(map[string]any{"readOnly": true}))
	p := b.get("/portal/endpoints").want(http.StatusOK)
	p.one(`[data-test-id=read-only]`)
	p.one(`[data-test-id=endpoint]`)
	for _, sel := range []string{`a[data-test-id=new-endpoint]`, `a[data-test-id=edit-link]`, `button[data-test-id=disable]`, `a[data-test-id=delete-link]`} {
		p.none(sel)
	}
	p = b.get("/portal/endpoints/" + ep.ID + "/secret").want(http.StatusOK)
	p.none(`button[data-test-id=rotate]`)
	csrf := b.csrf()

	b.get("/portal/endpoints/new").want(http.StatusForbidden)
	for path, form := range map[string]url.Values{
		"/portal/endpoints":                             {"url": {"https://example.com/forged"}},
		"/portal/endpoints/" + ep.ID:                    {"url": {"https://example.com/forged"}},
		"/portal/endpoints/" + ep.ID + "/disable":       {},
		"/portal/endpoints/" + ep.ID + "/delete":        {},
		"/portal/endpoints/" + ep.ID + "/secret/rotate": {},
	} {
		form.Set("csrf", csrf)
		p := b.post(path, form).want(http.StatusForbidden)
		p.hasText(`[data-test-id=error-message]`, "read-only")
	}
	eps := e.endpoints()
	if len(eps) != 1 || eps[0].URL != "https://example.com/r" || eps[0].Disabled {
		t.Fatalf("a read-only session changed endpoints: %+v", eps)
	}
}

func TestFormsNeedTheSessionToken(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login(e.portalLink(nil))
	form := url.Values{"url": {"https://example.com/csrf"}}
	b.post("/portal/endpoints", form).want(http.StatusForbidden).hasText(`h1`, "could not be sent")
	form.Set("csrf", "wrong")
	b.post("/portal/endpoints", form).want(http.StatusForbidden)

	// Another session's token does not do either.
	other := e.browser()
	other.login(e.portalLink(nil))
	form.Set("csrf", other.csrf())
	b.post("/portal/endpoints", form).want(http.StatusForbidden)

	// A cross-site post is refused whatever its token.
	form.Set("csrf", b.csrf())
	req, _ := http.NewRequest("POST", e.srv.URL+"/portal/endpoints", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	b.do(req).want(http.StatusForbidden)
	if n := len(e.endpoints()); n != 0 {
		t.Fatalf("%d endpoints made by refused posts", n)
	}
}

func TestEndpointListPages(t *testing.T) {
	e := newEnv(t)
	for i := range pageSize + 3 {
		e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": fmt.Sprintf("https://example.com/%02d", i)}, nil, http.StatusCreated)
	}
	b := e.browser()
	b.login(e.portalLink(nil))
	p := b.get("/portal/endpoints").want(http.StatusOK)
	if n := len(p.all(`[data-test-id=endpoint]`)); n != pageSize {
		t.Fatalf("first page: %d endpoints", n)
	}
	p.none(`a[rel=prev]`)
	p = b.get(p.attr(`a[rel=next]`, "href")).want(http.StatusOK)
	rows := p.all(`[data-test-id=endpoint] h2`)
	if len(rows) != 3 || !strings.Contains(textOf(rows[2]), "https://example.com/00") {
		t.Fatalf("second page: %d endpoints", len(rows))
	}
	p.none(`a[rel=next]`)
	p = b.get(p.attr(`a[rel=prev]`, "href")).want(http.StatusOK)
	rows = p.all(`[data-test-id=endpoint] h2`)
	if len(rows) != pageSize || !strings.Contains(textOf(rows[0]), fmt.Sprintf("https://example.com/%02d", pageSize+2)) {
		t.Fatalf("back to the first page: %d endpoints, first %q", len(rows), textOf(rows[0]))
	}
	p.none(`a[rel=prev]`)
}
