package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// postGitHub sends body to a receive URL as GitHub does, signed with
// secret, and returns the status.
func postGitHub(t *testing.T, receiveURL, event, secret, body string) int {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req, err := http.NewRequest("POST", receiveURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
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

// waitCount waits, up to ten seconds, until sel matches n elements.
func waitCount(sel string, n int) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var got int
		for {
			if err := chromedp.Evaluate(`document.querySelectorAll(`+jsString(sel)+`).length`, &got).Do(ctx); err != nil {
				return err
			}
			if got == n {
				return nil
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestConsoleSourcesInBrowser goes through the console's source pages in
// headless Chromium as an operator does: log in with the admin token,
// create a GitHub source with the form, send it a signed request and a
// tampered one, find both in the inspector, filter by a JSON field, replay,
// and watch the live tail show a new request without a reload.
func TestConsoleSourcesInBrowser(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { consoleSourcesInBrowser(t) })
	t.Run("postgres", func(t *testing.T) { consoleSourcesInBrowser(t, "--db", pgtest.URL(t)) })
}

func consoleSourcesInBrowser(t *testing.T, args ...string) {
	ctx := newBrowser(t)
	srv := startServer(t, nil, args...)
	const secret = "It's a Secret to Everybody"
	s := newShots(t, ctx)
	s.run("desktop size", chromedp.EmulateViewport(1280, 800))
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})

	s.run("log in",
		chromedp.Navigate(srv.URL+"/console/login"),
		chromedp.SendKeys(`#token`, testToken),
		chromedp.Click(`[data-test-id=log-in]`),
		chromedp.WaitVisible(`[data-test-id=gauges]`))
	s.run("sources", chromedp.Click(`a[href="/console/sources"]`), chromedp.WaitVisible(`[data-test-id=new-source]`))
	s.take("sources-1-empty")

	s.run("new source", chromedp.Click(`[data-test-id=new-source]`), chromedp.WaitVisible(`#s-provider`))
	s.run("fill the form",
		chromedp.SendKeys(`#s-name`, "github-ci"),
		chromedp.SetValue(`#s-provider`, "github"),
		chromedp.SendKeys(`#s-secret`, secret),
		chromedp.Click(`#s-keep`))
	s.take("sources-2-form")
	var receiveURL string
	s.run("create",
		chromedp.Click(`[data-test-id=create-source]`),
		chromedp.WaitVisible(`[data-test-id=receive-url]`),
		chromedp.Text(`[data-test-id=receive-url]`, &receiveURL))
	s.take("sources-3-created")
	if !strings.HasPrefix(receiveURL, srv.URL+"/in/") {
		t.Fatalf("receive URL %q", receiveURL)
	}

	if st := postGitHub(t, receiveURL, "pull_request", secret, `{"action":"opened","number":7,"repository":{"name":"hookline"}}`); st != http.StatusOK {
		t.Fatalf("signed request: %d", st)
	}
	if st := postGitHub(t, receiveURL, "pull_request", "not the secret", `{"action":"closed","number":8}`); st != http.StatusUnauthorized {
		t.Fatalf("tampered request: %d", st)
	}

	// Both are in the inspector: the source keeps rejected requests.
	s.run("inspector",
		chromedp.Click(`[data-test-id=open-source]`),
		waitCount(`[data-test-id=request]`, 2),
		chromedp.WaitVisible(`[data-test-id=request] .state-disabled`),
		chromedp.WaitVisible(`[data-test-id=request] .state-enabled`))
	s.take("sources-4-inspector")

	s.run("filter by a JSON field",
		chromedp.SendKeys(`#f-match`, "action=opened"),
		chromedp.Click(`[data-test-id=apply-filter]`),
		chromedp.WaitVisible(`[data-test-id=replay-matching]`),
		waitCount(`[data-test-id=request]`, 1))
	var status string
	s.run("the verified one", chromedp.Text(`[data-test-id=request] td:nth-child(2)`, &status))
	if status != "verified" {
		t.Errorf("the filtered request is %q", status)
	}
	s.take("sources-5-filtered")
	var count string
	s.run("replay what the filter selects",
		chromedp.Click(`[data-test-id=replay-matching]`),
		chromedp.WaitVisible(`[data-test-id=replay-all]`),
		chromedp.Text(`[data-test-id=replay-count]`, &count))
	if !strings.Contains(count, "1 verified request") {
		t.Errorf("the confirmation says %q", count)
	}
	s.take("sources-5b-replay-confirm")
	s.run("replayed", chromedp.Click(`[data-test-id=replay-all]`), chromedp.WaitVisible(`[data-test-id=flash]`),
		waitCount(`[data-test-id=request]`, 1))

	s.run("the request",
		chromedp.Click(`[data-test-id=request] a`),
		chromedp.WaitVisible(`[data-test-id=route-results]`),
		chromedp.WaitVisible(`[data-test-id=view]`))
	s.take("sources-6-request")
	s.run("replay", chromedp.Click(`[data-test-id=replay]`), chromedp.WaitVisible(`[data-test-id=flash]`))
	s.take("sources-7-replayed")

	// The live tail shows a new request without a reload.
	s.run("tail",
		chromedp.Click(`.crumbs a`),
		chromedp.WaitVisible(`[data-test-id=tail-link]`),
		chromedp.Click(`[data-test-id=tail-link]`),
		chromedp.WaitVisible(`[data-tail][data-live=true]`),
		waitCount(`[data-test-id=tail] [data-test-id=request]`, 1))
	var before string
	s.run("mark the page", chromedp.Evaluate(`window.hooklineMark = "same page"`, &before))
	if st := postGitHub(t, receiveURL, "issues", secret, `{"action":"labeled","issue":{"number":9}}`); st != http.StatusOK {
		t.Fatalf("request while tailing: %d", st)
	}
	var mark string
	s.run("the new request appears",
		waitCount(`[data-test-id=tail] [data-test-id=request]`, 2),
		chromedp.WaitVisible(`[data-test-id=tail] tr.arrived`),
		chromedp.Evaluate(`window.hooklineMark`, &mark))
	if mark != "same page" {
		t.Error("the page was reloaded")
	}
	var first string
	s.run("newest first", chromedp.Text(`[data-test-id=tail] tbody tr:first-child td:nth-child(2)`, &first))
	if first != "issues" {
		t.Errorf("the newest row's event type is %q", first)
	}
	s.take("sources-8-tail")

	s.run("phone size", chromedp.EmulateViewport(375, 740))
	s.run("inspector on a phone", chromedp.Click(`.crumbs a`), chromedp.WaitVisible(`[data-test-id=requests]`))
	s.take("sources-9-inspector-phone")
	s.run("desktop size again", chromedp.EmulateViewport(1280, 800))
	s.run("the list", chromedp.Click(`.crumbs a`), chromedp.WaitVisible(`[data-test-id=sources]`))
	s.take("sources-10-list")
}
