package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestConsoleInBrowser goes through the console in headless Chromium as
// an operator does: log in with the admin token, find a failing endpoint
// from the overview, open its failed message, read the attempt's response,
// resend it once the receiver is fixed and see it delivered; then a
// read-only login finds no control that changes anything, and a forged
// post from it is refused.
func TestConsoleInBrowser(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { consoleInBrowser(t) })
	t.Run("postgres", func(t *testing.T) { consoleInBrowser(t, "--db", pgtest.URL(t)) })
}

func consoleInBrowser(t *testing.T, args ...string) {
	ctx := newBrowser(t)
	var working atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !working.Load() {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `upstream billing service unreachable`)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(receiver.Close)
	srv := startServer(t, nil, append([]string{"--retry-schedule", "0s,100ms"}, args...)...)
	admin := adminClient(t, srv.URL)
	bg := context.Background()
	if _, err := admin.Application.Create(bg, models.ApplicationIn{Name: "Acme Corp", Uid: new("acme")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.EventType.Create(bg, models.EventTypeIn{Name: "invoice.paid", Description: "An invoice was paid."}, nil); err != nil {
		t.Fatal(err)
	}
	ep, err := admin.Endpoint.Create(bg, "acme", models.EndpointIn{Url: receiver.URL + "/billing"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := admin.Message.Create(bg, "acme", models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"invoice": "in_1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, admin, ep.Id, msg.Id, models.MESSAGESTATUS_FAIL)

	s := newShots(t, ctx)
	s.run("log in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(`#token`),
		chromedp.SendKeys(`#token`, testToken), chromedp.Click(`[data-test-id=log-in]`),
		chromedp.WaitVisible(`[data-test-id=gauges]`))
	s.take("console-1-overview")

	var body string
	s.run("the failing endpoint",
		chromedp.Click(`[data-test-id=failing] a`), chromedp.WaitVisible(`[data-test-id=recent]`),
		chromedp.Click(`[data-test-id=recent] [data-test-id=message] a`), chromedp.WaitVisible(`[data-test-id=attempt]`),
		chromedp.Click(`[data-test-id=attempt] a`), chromedp.WaitVisible(`[data-test-id=response-body]`),
		chromedp.Text(`[data-test-id=response-body]`, &body))
	s.take("console-2-attempt")
	if !strings.Contains(body, "upstream billing service unreachable") {
		t.Errorf("the attempt's response body shows %q", body)
	}

	working.Store(true)
	s.run("resend",
		chromedp.Navigate(srv.URL+"/console/apps/"+appID(t, admin)+"/messages/"+msg.Id),
		chromedp.WaitVisible(`[data-test-id=resend]`),
		chromedp.Click(`[data-test-id=resend]`), chromedp.WaitVisible(`[data-test-id=delivery] .state-enabled`))
	s.take("console-3-resent")
	waitStatus(t, admin, ep.Id, msg.Id, models.MESSAGESTATUS_SUCCESS)

	s.run("applications", chromedp.Navigate(srv.URL+"/console/apps"), chromedp.WaitVisible(`[data-test-id=app]`))
	s.take("console-4-apps")
	s.run("messages", chromedp.Navigate(srv.URL+"/console/messages"), chromedp.WaitVisible(`[data-test-id=message]`))
	s.take("console-5-messages")

	// On a phone, the pages fit the screen.
	for _, page := range []struct{ name, path, ready string }{
		{"overview", "/console/", `[data-test-id=gauges]`},
		{"messages", "/console/messages", `[data-test-id=message]`},
		{"message", "/console/apps/" + appID(t, admin) + "/messages/" + msg.Id, `[data-test-id=attempt]`},
		{"app-logs", "/console/apps/" + appID(t, admin) + "/messages", `[data-test-id=message]`},
	} {
		var overflow bool
		s.run("phone "+page.name, chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile),
			chromedp.Navigate(srv.URL+page.path), chromedp.WaitVisible(page.ready),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow))
		s.take("console-phone-" + page.name)
		if overflow {
			t.Errorf("the console's %s page is wider than a 375px screen", page.name)
		}
	}
	s.run("desktop again", chromedp.EmulateViewport(1280, 900))

	// A read-only token: the same pages, no control that changes anything.
	var ro struct{ Token string }
	if code := call(t, srv.URL, "POST", "/api/v1/token", map[string]any{"name": "viewer", "scope": "read-only"}, &ro); code != http.StatusCreated {
		t.Fatalf("token create: %d", code)
	}
	var controls int
	s.run("read-only",
		chromedp.Navigate(srv.URL+"/console/login"), chromedp.WaitVisible(`#token`),
		chromedp.SendKeys(`#token`, ro.Token), chromedp.Click(`[data-test-id=log-in]`), chromedp.WaitVisible(`[data-test-id=gauges]`),
		chromedp.Navigate(srv.URL+"/console/apps/"+appID(t, admin)+"/messages/"+msg.Id), chromedp.WaitVisible(`[data-test-id=delivery]`),
		chromedp.Evaluate(`document.querySelectorAll('[data-test-id=resend], [data-test-id=new-endpoint], [data-test-id=open-portal], [data-test-id=new-event-type]').length`, &controls))
	s.take("console-6-read-only")
	if controls != 0 {
		t.Errorf("a read-only session sees %d controls that change things", controls)
	}
	var refused string
	s.run("forged post", chromedp.Evaluate(`(() => {
		const f = document.createElement('form');
		f.method = 'post';
		f.action = location.pathname + '/resend';
		const csrf = document.querySelector('form[action="/console/logout"] input[name=csrf]').cloneNode();
		f.appendChild(csrf);
		const ep = document.createElement('input');
		ep.name = 'endpoint'; ep.value = '`+ep.Id+`';
		f.appendChild(ep);
		document.body.appendChild(f);
		f.submit();
		return true;
	})()`, nil), chromedp.WaitVisible(`[data-test-id=error-message]`), chromedp.Text(`[data-test-id=error-message]`, &refused))
	s.take("console-7-forged-post")
	if !strings.Contains(refused, "read-only") {
		t.Errorf("a forged resend from a read-only session shows %q", refused)
	}
}

// adminClient is a Svix SDK client of the server with the admin token.
func adminClient(t *testing.T, base string) *svix.Svix {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := svix.New(testToken, &svix.SvixOptions{ServerUrl: u, RetrySchedule: &[]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// appID is the ID of the app acme.
func appID(t *testing.T, admin *svix.Svix) string {
	t.Helper()
	a, err := admin.Application.Get(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return a.Id
}
