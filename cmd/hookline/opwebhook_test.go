package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
	"github.com/hookline/hookline/webhook"
)

// opEvent is an operational webhook's body as an operator's receiver
// decodes it.
type opEvent struct {
	Type string `json:"type"`
	Data struct {
		AppID       string  `json:"appId"`
		AppUID      *string `json:"appUid"`
		EndpointID  string  `json:"endpointId"`
		EndpointUID *string `json:"endpointUid"`
		MsgID       string  `json:"msgId"`
		LastAttempt *struct {
			ID                 string    `json:"id"`
			ResponseStatusCode int       `json:"responseStatusCode"`
			Timestamp          time.Time `json:"timestamp"`
		} `json:"lastAttempt"`
	} `json:"data"`
}

// TestOperationalWebhooks runs the server and checks, as an operator
// would, that an endpoint made through the API is announced to the
// operator's endpoint by a signed endpoint.created, and that a delivery
// that runs out of attempts is announced by message.attempt.exhausted.
func TestOperationalWebhooks(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, "--retry-schedule", operationalRetries)
	checkOperationalWebhooks(t, srv.URL)
}

// TestOperationalWebhooksRoles runs the same check on PostgreSQL with an
// api node, whose API publishes endpoint.created, and a worker node, which
// delivers it and publishes message.attempt.exhausted.
func TestOperationalWebhooksRoles(t *testing.T) {
	pg := pgtest.URL(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	exited := make(chan error, 1)
	env := map[string]string{"HOOKLINE_ADMIN_TOKEN": testToken}
	go func() {
		exited <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", pg, "--role", "worker", "--node-id", "w1",
			"--allow-private-networks", "--retry-schedule", operationalRetries}, out, out, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	eventually(t, func() string {
		if !strings.Contains(out.String(), "worker running") {
			return "the worker did not start:\n" + out.String()
		}
		return ""
	})
	api := startServer(t, nil, "--db", pg, "--role", "api", "--node-id", "a1")
	checkOperationalWebhooks(t, api.URL)
}

// operationalRetries is a retry schedule that runs out in moments.
const operationalRetries = "0s,20ms,20ms"

// checkOperationalWebhooks drives the API at base as an operator would.
func checkOperationalWebhooks(t *testing.T, base string) {
	t.Helper()
	operator := newReceiver(t, nil)
	failing := newReceiver(t, func(int, *http.Request) (int, http.Header) { return http.StatusInternalServerError, nil })

	const secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	var op struct{ ID string }
	if code := call(t, base, "POST", "/api/v1/operational-webhook/endpoint", map[string]any{"url": operator.URL,
		"secret": secret, "filterTypes": []string{"endpoint.created", "message.attempt.exhausted"}}, &op); code != http.StatusCreated {
		t.Fatalf("create operational endpoint: %d", code)
	}
	var app, ep struct{ ID string }
	if code := call(t, base, "POST", "/api/v1/app", map[string]any{"name": "shop", "uid": "shop"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	if code := call(t, base, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": failing.URL, "uid": "orders"}, &ep); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}

	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(r received) opEvent {
		t.Helper()
		if err := webhook.Verify([][]byte{key}, r.Header, r.Body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("operational webhook not signed with the endpoint's secret: %v", err)
		}
		var ev opEvent
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
		return ev
	}
	created := decode(operator.wait(t, 1)[0])
	if created.Type != "endpoint.created" || created.Data.AppID != app.ID || created.Data.AppUID == nil || *created.Data.AppUID != "shop" ||
		created.Data.EndpointID != ep.ID || created.Data.EndpointUID == nil || *created.Data.EndpointUID != "orders" {
		t.Errorf("endpoint.created: %+v", created)
	}

	// endpoint.updated is not among the types the operator's endpoint
	// filters on: the next event it gets is the exhausted delivery.
	if code := call(t, base, "PATCH", "/api/v1/app/"+app.ID+"/endpoint/"+ep.ID, map[string]any{"description": "orders"}, nil); code != http.StatusOK {
		t.Fatalf("update endpoint: %d", code)
	}
	var msg struct{ ID string }
	if code := call(t, base, "POST", "/api/v1/app/"+app.ID+"/msg", map[string]any{"eventType": "order.paid", "payload": map[string]any{"a": 1}}, &msg); code != http.StatusAccepted {
		t.Fatalf("create message: %d", code)
	}
	failing.wait(t, 3)
	exhausted := decode(operator.wait(t, 2)[1])
	if exhausted.Type != "message.attempt.exhausted" || exhausted.Data.AppID != app.ID || exhausted.Data.MsgID != msg.ID ||
		exhausted.Data.EndpointID != ep.ID || exhausted.Data.LastAttempt == nil || exhausted.Data.LastAttempt.ResponseStatusCode != 500 {
		t.Fatalf("message.attempt.exhausted: %+v", exhausted)
	}
	// The attempt named is the last one recorded.
	var atts struct {
		Data []struct{ ID string }
	}
	call(t, base, "GET", "/api/v1/app/"+app.ID+"/attempt/msg/"+msg.ID, nil, &atts)
	if len(atts.Data) != 3 || atts.Data[0].ID != exhausted.Data.LastAttempt.ID {
		t.Errorf("attempts %+v; the event names %s", atts.Data, exhausted.Data.LastAttempt.ID)
	}

	// The reserved app that holds the operator's endpoint is not listed.
	var apps struct {
		Data []struct{ ID string }
	}
	call(t, base, "GET", "/api/v1/app", nil, &apps)
	if len(apps.Data) != 1 || apps.Data[0].ID != app.ID {
		t.Errorf("apps %+v, want only %s", apps.Data, app.ID)
	}
}
