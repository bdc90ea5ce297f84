package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEndpointPage covers an endpoint's own page: its facts, an example
// sent to it alone, a recovery and their refusals.
func TestEndpointPage(t *testing.T) {
	e := newEnv(t)
	var ep, other struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/a", "filterTypes": []string{"invoice.paid"}}, &ep, http.StatusCreated)
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/b"}, &other, http.StatusCreated)
	b := e.browser()
	b.login(e.portalLink(nil))

	p := b.get("/portal/endpoints/" + ep.ID).want(http.StatusOK)
	p.hasText(`h1`, "https://example.com/a")
	p.hasText(`[data-test-id=success-rate]`, "No attempt yet")
	// The example offers the event types the endpoint subscribes to.
	p.one(`select[name=eventType] option[value=invoice.paid]`)
	p.none(`select[name=eventType] option[value=user.created]`)
	csrf := b.csrf()

	p = b.post("/portal/endpoints/"+ep.ID+"/example", url.Values{"csrf": {csrf}, "eventType": {"invoice.paid"}}).want(http.StatusSeeOther)
	loc := p.resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/portal/messages/msg_") {
		t.Fatalf("after an example: redirect to %q", loc)
	}
	msgID := strings.TrimSuffix(strings.TrimPrefix(loc, "/portal/messages/"), "?done=example")
	p = b.get(loc).want(http.StatusOK)
	p.hasText(`[data-test-id=flash]`, "Example sent")
	p.hasText(`[data-test-id=message-id]`, msgID)
	if rows := p.all(`[data-test-id=delivery]`); len(rows) != 1 {
		t.Fatalf("the example went to %d endpoints, want 1", len(rows))
	}
	p.one(`[data-test-id=delivery][data-endpoint=` + ep.ID + `]`)
	p.one(`[data-refresh]`)
	p.one(`[data-test-id=no-attempts]`)

	// An event type that does not exist is refused beside the field.
	p = b.post("/portal/endpoints/"+ep.ID+"/example", url.Values{"csrf": {csrf}, "eventType": {"no.such"}}).want(http.StatusUnprocessableEntity)
	p.hasText(`[data-test-id=example-error]`, "no.such")

	// Recover: a bad time and too far back are refused beside the field.
	p = b.post("/portal/endpoints/"+ep.ID+"/recover", url.Values{"csrf": {csrf}, "since": {"yesterday"}}).want(http.StatusUnprocessableEntity)
	p.hasText(`[data-test-id=recover-error]`, "date and time")
	p = b.post("/portal/endpoints/"+ep.ID+"/recover", url.Values{"csrf": {csrf}, "since": {"2020-01-01T00:00"}}).want(http.StatusUnprocessableEntity)
	p.hasText(`[data-test-id=recover-error]`, "14 days")
	p = b.post("/portal/endpoints/"+ep.ID+"/recover", url.Values{"csrf": {csrf}, "since": {"2099-01-01T00:00"}}).want(http.StatusUnprocessableEntity)
	p = b.post("/portal/endpoints/"+ep.ID+"/recover", url.Values{"csrf": {csrf}}).want(http.StatusUnprocessableEntity)
	p.hasText(`[data-test-id=recover-error]`, "required")

	// A disabled endpoint gets no example.
	b.post("/portal/endpoints/"+other.ID+"/disable", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	p = b.post("/portal/endpoints/"+other.ID+"/example", url.Values{"csrf": {csrf}, "eventType": {"invoice.paid"}}).want(http.StatusConflict)
	p.hasText(`[data-test-id=example-error]`, "disabled")
}

// TestLogs covers the logs: the filters, the search and the message page.
func TestLogs(t *testing.T) {
	e := newEnv(t)
	var ep struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/a"}, &ep, http.StatusCreated)
	var paid, created struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/msg", map[string]any{"eventType": "invoice.paid", "eventId": "evt-1", "payload": map[string]any{"amount": 10}}, &paid, http.StatusAccepted)
	e.api("POST", "/api/v1/app/"+e.appID+"/msg", map[string]any{"eventType": "user.created", "payload": map[string]any{"id": "u1"}}, &created, http.StatusAccepted)
	b := e.browser()
	b.login(e.portalLink(nil))

	p := b.get("/portal/messages").want(http.StatusOK)
	if rows := p.all(`[data-test-id=message]`); len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	p.hasText(`[data-test-id=message][data-id=`+paid.ID+`] [data-test-id=state]`, "Pending")

	p = b.get("/portal/messages?eventType=invoice.paid").want(http.StatusOK)
	p.one(`[data-test-id=message][data-id=` + paid.ID + `]`)
	p.none(`[data-test-id=message][data-id=` + created.ID + `]`)
	p.one(`select[name=eventType] option[value=invoice.paid][selected]`)

	p = b.get("/portal/messages?endpoint=" + ep.ID + "&status=pending").want(http.StatusOK)
	if rows := p.all(`[data-test-id=message]`); len(rows) != 2 {
		t.Fatalf("%d pending rows of the endpoint, want 2", len(rows))
	}
	b.get("/portal/messages?endpoint=" + ep.ID + "&status=fail").want(http.StatusOK).one(`[data-test-id=no-messages]`)
	// By status needs an endpoint.
	b.get("/portal/messages?status=fail").want(http.StatusOK).hasText(`[data-test-id=status-error]`, "Choose an endpoint")
	// A time range.
	b.get("/portal/messages?until=2000-01-01T00:00").want(http.StatusOK).one(`[data-test-id=no-messages]`)
	b.get("/portal/messages?since=2000-01-01T00:00").want(http.StatusOK).one(`[data-test-id=message][data-id=` + paid.ID + `]`)

	// The search goes to the message by event ID or ID.
	p = b.get("/portal/messages?q=evt-1").want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); loc != "/portal/messages/"+paid.ID {
		t.Errorf("search by event ID goes to %q", loc)
	}
	b.get("/portal/messages?q=nothing-like-it").want(http.StatusOK).hasText(`[data-test-id=not-found]`, "nothing-like-it")

	p = b.get("/portal/messages/" + paid.ID).want(http.StatusOK)
	p.hasText(`[data-test-id=payload]`, `"amount": 10`)
	p.one(`[data-test-id=delivery][data-endpoint=` + ep.ID + `]`)
	p.one(`button[data-test-id=resend]`)
	b.post("/portal/messages/"+paid.ID+"/resend", url.Values{"csrf": {b.csrf()}, "endpoint": {ep.ID}}).want(http.StatusSeeOther)

	// Another app's message is not found, and a read-only session has no
	// resend and is refused one.
	b.get("/portal/messages/msg_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ").want(http.StatusNotFound)
	ro := e.browser()
	ro.login(e.portalLink(map[string]any{"readOnly": true}))
	p = ro.get("/portal/messages/" + paid.ID).want(http.StatusOK)
	p.none(`button[data-test-id=resend]`)
	ro.post("/portal/messages/"+paid.ID+"/resend", url.Values{"csrf": {ro.csrf()}, "endpoint": {ep.ID}}).want(http.StatusForbidden)
	ro.post("/portal/endpoints/"+ep.ID+"/example", url.Values{"csrf": {ro.csrf()}, "eventType": {"invoice.paid"}}).want(http.StatusForbidden)
	ro.post("/portal/endpoints/"+ep.ID+"/recover", url.Values{"csrf": {ro.csrf()}, "since": {"2026-01-01T00:00"}}).want(http.StatusForbidden)

	b.get("/portal/catalog").want(http.StatusOK).hasText(`[data-test-id=event-type][data-name=invoice.paid]`, "An invoice was paid in full.")
}
