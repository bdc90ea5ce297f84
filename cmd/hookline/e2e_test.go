package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
)

// TestSvixSDKEndToEnd drives a running server with the official Svix Go SDK
// as a Svix user would: app, event type, endpoint, message, the signed
// delivery, attempts, and secret rotation.
func TestSvixSDKEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	rc := newReceiver(t, nil)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	client, err := svix.New(testToken, &svix.SvixOptions{ServerUrl: u})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	uid := "acme"
	app, err := client.Application.Create(ctx, models.ApplicationIn{Name: "Acme", Uid: &uid}, nil)
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	if !hasPrefix(app.Id, "app_") {
		t.Errorf("app id = %q", app.Id)
	}
	again, err := client.Application.GetOrCreate(ctx, models.ApplicationIn{Name: "Acme", Uid: &uid}, nil)
	if err != nil || again.Id != app.Id {
		t.Fatalf("get-or-create = %+v, %v; want the same app", again, err)
	}
	if _, err := client.EventType.Create(ctx, models.EventTypeIn{Name: "invoice.paid", Description: "An invoice was paid"}, nil); err != nil {
		t.Fatalf("create event type: %v", err)
	}
	ep, err := client.Endpoint.Create(ctx, "acme", models.EndpointIn{Url: rc.URL + "/hooks", FilterTypes: []string{"invoice.paid"}}, nil)
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	secret, err := client.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if !hasPrefix(secret.Key, "whsec_") {
		t.Errorf("secret = %q", secret.Key)
	}

	// A message of another type is not sent to the endpoint; this one is.
	if _, err := client.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.void", Payload: map[string]any{"id": 0}}, nil); err != nil {
		t.Fatalf("create message: %v", err)
	}
	msg, err := client.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"id": 1, "amount": "10.00"}}, nil)
	if err != nil {
		t.Fatalf("create message: %v", err)
	}
	got := rc.wait(t, 1)[0]
	if got.Header.Get("webhook-id") != msg.Id {
		t.Errorf("webhook-id = %q, want the message ID %q", got.Header.Get("webhook-id"), msg.Id)
	}
	wh, err := standardwebhooks.NewWebhook(secret.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got.Body, got.Header); err != nil {
		t.Errorf("the official Standard Webhooks library rejects the delivery: %v", err)
	}
	if string(got.Body) != `{"amount":"10.00","id":1}` {
		t.Errorf("body = %s", got.Body)
	}

	eventually(t, func() string {
		atts, err := client.MessageAttempt.ListByMsg(ctx, app.Id, msg.Id, nil)
		if err != nil {
			return "list attempts: " + err.Error()
		}
		if len(atts.Data) != 1 || atts.Data[0].Status != models.MESSAGESTATUS_SUCCESS || atts.Data[0].ResponseStatusCode != 200 {
			return "attempts not recorded yet"
		}
		if atts.Data[0].EndpointId != ep.Id || atts.Data[0].Response != "answer 0" {
			return "attempt fields wrong"
		}
		return ""
	})
	msgs, err := client.Message.List(ctx, app.Id, nil)
	if err != nil || len(msgs.Data) != 2 || msgs.Data[0].Id != msg.Id {
		t.Fatalf("list messages = %+v, %v; want both, newest first", msgs, err)
	}

	// After a rotation the old key keeps signing beside the new one.
	if err := client.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{}, nil); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	rotated, err := client.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil || rotated.Key == secret.Key {
		t.Fatalf("secret after rotation = %v, %v", rotated, err)
	}
	if _, err := client.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"id": 2}}, nil); err != nil {
		t.Fatal(err)
	}
	got = rc.wait(t, 2)[1]
	if sigs := strings.Fields(got.Header.Get("webhook-signature")); len(sigs) != 2 {
		t.Errorf("signatures during rotation = %q, want two", sigs)
	}
	for _, key := range []string{secret.Key, rotated.Key} {
		wh, _ := standardwebhooks.NewWebhook(key)
		if err := wh.Verify(got.Body, got.Header); err != nil {
			t.Errorf("key %s… does not verify during rotation: %v", key[:10], err)
		}
	}
}

// TestRetriesAndFormats checks the delivery behaviour a user sees through
// the API: a failing endpoint is retried until it answers 2xx, every
// attempt is recorded, a form endpoint gets form-encoded bodies, and 410
// Gone disables an endpoint.
func TestRetriesAndFormats(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, "--retry-schedule", "0s,50ms,50ms,50ms")
	flaky := newReceiver(t, func(n int, r *http.Request) (int, http.Header) {
		if n < 2 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	gone := newReceiver(t, func(int, *http.Request) (int, http.Header) { return http.StatusGone, nil })

	var app, form, flakyEp, goneEp struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "shop"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	for _, et := range []string{"order.paid", "order.form", "order.gone"} {
		if code := call(t, srv.URL, "POST", "/api/v1/event-type", map[string]any{"name": et, "description": et}, nil); code != http.StatusCreated {
			t.Fatalf("create event type: %d", code)
		}
	}
	for _, ep := range []struct {
		out  any
		body map[string]any
	}{
		{&flakyEp, map[string]any{"url": flaky.URL, "filterTypes": []string{"order.paid"}}},
		{&form, map[string]any{"url": flaky.URL + "/form", "format": "form", "filterTypes": []string{"order.form"}}},
		{&goneEp, map[string]any{"url": gone.URL, "filterTypes": []string{"order.gone"}}},
	} {
		var raw json.RawMessage
		if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", ep.body, &raw); code != http.StatusCreated {
			t.Fatalf("create endpoint: %d %s", code, raw)
		}
		if err := json.Unmarshal(raw, ep.out); err != nil {
			t.Fatal(err)
		}
	}

	var msg struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", map[string]any{"eventType": "order.paid", "payload": map[string]any{"a": 1}}, &msg); code != http.StatusAccepted {
		t.Fatalf("create message: %d", code)
	}
	flaky.wait(t, 3)
	eventually(t, func() string {
		var atts struct {
			Data []struct {
				Status             int
				ResponseStatusCode int
			}
		}
		call(t, srv.URL, "GET", "/api/v1/app/"+app.ID+"/attempt/msg/"+msg.ID, nil, &atts)
		if len(atts.Data) != 3 {
			return "want 3 attempts recorded"
		}
		// Newest first: the success, then the two failures.
		if atts.Data[0].Status != 0 || atts.Data[1].Status != 2 || atts.Data[2].ResponseStatusCode != 500 {
			return "attempt statuses wrong"
		}
		return ""
	})

	raw := `{"Customer":"bob","value":"10.00","item":"paper"}`
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/app/"+app.ID+"/msg", strings.NewReader(`{"eventType":"order.form","payload":`+raw+`}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("publish form message: %v %v", resp, err)
	}
	resp.Body.Close()
	got := flaky.wait(t, 4)[3]
	if string(got.Body) != "Customer=bob&value=10.00&item=paper" {
		t.Errorf("form body = %q", got.Body)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("form content type = %q", ct)
	}

	call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", map[string]any{"eventType": "order.gone", "payload": map[string]any{}}, nil)
	gone.wait(t, 1)
	eventually(t, func() string {
		var ep struct {
			Disabled bool
		}
		call(t, srv.URL, "GET", "/api/v1/app/"+app.ID+"/endpoint/"+goneEp.ID, nil, &ep)
		if !ep.Disabled {
			return "an endpoint that answered 410 is still enabled"
		}
		return ""
	})
}

// TestAuthAndHealth checks that the API needs the token and health does not.
func TestAuthAndHealth(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	resp, err := http.Get(srv.URL + "/api/v1/health")
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("health = %v, %v", resp, err)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + testToken + "x"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/app", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("auth %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
}

// TestGeneratedToken checks that a server without HOOKLINE_ADMIN_TOKEN
// prints a token once, accepts it, and keeps it across restarts.
func TestGeneratedToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func() (string, *lockedBuffer, context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		out := &lockedBuffer{}
		done := make(chan error, 1)
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dir + "/h.db"}, out, &lockedBuffer{}, func(string) string { return "" })
		}()
		return waitListening(t, out, exited), out, cancel, done
	}
	base, out, cancel, done := run()
	m := regexpToken.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", out.String())
	}
	token := m[1]
	req, _ := http.NewRequest("GET", base+"/api/v1/app", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("with the printed token: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	base, out, cancel, done = run()
	defer func() { cancel(); <-done }()
	if strings.Contains(out.String(), token) || regexpToken.MatchString(out.String()) {
		t.Error("a second start printed a token again")
	}
	req, _ = http.NewRequest("GET", base+"/api/v1/app", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after restart the token no longer works: %v %v", resp, err)
	}
	resp.Body.Close()
}

var regexpToken = regexp.MustCompile(`\s(hk_[A-Za-z0-9]+)\s`)
