package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium with a fresh profile, or skips the
// test when there is none (fails under CI=true, where .ci/run installs
// it).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no Chromium at %s or on PATH; .ci/run installs Debian's chromium package", chromiumPath)
			}
			t.Skipf("no Chromium at %s or on PATH: install Debian's chromium package (apt-get install -y chromium) to run the browser tests", chromiumPath)
		}
		path = p
	}
	// A profile of its own, removed after the browser: Chromium's helper
	// processes may still write to it as the browser exits, which
	// t.TempDir's cleanup would report.
	profile, err := os.MkdirTemp("", "hookline-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// shots saves screenshots of the pages a browser test goes through, to
// the test's artifact directory.
type shots struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newShots(t *testing.T, ctx context.Context) *shots {
	dir := t.ArtifactDir()
	t.Logf("screenshots in %s", dir)
	return &shots{t: t, ctx: ctx, dir: dir}
}

// take saves the whole page, at the window's width, as name.png.
func (s *shots) take(name string) {
	s.t.Helper()
	var png []byte
	if err := chromedp.Run(s.ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644); err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
	}
}

// run runs browser actions, for up to 30 seconds; on failure it saves a
// screenshot first.
func (s *shots) run(step string, actions ...chromedp.Action) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		s.take("failed-" + step)
		s.t.Fatalf("%s: %v", step, err)
	}
}

// TestPortalInBrowser goes through the portal in headless Chromium as a
// customer does, on SQLite and on PostgreSQL: the link from the Svix SDK's
// AppPortalAccess, Continue, an endpoint made with the form and found
// through the API, the secret revealed and rotated, an example sent and
// its failed attempt inspected, the message resent once the receiver
// works and found in the logs, failures recovered, the catalog; on a
// desktop and on a 375px phone.
func TestPortalInBrowser(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { portalInBrowser(t) })
	t.Run("postgres", func(t *testing.T) { portalInBrowser(t, "--db", pgtest.URL(t)) })
}

func portalInBrowser(t *testing.T, args ...string) {
	ctx := newBrowser(t)
	// A receiver that fails until it is fixed.
	var working atomic.Bool
	var received atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		if !working.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":"database down"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	hookURL := receiver.URL + "/hooks/acme"
	srv := startServer(t, nil, append([]string{"--retry-schedule", "0s,200ms"}, args...)...)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svix.New(testToken, &svix.SvixOptions{ServerUrl: u, RetrySchedule: &[]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	if _, err := admin.Application.Create(bg, models.ApplicationIn{Name: "Acme Corp", Uid: new("acme")}, nil); err != nil {
		t.Fatal(err)
	}
	for name, desc := range map[string]string{
		"invoice.paid": "An invoice was paid in full.",
		"user.created": "A user signed up.",
	} {
		if _, err := admin.EventType.Create(bg, models.EventTypeIn{Name: name, Description: desc}, nil); err != nil {
			t.Fatal(err)
		}
	}
	access, err := admin.Authentication.AppPortalAccess(bg, "acme", models.AppPortalAccessIn{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(access.Url, srv.URL+"/portal/login?code=") {
		t.Fatalf("portal URL %q", access.Url)
	}
	s := newShots(t, ctx)
	s.run("desktop size", chromedp.EmulateViewport(1280, 800))

	s.run("open the link", chromedp.Navigate(access.Url), chromedp.WaitVisible(`[data-test-id=continue]`))
	s.take("1-login")
	s.run("continue", chromedp.Click(`[data-test-id=continue]`), chromedp.WaitVisible(`[data-test-id=no-endpoints]`))
	var title string
	s.run("title", chromedp.Title(&title))
	if !strings.Contains(title, "Acme Corp") {
		t.Errorf("title %q", title)
	}
	s.take("2-endpoints-empty")

	s.run("new endpoint", chromedp.Click(`[data-test-id=new-endpoint]`), chromedp.WaitVisible(`#url`))
	// A URL that can never be reached is refused by the field.
	s.run("a refused URL",
		chromedp.SendKeys(`#url`, "http://169.254.169.254/latest/meta-data"),
		chromedp.Click(`[data-test-id=save]`),
		chromedp.WaitVisible(`[data-test-id=error-summary]`),
		chromedp.WaitVisible(`#url-error`))
	s.take("3-endpoint-form-refused")
	var cleared bool
	s.run("fill the form",
		chromedp.Evaluate(`document.getElementById("url").value = ""; true`, &cleared),
		chromedp.SendKeys(`#url`, hookURL),
		chromedp.SendKeys(`#description`, "Billing events"),
		chromedp.Click(`input[name=eventTypes][value="invoice.paid"]`),
		chromedp.Click(`#format-xml`),
	)
	s.take("3-endpoint-form-filled")
	s.run("create", chromedp.Click(`[data-test-id=save]`), chromedp.WaitVisible(`[data-test-id=endpoint]`))
	s.take("4-endpoints")

	eps, err := admin.Endpoint.List(bg, "acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps.Data) != 1 {
		t.Fatalf("the API lists %d endpoints, want 1", len(eps.Data))
	}
	ep := eps.Data[0]
	if ep.Url != hookURL || ep.Description != "Billing events" ||
		len(ep.FilterTypes) != 1 || ep.FilterTypes[0] != "invoice.paid" {
		t.Fatalf("the API shows %+v", ep)
	}
	before, err := admin.Endpoint.GetSecret(bg, "acme", ep.Id)
	if err != nil {
		t.Fatal(err)
	}

	var shown string
	s.run("reveal the secret",
		chromedp.Click(`[data-test-id=secret-link]`), chromedp.WaitVisible(`[data-test-id=reveal]`),
		chromedp.Click(`[data-test-id=reveal]`), chromedp.WaitVisible(`[data-test-id=secret]`),
		chromedp.Text(`[data-test-id=secret]`, &shown))
	if shown != before.Key {
		t.Fatalf("the page shows secret %q, the API %q", shown, before.Key)
	}
	s.take("5-secret")
	// The rotate button asks first; accept the dialog.
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})
	s.run("rotate", chromedp.Click(`[data-test-id=rotate]`), chromedp.WaitVisible(`[data-test-id=old-secrets]`))
	s.take("6-secret-rotated")
	after, err := admin.Endpoint.GetSecret(bg, "acme", ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Key == before.Key {
		t.Fatal("the secret did not change")
	}

	// Send an example from the endpoint's page: the receiver fails it, and
	// the attempt shows what was sent and what came back.
	s.run("endpoint page",
		chromedp.Navigate(srv.URL+"/portal/endpoints"), chromedp.WaitVisible(`[data-test-id=endpoint-link]`),
		chromedp.Click(`[data-test-id=endpoint-link]`), chromedp.WaitVisible(`[data-test-id=send-example]`))
	s.take("6c-endpoint")
	var code string
	s.run("send an example",
		chromedp.Click(`[data-test-id=send-example]`), chromedp.WaitVisible(`[data-test-id=message-id]`),
		chromedp.WaitVisible(`[data-test-id=attempt]`),
		// The page reloads itself until the retries are spent.
		chromedp.WaitVisible(`[data-test-id=delivery] .state-disabled`),
		chromedp.Text(`[data-test-id=attempt] [data-test-id=code]`, &code))
	s.take("6d-example-failed")
	if code != "500" {
		t.Errorf("the attempt shows response code %q, want 500", code)
	}
	var msgID, reqBody, respBody string
	s.run("the attempt",
		chromedp.Text(`[data-test-id=message-id]`, &msgID),
		chromedp.Click(`[data-test-id=attempt] a`), chromedp.WaitVisible(`[data-test-id=response-body]`),
		chromedp.Text(`[data-test-id=request-body]`, &reqBody), chromedp.Text(`[data-test-id=response-body]`, &respBody))
	s.take("6e-attempt")
	if !strings.Contains(respBody, "database down") {
		t.Errorf("the attempt's response body shows %q", respBody)
	}
	if !strings.HasPrefix(strings.TrimSpace(reqBody), "<") {
		t.Errorf("the request body of an XML endpoint shows %q", reqBody)
	}

	// Fixed, the message is resent from its page and arrives.
	working.Store(true)
	s.run("resend",
		chromedp.Navigate(srv.URL+"/portal/messages/"+msgID), chromedp.WaitVisible(`[data-test-id=resend]`),
		chromedp.Click(`[data-test-id=resend]`), chromedp.WaitVisible(`[data-test-id=flash]`),
		chromedp.WaitVisible(`[data-test-id=delivery] .state-enabled`))
	s.take("6f-resent")

	// The logs find it by endpoint and status, and by its ID.
	s.run("logs",
		chromedp.Navigate(srv.URL+"/portal/messages?endpoint="+ep.Id+"&status=success"),
		chromedp.WaitVisible(`[data-test-id=message][data-id="`+msgID+`"]`))
	s.take("6g-logs")
	s.run("logs by status",
		chromedp.Navigate(srv.URL+"/portal/messages?endpoint="+ep.Id+"&status=fail"), chromedp.WaitVisible(`[data-test-id=no-messages]`))
	s.run("search",
		chromedp.Navigate(srv.URL+"/portal/messages"), chromedp.WaitVisible(`[data-test-id=search]`),
		chromedp.SendKeys(`[data-test-id=search]`, msgID+"\n"), chromedp.WaitVisible(`[data-test-id=message-id]`))

	// Failures while the receiver is down are recovered at once.
	working.Store(false)
	failed, err := admin.Message.Create(bg, "acme", models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"n": 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, admin, ep.Id, failed.Id, models.MESSAGESTATUS_FAIL)
	working.Store(true)
	var flash string
	s.run("recover",
		chromedp.Navigate(srv.URL+"/portal/endpoints/"+ep.Id), chromedp.WaitVisible(`[data-test-id=recover]`),
		chromedp.Click(`[data-test-id=recover]`), chromedp.WaitVisible(`[data-test-id=flash]`),
		chromedp.Text(`[data-test-id=flash]`, &flash))
	s.take("6h-recovered")
	if !strings.HasPrefix(flash, "1 failed webhook") {
		t.Errorf("after Recover the page says %q", flash)
	}
	waitStatus(t, admin, ep.Id, failed.Id, models.MESSAGESTATUS_SUCCESS)

	s.run("catalog",
		chromedp.Navigate(srv.URL+"/portal/catalog"), chromedp.WaitVisible(`[data-test-id=event-type][data-name="invoice.paid"]`))
	s.take("6i-catalog")

	// Disable and enable it again; the delete button asks on a page first.
	var state string
	s.run("disable",
		chromedp.Navigate(srv.URL+"/portal/endpoints"), chromedp.WaitVisible(`[data-test-id=disable]`),
		chromedp.Click(`[data-test-id=disable]`), chromedp.WaitVisible(`[data-test-id=enable]`),
		chromedp.Text(`[data-test-id=state]`, &state))
	s.take("6a-endpoint-disabled")
	if state != "Disabled" {
		t.Errorf("state %q after Disable", state)
	}
	if got, err := admin.Endpoint.Get(bg, "acme", ep.Id); err != nil || got.Disabled == nil || !*got.Disabled {
		t.Fatalf("the API shows the endpoint as %+v, %v", got, err)
	}
	s.run("enable", chromedp.Click(`[data-test-id=enable]`), chromedp.WaitVisible(`[data-test-id=disable]`))
	s.run("delete asks", chromedp.Click(`[data-test-id=delete-link]`), chromedp.WaitVisible(`[data-test-id=confirm-delete]`))
	s.take("6b-delete-confirm")

	// The same screens on a phone.
	s.run("phone size", chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	s.run("phone endpoints", chromedp.Navigate(srv.URL+"/portal/endpoints"), chromedp.WaitVisible(`[data-test-id=endpoint]`))
	s.take("7-phone-endpoints")
	var overflow bool
	s.run("phone width", chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow))
	if overflow {
		t.Error("the endpoints page is wider than a 375px screen")
	}
	s.run("phone form", chromedp.Navigate(srv.URL+"/portal/endpoints/new"), chromedp.WaitVisible(`#url`))
	s.take("8-phone-form")
	s.run("phone secret", chromedp.Navigate(srv.URL+"/portal/endpoints/"+ep.Id+"/secret?reveal=1"), chromedp.WaitVisible(`[data-test-id=secret]`))
	s.take("9-phone-secret")
	s.run("phone width", chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow))
	if overflow {
		t.Error("the secret page is wider than a 375px screen")
	}
	s.run("dark", emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
		chromedp.Navigate(srv.URL+"/portal/endpoints"), chromedp.WaitVisible(`[data-test-id=endpoint]`))
	s.take("10-phone-endpoints-dark")

	// A read-only link: no control changes anything, and a form the page
	// does not offer, posted from it with its session's form token, is
	// refused.
	ro, err := admin.Authentication.AppPortalAccess(bg, "acme", models.AppPortalAccessIn{ReadOnly: new(true)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var controls int
	s.run("read-only",
		chromedp.EmulateViewport(1280, 800),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		chromedp.Navigate(ro.Url), chromedp.WaitVisible(`[data-test-id=continue]`),
		chromedp.Click(`[data-test-id=continue]`), chromedp.WaitVisible(`[data-test-id=read-only]`),
		chromedp.Evaluate(`document.querySelectorAll('[data-test-id=new-endpoint], [data-test-id=edit-link], [data-test-id=disable], [data-test-id=delete-link]').length`, &controls))
	s.take("11-read-only")
	if controls != 0 {
		t.Errorf("a read-only session sees %d controls that change things", controls)
	}
	// The page's CSP allows no fetch; a form built in the page is what a
	// forged post from it is.
	var refused string
	s.run("forged post", chromedp.Evaluate(`(() => {
		const f = document.createElement('form');
		f.method = 'post';
		f.action = '/portal/endpoints/`+ep.Id+`/delete';
		const csrf = document.querySelector('form[action="/portal/logout"] input[name=csrf]').cloneNode();
		f.appendChild(csrf);
		document.body.appendChild(f);
		f.submit();
		return true;
	})()`, nil), chromedp.WaitVisible(`[data-test-id=error-message]`), chromedp.Text(`[data-test-id=error-message]`, &refused))
	s.take("12-read-only-forged-post")
	if !strings.Contains(refused, "read-only") {
		t.Errorf("a forged delete from a read-only session shows %q", refused)
	}
	if _, err := admin.Endpoint.Get(bg, "acme", ep.Id); err != nil {
		t.Fatalf("the endpoint after a forged delete: %v", err)
	}
}

// waitStatus waits, up to 20 seconds, for the message's delivery to the
// endpoint to reach status, as the API shows it.
func waitStatus(t *testing.T, admin *svix.Svix, endpointID, msgID string, status models.MessageStatus) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		dests, err := admin.MessageAttempt.ListAttemptedDestinations(context.Background(), "acme", msgID, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dests.Data {
			if d.Id == endpointID && d.Status == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s to %s: %+v, want status %v", msgID, endpointID, dests.Data, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPortalBrandInBrowser shows the portal as a product brands it: its
// name, its logo from its own host, its colour, in a fixed dark theme.
func TestPortalBrandInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	logo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><circle cx="14" cy="14" r="13" fill="#e0457b"/></svg>`)
	}))
	t.Cleanup(logo.Close)
	srv := startServer(t, nil, "--portal-name", "Acme Cloud", "--portal-color", "#e0457b", "--portal-logo-url", logo.URL+"/logo.svg")
	var link struct{ URL string }
	if code := call(t, srv.URL, "POST", "/api/v1/auth/app-portal-access/acme", map[string]any{
		"application": map[string]any{"name": "Acme Corp", "uid": "acme", "metadata": map[string]string{"portal.theme": "dark"}}}, &link); code != http.StatusOK {
		t.Fatalf("app-portal-access: %d", code)
	}
	s := newShots(t, ctx)
	var logoWidth int
	var accent string
	s.run("open", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(link.URL), chromedp.WaitVisible(`[data-test-id=continue]`),
		chromedp.Click(`[data-test-id=continue]`), chromedp.WaitVisible(`[data-test-id=no-endpoints]`),
		chromedp.Poll(`document.querySelector("img.logo").complete`, nil),
		chromedp.Evaluate(`document.querySelector("img.logo").naturalWidth`, &logoWidth),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("[data-test-id=new-endpoint]")).backgroundColor`, &accent))
	s.take("brand-dark")
	if logoWidth == 0 {
		t.Error("the logo did not load (is its origin in the CSP?)")
	}
	// The colour, lightened as little as a dark background needs.
	var r, g, b int
	if _, err := fmt.Sscanf(accent, "rgb(%d, %d, %d)", &r, &g, &b); err != nil || r < 224 || g > 100 || b < 123 || b > 160 {
		t.Errorf("the primary button is %s, want the brand colour #e0457b (224, 69, 123)", accent)
	}
	var brand string
	s.run("brand", chromedp.Text(`[data-test-id=brand]`, &brand))
	if brand != "Acme Cloud" {
		t.Errorf("brand %q", brand)
	}
}
