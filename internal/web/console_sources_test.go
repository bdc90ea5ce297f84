package web

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/ops"
	"github.com/hookline/hookline/internal/store"
)

const ghSecret = "It's a Secret to Everybody"

// withInbound serves receive URLs and the console's source pages.
func withInbound(o *Options) {
	ist := o.Store.(inbound.Store)
	o.Inbound = inbound.New(inbound.Options{Store: ist, PublicURL: o.PublicURL, AllowPrivateNetworks: true})
}

// sendGitHub posts body to a receive URL as GitHub would, signed with
// secret, and returns the status.
func sendGitHub(t *testing.T, receiveURL, event, secret string, body []byte) int {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req, _ := http.NewRequest("POST", receiveURL, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// createGitHubSource creates a source through the console's form and
// returns its ID and receive URL.
func createGitHubSource(b *browser, csrf string) (string, string) {
	b.e.t.Helper()
	p := b.post("/console/sources", url.Values{"csrf": {csrf}, "name": {"github-ci"}, "provider": {"github"},
		"secret": {ghSecret}, "keepRejected": {"1"}, "hold": {"1"}}).want(http.StatusCreated)
	u := p.text(`[data-test-id=receive-url]`)
	href := p.attr(`[data-test-id=open-source]`, "href")
	return strings.TrimPrefix(href, "/console/sources/"), u
}

func TestConsoleSources(t *testing.T) {
	e := newEnv(t, withInbound)
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	csrf := b.consoleCSRF()

	b.get("/console/sources").want(http.StatusOK).one(`[data-test-id=new-source]`)
	p := b.get("/console/sources/new").want(http.StatusOK)
	p.one(`select[name=provider] option[value=github][selected]`)
	p.none(`select[name=provider] option[value=hmac]`)

	// Refused forms say why, beside the field.
	p = b.post("/console/sources", url.Values{"csrf": {csrf}, "name": {"x"}, "provider": {"github"}}).want(http.StatusUnprocessableEntity)
	p.one(`[data-test-id=routes-error]`)
	p = b.post("/console/sources", url.Values{"csrf": {csrf}, "name": {"x"}, "provider": {"github"}, "hold": {"1"}}).
		want(http.StatusUnprocessableEntity)
	p.one(`[data-test-id=secret-error]`)
	p.one(`[data-test-id=errors]`)
	b.post("/console/sources", url.Values{"csrf": {csrf}, "name": {"x"}, "provider": {"none"}, "forwardUrl": {"ftp://x"}}).
		want(http.StatusUnprocessableEntity).one(`[id=forwardUrl-error]`)

	id, receiveURL := createGitHubSource(b, csrf)
	if !strings.HasPrefix(receiveURL, e.srv.URL+"/in/") {
		t.Fatalf("receive URL %q", receiveURL)
	}
	p = b.get("/console/sources").want(http.StatusOK)
	row := `[data-test-id=source][data-id=` + id + `]`
	p.hasText(row, "github")
	p.hasText(row+` [data-test-id=latest]`, "none yet")

	// A signed request, a tampered one (kept: keepRejected) and one whose
	// body is not text.
	if st := sendGitHub(t, receiveURL, "pull_request", ghSecret, []byte(`{"action":"opened","repository":{"name":"hookline"}}`)); st != http.StatusOK {
		t.Fatalf("signed request: %d", st)
	}
	if st := sendGitHub(t, receiveURL, "push", "wrong secret", []byte(`{"action":"forged"}`)); st != http.StatusUnauthorized {
		t.Fatalf("tampered request: %d", st)
	}
	if st := sendGitHub(t, receiveURL, "ping", ghSecret, []byte{0xff, 0x00, 0x01, 'x'}); st != http.StatusOK {
		t.Fatalf("binary request: %d", st)
	}
	b.get("/console/sources").want(http.StatusOK).hasText(row+` [data-test-id=latest]`, "verified")

	// The inspector: newest first, filtered.
	base := "/console/sources/" + id
	p = b.get(base).want(http.StatusOK)
	p.hasText(`[data-test-id=provider]`, "github")
	rows := p.all(`[data-test-id=request]`)
	if len(rows) != 3 {
		t.Fatalf("%d requests listed, want 3", len(rows))
	}
	rejected := p.all(`[data-test-id=request] .state-disabled`)
	if len(rejected) != 1 {
		t.Fatalf("%d rejected, want 1", len(rejected))
	}
	p = b.get(base + "?verified=false").want(http.StatusOK)
	p.hasText(`[data-test-id=request]`, "push")
	rejectedID, _ := attr(p.one(`[data-test-id=request]`), "data-id")
	p = b.get(base + "?match=" + url.QueryEscape("repository.name=hookline")).want(http.StatusOK)
	p.hasText(`[data-test-id=request]`, "pull_request")
	openedID, _ := attr(p.one(`[data-test-id=request]`), "data-id")
	b.get(base+"?header="+url.QueryEscape("X-Github-Event=ping")).want(http.StatusOK).hasText(`[data-test-id=request]`, "ping")
	b.get(base + "?until=2001-01-01T00:00").want(http.StatusOK).one(`[data-test-id=no-requests]`)
	b.get(base + "?since=2001-01-01T00:00&verified=true").want(http.StatusOK)
	b.get(base + "?header=nonsense").want(http.StatusUnprocessableEntity).one(`[id=header-error]`)
	// Keyset pages.
	p = b.get(base + "?iterator=" + openedID).want(http.StatusOK)
	if n := len(p.all(`[data-test-id=request]`)); n != 0 {
		t.Errorf("after the oldest: %d requests", n)
	}

	// A request's page: body, headers, JSON view, what its routes did.
	p = b.get(base + "/requests/" + openedID).want(http.StatusOK)
	p.hasText(`[data-test-id=body]`, `"action":"opened"`)
	p.hasText(`[data-test-id=view]`, `"name": "hookline"`)
	p.hasText(`[data-test-id=headers]`, "X-Github-Event pull_request")
	p.hasText(`[data-test-id=held]`, "not yet acknowledged")
	p.one(`[data-test-id=replay]`)
	p = b.get(base + "/requests/" + rejectedID).want(http.StatusOK)
	p.hasText(`[data-test-id=verification]`, "rejected")
	p.one(`[data-test-id=not-routed]`)
	p.none(`[data-test-id=replay]`)
	p = b.get(base + "?header=" + url.QueryEscape("X-Github-Event=ping")).want(http.StatusOK)
	binID, _ := attr(p.one(`[data-test-id=request]`), "data-id")
	b.get(base+"/requests/"+binID).want(http.StatusOK).hasText(`[data-test-id=hex]`, "ff 00 01 78")
	b.get(base + "/requests/in_nope").want(http.StatusNotFound)

	// Replay one, then all the filter selects.
	p = b.post(base+"/requests/"+openedID+"/replay", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	b.get(p.resp.Header.Get("Location")).want(http.StatusOK).one(`[data-test-id=flash]`)
	b.post(base+"/requests/"+rejectedID+"/replay", url.Values{"csrf": {csrf}}).want(http.StatusUnprocessableEntity)
	// The inspector's link keeps the filter.
	replayLink := b.get(base+"?match="+url.QueryEscape("repository.name=hookline")).want(http.StatusOK).
		attr(`[data-test-id=replay-matching]`, "href")
	p = b.get(replayLink).want(http.StatusOK)
	p.hasText(`[data-test-id=replay-count]`, "1 verified request")
	form := url.Values{"csrf": {csrf}}
	for _, n := range []string{"verified", "since", "until", "header", "match", "upto"} {
		form.Set(n, p.attr(`input[name=`+n+`]`, "value"))
	}
	p = b.post(base+"/replay", form).want(http.StatusSeeOther)
	if loc := p.resp.Header.Get("Location"); !strings.Contains(loc, "replayed=1") {
		t.Fatalf("after replay: %q", loc)
	}
	b.get(base+"/replay").want(http.StatusOK).hasText(`[data-test-id=replay-count]`, "2 verified requests")
	b.get(base+"/replay?verified=false").want(http.StatusOK).hasText(`[data-test-id=replay-count]`, "nothing to replay")

	// Rotate: the old URL keeps working for the grace period.
	b.get(base+"/rotate").want(http.StatusOK).hasText(`main`, "24 hours")
	p = b.post(base+"/rotate", url.Values{"csrf": {csrf}}).want(http.StatusOK)
	newURL := p.text(`[data-test-id=receive-url]`)
	p.one(`[data-test-id=old-until]`)
	if newURL == receiveURL {
		t.Fatal("the URL did not change")
	}
	for _, u := range []string{receiveURL, newURL} {
		if st := sendGitHub(t, u, "push", ghSecret, []byte(`{"action":"rotated"}`)); st != http.StatusOK {
			t.Errorf("%s after the rotation: %d", u, st)
		}
	}

	// The tail: a plain list that says to reload, and a stream.
	p = b.get(base + "/tail").want(http.StatusOK)
	p.hasText(`[data-test-id=tail-status]`, "Reload")
	stream := p.attr(`[data-tail]`, "data-tail")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+stream, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	if st := sendGitHub(t, newURL, "issues", ghSecret, []byte(`{"action":"tailed"}`)); st != http.StatusOK {
		t.Fatalf("request while tailing: %d", st)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), `"eventType":"issues"`) {
			break
		}
	}
	if sc.Err() != nil {
		t.Fatalf("stream: %v", sc.Err())
	}
	cancel()
	// Without a session, the stream is refused like any console page.
	resp, err = e.browser().c.Get(e.srv.URL + stream)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("stream without a session: %d", resp.StatusCode)
	}
}

func TestConsoleSourcesReadOnly(t *testing.T) {
	e := newEnv(t, withInbound)
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	csrf := b.consoleCSRF()
	id, receiveURL := createGitHubSource(b, csrf)
	sendGitHub(t, receiveURL, "push", ghSecret, []byte(`{"action":"x"}`))
	p := b.post("/console/tokens", url.Values{"csrf": {csrf}, "name": {"viewer"}, "scope": {"read-only"}}).want(http.StatusCreated)
	secret := p.text(`[data-test-id=token-secret]`)

	ro := e.browser()
	ro.consoleLogin(secret, http.StatusSeeOther)
	roCSRF := ro.consoleCSRF()
	base := "/console/sources/" + id
	ro.get("/console/sources").want(http.StatusOK).none(`[data-test-id=new-source]`)
	p = ro.get(base).want(http.StatusOK)
	p.none(`[data-test-id=rotate-link]`)
	p.none(`[data-test-id=replay-matching]`)
	reqID, _ := attr(p.one(`[data-test-id=request]`), "data-id")
	ro.get(base + "/requests/" + reqID).want(http.StatusOK).none(`[data-test-id=replay]`)
	ro.get(base + "/tail").want(http.StatusOK)

	// The forms' pages and forged posts are refused.
	for _, path := range []string{"/console/sources/new", base + "/rotate", base + "/replay"} {
		ro.get(path).want(http.StatusForbidden)
	}
	for _, path := range []string{"/console/sources", base + "/rotate", base + "/replay", base + "/requests/" + reqID + "/replay"} {
		ro.post(path, url.Values{"csrf": {roCSRF}, "name": {"x"}, "provider": {"none"}, "hold": {"1"}}).want(http.StatusForbidden)
	}
	// And a post without the form token is refused for anyone.
	b.post(base+"/rotate", url.Values{}).want(http.StatusForbidden)
}

// TestConsoleSourcesFilterStops checks that a filter the store cannot
// apply reads a bounded number of requests, and that the page says so and
// goes on from where it stopped.
func TestConsoleSourcesFilterStops(t *testing.T) {
	e := newEnv(t, withInbound)
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	id, receiveURL := createGitHubSource(b, b.consoleCSRF())
	sendGitHub(t, receiveURL, "ping", ghSecret, []byte(`{"zen":"first"}`))
	ist := e.st.(store.InboundStore)
	ctx := context.Background()
	// More requests than one page's scan reads (20 store pages of 20),
	// none of which the header filter keeps.
	n := ops.MaxFilterScan*pageSize + 5
	for i := range n {
		x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: id, Method: "POST", Path: "/in/****",
			Headers: map[string][]string{"X-Github-Event": {"push"}}, Body: []byte(`{"n":` + strconv.Itoa(i) + `}`),
			Verified: true, CreatedAt: time.Now().UTC()}
		if err := ist.ReceivedCreate(ctx, &store.Receive{Received: x}); err != nil {
			t.Fatal(err)
		}
	}
	base := "/console/sources/" + id
	p := b.get(base + "?header=" + url.QueryEscape("X-Github-Event=ping")).want(http.StatusOK)
	p.hasText(`[data-test-id=stopped]`, "stopped after reading 400 requests")
	p.none(`[data-test-id=request]`)
	older := p.attr(`[data-test-id=older]`, "href")
	p = b.get(older).want(http.StatusOK)
	p.none(`[data-test-id=stopped]`)
	p.hasText(`[data-test-id=request]`, "ping")
}

// TestConsoleSourceRoutes checks what a request's page says its forward
// and publish routes did.
func TestConsoleSourceRoutes(t *testing.T) {
	e := newEnv(t, withInbound)
	b := e.browser()
	b.consoleLogin(adminToken, http.StatusSeeOther)
	csrf := b.consoleCSRF()
	p := b.post("/console/sources", url.Values{"csrf": {csrf}, "name": {"billing"}, "provider": {"none"},
		"forwardUrl": {"https://example.com/hooks"}, "forwardSign": {"1"}, "publishApp": {"acme"}, "publishEventType": {"invoice.paid"}}).
		want(http.StatusCreated)
	receiveURL := p.text(`[data-test-id=receive-url]`)
	id := strings.TrimPrefix(p.attr(`[data-test-id=open-source]`, "href"), "/console/sources/")
	resp, err := http.Post(receiveURL, "application/json", strings.NewReader(`{"id":"inv_1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p = b.get("/console/sources/" + id).want(http.StatusOK)
	reqID, _ := attr(p.one(`[data-test-id=request]`), "data-id")
	p = b.get("/console/sources/" + id + "/requests/" + reqID).want(http.StatusOK)
	p.hasText(`[data-test-id=route-result][data-type=forward]`, "forwarded to https://example.com/hooks: as message msg_")
	p.hasText(`[data-test-id=route-result][data-type=publish]`, "as message msg_")
	p.hasText(`[data-test-id=route-result][data-type=publish]`, "invoice.paid")
	// The message links go to the application's pages in the console.
	for _, a := range p.all(`[data-test-id=route-result] a`) {
		href, _ := attr(a, "href")
		b.get(href).want(http.StatusOK)
	}
}
