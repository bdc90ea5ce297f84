package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v85/webhook"
)

// TestInboundEndToEnd drives a real server as the inbound issue's users
// would: provider-signed requests arrive on source URLs, a tampered one is
// refused, the good ones are forwarded byte-identical (through retries),
// one is published into an outbound app, a Slack handshake is answered,
// and the requests reach a polling client and `hookline listen`.
func TestInboundEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, "--retry-schedule", "0s,50ms,50ms,50ms")

	// The final app fails each path's first delivery, so forwards retry.
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		final []received
	)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.URL.Path]++
		first := seen[r.URL.Path] == 1
		if !first {
			final = append(final, received{Header: r.Header.Clone(), Body: body})
		}
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer app.Close()
	subscriber := newReceiver(t, nil)

	var out struct{ ID string }
	call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "internal", "uid": "internal"}, &out)
	call(t, srv.URL, "POST", "/api/v1/event-type", map[string]any{"name": "github.push", "description": "a push"}, nil)
	call(t, srv.URL, "POST", "/api/v1/app/internal/endpoint", map[string]any{"url": subscriber.URL, "filterTypes": []string{"github.push"}}, nil)

	const stripeSecret, ghSecret, slackSecret = "whsec_stripe_test_secret", "gh-secret-1234", "8f742231b10e8888abcd99yyyzzz85a5"
	sources := map[string]string{}
	for _, s := range []map[string]any{
		{"name": "stripe", "uid": "stripe", "verification": map[string]any{"scheme": "stripe", "secrets": []string{stripeSecret}},
			"routes": []map[string]any{{"type": "forward", "url": app.URL + "/stripe"}, {"type": "hold"}}},
		{"name": "github", "uid": "github", "verification": map[string]any{"scheme": "github", "secrets": []string{ghSecret}},
			"routes": []map[string]any{{"type": "forward", "url": app.URL + "/github"},
				{"type": "publish", "app": "internal", "eventType": "github.push", "filter": map[string]any{"eventTypes": []string{"push"}}}}},
		{"name": "form", "uid": "form", "routes": []map[string]any{{"type": "forward", "url": app.URL + "/form"}}},
		{"name": "slack", "uid": "slack", "handshakes": true, "verification": map[string]any{"scheme": "slack", "secrets": []string{slackSecret}}},
	} {
		var created struct{ URL string }
		if code := call(t, srv.URL, "POST", "/api/v1/source", s, &created); code != http.StatusCreated || created.URL == "" {
			t.Fatalf("create source %v: %d", s["uid"], code)
		}
		sources[s["uid"].(string)] = created.URL
	}
	post := func(url, body string, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	stripeBody := `{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`
	signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: []byte(stripeBody), Secret: stripeSecret})
	if code, _ := post(sources["stripe"], stripeBody, "Content-Type", "application/json", "Stripe-Signature", signed.Header); code != http.StatusOK {
		t.Fatalf("stripe: %d", code)
	}
	ghBody := `{"ref":"refs/heads/main","after":"abc"}`
	mac := hmac.New(sha256.New, []byte(ghSecret))
	mac.Write([]byte(ghBody))
	ghSig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	ghHeaders := []string{"Content-Type", "application/json", "X-GitHub-Event", "push", "X-GitHub-Delivery", "72d3162e", "X-Hub-Signature-256", ghSig}
	if code, _ := post(sources["github"], ghBody, ghHeaders...); code != http.StatusOK {
		t.Fatalf("github: %d", code)
	}
	if code, _ := post(sources["github"], `{"ref":"refs/heads/evil"}`, ghHeaders...); code != http.StatusUnauthorized {
		t.Errorf("tampered github request: %d, want 401", code)
	}
	formBody := "Customer=bob&value=10.00&item=paper"
	if code, _ := post(sources["form"], formBody, "Content-Type", "application/x-www-form-urlencoded"); code != http.StatusOK {
		t.Fatalf("form: %d", code)
	}

	// Each forward arrives byte-identical with the sender's headers, after
	// a retry.
	eventually(t, func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(final) < 3 {
			return "forwards did not all arrive after their retries"
		}
		return ""
	})
	mu.Lock()
	byBody := map[string]received{}
	for _, r := range final {
		byBody[string(r.Body)] = r
	}
	mu.Unlock()
	for _, want := range []struct{ body, header, value string }{
		{stripeBody, "Stripe-Signature", signed.Header},
		{ghBody, "X-Hub-Signature-256", ghSig},
		{formBody, "Content-Type", "application/x-www-form-urlencoded"},
	} {
		r, ok := byBody[want.body]
		if !ok {
			t.Errorf("forward of %q missing or altered", want.body)
			continue
		}
		if got := r.Header.Get(want.header); got != want.value {
			t.Errorf("forward of %q: %s = %q, want %q", want.body, want.header, got, want.value)
		}
		if r.Header.Get("Webhook-Signature") != "" {
			t.Errorf("an unsigned forward route added hookline's signature")
		}
	}

	// The push was published into the outbound app, signed by hookline.
	pub := subscriber.wait(t, 1)[0]
	if string(pub.Body) != ghBody || pub.Header.Get("Webhook-Signature") == "" {
		t.Errorf("published message: body %q signature %q", pub.Body, pub.Header.Get("Webhook-Signature"))
	}

	// Slack checks the URL with a signed handshake.
	challenge := "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
	slackBody := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"` + challenge + `","type":"url_verification"}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	smac := hmac.New(sha256.New, []byte(slackSecret))
	io.WriteString(smac, "v0:"+ts+":"+slackBody)
	code, answer := post(sources["slack"], slackBody, "Content-Type", "application/json",
		"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0="+hex.EncodeToString(smac.Sum(nil)))
	if code != http.StatusOK || strings.TrimSpace(answer) != challenge {
		t.Errorf("slack handshake: %d %q", code, answer)
	}

	// A polling client behind a firewall fetches the held Stripe event.
	var events struct {
		Data []struct {
			Body      string
			EventType string
		}
	}
	call(t, srv.URL, "GET", "/api/v1/source/stripe/events?wait=5s", nil, &events)
	if len(events.Data) != 1 || events.Data[0].Body != stripeBody || events.Data[0].EventType != "invoice.paid" {
		t.Errorf("polled events = %+v", events.Data)
	}

	// A developer runs `hookline listen` and gets the next push locally.
	// It resumes after the newest request it has seen, so the push sent
	// below reaches it however soon its stream connects.
	var newest struct{ Data []struct{ ID string } }
	call(t, srv.URL, "GET", "/api/v1/source/github/request?limit=1", nil, &newest)
	if len(newest.Data) != 1 {
		t.Fatalf("requests of the github source: %+v", newest)
	}
	local := newReceiver(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"listen", "github", "--forward-to", local.URL, "--server", srv.URL, "--after", newest.Data[0].ID}, stdout, &lockedBuffer{},
			func(k string) string { return map[string]string{"HOOKLINE_TOKEN": testToken}[k] })
	}()
	body2 := `{"ref":"refs/heads/feature"}`
	mac = hmac.New(sha256.New, []byte(ghSecret))
	mac.Write([]byte(body2))
	if code, _ := post(sources["github"], body2, "Content-Type", "application/json", "X-GitHub-Event", "push",
		"X-GitHub-Delivery", "second", "X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil))); code != http.StatusOK {
		t.Fatalf("second push: %d", code)
	}
	got := local.wait(t, 1)[0]
	if !bytes.Equal(got.Body, []byte(body2)) || got.Header.Get("X-Github-Delivery") != "second" {
		t.Errorf("listen forwarded %q with headers %v", got.Body, got.Header)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("listen: %v", err)
	}
}
