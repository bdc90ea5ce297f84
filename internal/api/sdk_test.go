package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/store"
)

// TestSvixSDK drives a real HTTP server running the API, on the SQLite
// store with the group committer, through the official Svix Go SDK, the
// way an existing Svix user would after changing the base URL. Every call
// must succeed and decode: that is the compatibility promise.
func TestSvixSDK(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	gc := store.NewGroupCommit(st, 64, nil)
	t.Cleanup(gc.Stop)
	sum := sha256.Sum256([]byte(testToken))
	srv := httptest.NewServer(New(Options{Store: st, Publisher: gc, TokenHash: sum[:],
		Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	noRetries := []time.Duration{}
	client, err := svix.New(testToken, &svix.SvixOptions{ServerUrl: u, RetrySchedule: &noRetries})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			var se *svix.Error
			if errors.As(err, &se) {
				t.Fatalf("%v: %s", err, se.Body())
			}
			t.Fatal(err)
		}
	}

	must(client.Health.Get(ctx))

	// Applications, get-or-create.
	app, err := client.Application.Create(ctx, models.ApplicationIn{Name: "Acme", Uid: new("acme"),
		Metadata: &map[string]string{"plan": "pro"}}, nil)
	must(err)
	if app.Uid == nil || *app.Uid != "acme" || app.Metadata["plan"] != "pro" || app.CreatedAt.IsZero() {
		t.Fatalf("created app %+v", app)
	}
	same, err := client.Application.GetOrCreate(ctx, models.ApplicationIn{Name: "Acme again", Uid: new("acme")}, nil)
	must(err)
	if same.Id != app.Id {
		t.Errorf("GetOrCreate returned %s, want %s", same.Id, app.Id)
	}
	_, err = client.Application.Create(ctx, models.ApplicationIn{Name: "Dup", Uid: new("acme")}, nil)
	var se *svix.Error
	if !errors.As(err, &se) || se.Status() != http.StatusConflict {
		t.Errorf("duplicate uid: %v, want a 409", err)
	}
	got, err := client.Application.Get(ctx, "acme")
	must(err)
	if got.Id != app.Id {
		t.Errorf("Get by uid returned %s", got.Id)
	}
	patched, err := client.Application.Patch(ctx, app.Id, models.ApplicationPatch{Name: new("Acme Inc")})
	must(err)
	if patched.Name != "Acme Inc" || patched.Uid == nil {
		t.Errorf("patched app %+v", patched)
	}

	// Event types.
	_, err = client.EventType.Create(ctx, models.EventTypeIn{Name: "invoice.paid", Description: "Paid",
		Schemas: &map[string]any{"1": map[string]any{"type": "object"}}}, nil)
	must(err)
	ets, err := client.EventType.List(ctx, &svix.EventTypeListOptions{WithContent: new(true)})
	must(err)
	if len(ets.Data) != 1 || ets.Data[0].Schemas == nil {
		t.Errorf("event types %+v", ets.Data)
	}

	// Endpoints, with filter types and channels, and their secrets.
	ep, err := client.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://example.com/hook", Uid: new("main"),
		FilterTypes: []string{"invoice.paid"}, Channels: []string{"eu", "us"}}, nil)
	must(err)
	if !slices.Equal(ep.FilterTypes, []string{"invoice.paid"}) || !slices.Equal(ep.Channels, []string{"eu", "us"}) ||
		ep.Version != 1 || !strings.HasPrefix(ep.Id, "ep_") {
		t.Fatalf("created endpoint %+v", ep)
	}
	secret, err := client.Endpoint.GetSecret(ctx, app.Id, "main")
	must(err)
	if !strings.HasPrefix(secret.Key, "whsec_") {
		t.Errorf("secret %q", secret.Key)
	}
	must(client.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{}, nil))
	rotated, err := client.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	must(err)
	if rotated.Key == secret.Key {
		t.Error("secret unchanged by rotation")
	}
	must(client.Endpoint.UpdateHeaders(ctx, app.Id, ep.Id, models.EndpointHeadersIn{Headers: map[string]string{"X-A": "1"}}))
	must(client.Endpoint.PatchHeaders(ctx, app.Id, ep.Id, models.EndpointHeadersPatchIn{Headers: map[string]string{"X-B": "2"}}))
	headers, err := client.Endpoint.GetHeaders(ctx, app.Id, ep.Id)
	must(err)
	if headers.Headers["X-A"] != "1" || headers.Headers["X-B"] != "2" {
		t.Errorf("headers %+v", headers)
	}
	upd, err := client.Endpoint.Update(ctx, app.Id, ep.Id, models.EndpointUpdate{Url: "https://example.com/v2", Uid: new("main"),
		FilterTypes: []string{"invoice.paid"}, ThrottleRate: new(uint16(7))})
	must(err)
	if upd.Url != "https://example.com/v2" || upd.ThrottleRate == nil || *upd.ThrottleRate != 7 {
		t.Errorf("updated endpoint %+v", upd)
	}
	eps, err := client.Endpoint.List(ctx, app.Id, nil)
	must(err)
	if len(eps.Data) != 1 {
		t.Errorf("%d endpoints", len(eps.Data))
	}

	// Messages.
	msg, err := client.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", EventId: new("evt-1"),
		Channels: []string{"eu"}, Payload: map[string]any{"amount": 42.0}}, nil)
	must(err)
	if !strings.HasPrefix(msg.Id, "msg_") || msg.Payload["amount"] != 42.0 {
		t.Fatalf("created message %+v", msg)
	}
	fetched, err := client.Message.Get(ctx, app.Id, "evt-1", nil)
	must(err)
	if fetched.Id != msg.Id || fetched.Payload["amount"] != 42.0 || fetched.Timestamp.IsZero() {
		t.Errorf("fetched message %+v", fetched)
	}
	msgs, err := client.Message.List(ctx, app.Id, &svix.MessageListOptions{EventTypes: &[]string{"invoice.paid"}})
	must(err)
	if len(msgs.Data) != 1 || msgs.Data[0].Id != msg.Id {
		t.Errorf("messages %+v", msgs.Data)
	}

	// Attempts: none made yet (no dispatcher runs here), but every list
	// decodes.
	byEp, err := client.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, nil)
	must(err)
	byMsg, err := client.MessageAttempt.ListByMsg(ctx, app.Id, msg.Id, nil)
	must(err)
	if len(byEp.Data)+len(byMsg.Data) != 0 {
		t.Errorf("attempts %+v %+v", byEp.Data, byMsg.Data)
	}
	dests, err := client.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, msg.Id, nil)
	must(err)
	if len(dests.Data) != 1 || dests.Data[0].Id != ep.Id || dests.Data[0].Status != models.MESSAGESTATUS_PENDING {
		t.Errorf("destinations %+v", dests.Data)
	}
	sent, err := client.MessageAttempt.ListAttemptedMessages(ctx, app.Id, ep.Id, nil)
	must(err)
	if len(sent.Data) != 1 || sent.Data[0].Id != msg.Id {
		t.Errorf("attempted messages %+v", sent.Data)
	}
	_, err = client.MessageAttempt.Resend(ctx, app.Id, msg.Id, ep.Id, nil)
	must(err)
	rec, err := client.Endpoint.Recover(ctx, app.Id, ep.Id, models.RecoverIn{Since: time.Now().Add(-time.Hour)}, nil)
	must(err)
	if rec.Status != models.BACKGROUNDTASKSTATUS_RUNNING {
		t.Errorf("recover %+v", rec)
	}

	// An example goes to the one endpoint asked for, not to the others
	// subscribed to its event type.
	_, err = client.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://example.com/other"}, nil)
	must(err)
	example, err := client.Endpoint.SendExample(ctx, app.Id, ep.Id, models.EventExampleIn{EventType: "invoice.paid"}, nil)
	must(err)
	if example.EventType != "invoice.paid" {
		t.Errorf("example message %+v", example)
	}
	exDests, err := client.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, example.Id, nil)
	must(err)
	if len(exDests.Data) != 1 || exDests.Data[0].Id != ep.Id {
		t.Errorf("the example went to %+v, want only %s", exDests.Data, ep.Id)
	}

	// Application pagination, forward and back.
	for _, name := range []string{"b", "c", "d", "e"} {
		_, err := client.Application.Create(ctx, models.ApplicationIn{Name: name}, nil)
		must(err)
	}
	var all []string
	opts := &svix.ApplicationListOptions{Limit: new(uint64(2))}
	for range 10 {
		page, err := client.Application.List(ctx, opts)
		must(err)
		for _, a := range page.Data {
			all = append(all, a.Id)
		}
		if page.Done {
			break
		}
		opts.Iterator = page.Iterator
	}
	if len(all) != 5 || !slices.IsSorted(all) {
		t.Errorf("paged through %v, want 5 apps in ID order", all)
	}
	second, err := client.Application.List(ctx, &svix.ApplicationListOptions{Limit: new(uint64(2)), Iterator: &all[1]})
	must(err)
	back, err := client.Application.List(ctx, &svix.ApplicationListOptions{Limit: new(uint64(2)), Iterator: second.PrevIterator})
	must(err)
	if len(back.Data) != 2 || back.Data[0].Id != all[0] || back.Data[1].Id != all[1] {
		t.Errorf("prev page %+v, want %v", back.Data, all[:2])
	}

	// Deletes.
	must(client.Endpoint.Delete(ctx, app.Id, ep.Id))
	must(client.EventType.Delete(ctx, "invoice.paid", nil))
	must(client.Application.Delete(ctx, app.Id))
	_, err = client.Application.Get(ctx, app.Id)
	if !errors.As(err, &se) || se.Status() != http.StatusNotFound {
		t.Errorf("deleted app: %v, want a 404", err)
	}
}

// TestSvixSDKDotIDs drives the Svix SDK with an ID of "..", which it puts
// in the path as it is and whose redirects it follows keeping the method.
// Every call on such a path fails with the API's 400 and leaves the app
// above it alone; creating a resource with such a name fails with a 422.
func TestSvixSDKDotIDs(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte(testToken))
	srv := httptest.NewServer(New(Options{Store: openSQLite(t), TokenHash: sum[:], Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	noRetries := []time.Duration{}
	client, err := svix.New(testToken, &svix.SvixOptions{ServerUrl: u, RetrySchedule: &noRetries})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wantStatus := func(what string, err error, status int) {
		t.Helper()
		var se *svix.Error
		if !errors.As(err, &se) || se.Status() != status {
			t.Errorf("%s: %v, want a %d", what, err, status)
		}
	}
	app, err := client.Application.Create(ctx, models.ApplicationIn{Name: "Victim", Uid: new("victim")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Endpoint.Create(ctx, "victim", models.EndpointIn{Url: "https://example.com/hook", Uid: new("main")}, nil); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{"..", ".", "main/..", "%2e%2e"} {
		_, err = client.Endpoint.Update(ctx, "victim", id, models.EndpointUpdate{Url: "https://evil.example/", Uid: new("stolen")})
		wantStatus("Endpoint.Update "+id, err, http.StatusBadRequest)
		_, err = client.Endpoint.Patch(ctx, "victim", id, models.EndpointPatch{Description: new("changed")})
		wantStatus("Endpoint.Patch "+id, err, http.StatusBadRequest)
		wantStatus("Endpoint.Delete "+id, client.Endpoint.Delete(ctx, "victim", id), http.StatusBadRequest)
		_, err = client.Message.Get(ctx, "victim", id, nil)
		wantStatus("Message.Get "+id, err, http.StatusBadRequest)
		wantStatus("EventType.Delete "+id, client.EventType.Delete(ctx, id, nil), http.StatusBadRequest)
	}
	got, err := client.Application.Get(ctx, "victim")
	if err != nil || got.Id != app.Id || got.Name != "Victim" {
		t.Fatalf("after the calls on .., the app is %+v, %v", got, err)
	}
	ep, err := client.Endpoint.Get(ctx, "victim", "main")
	if err != nil || ep.Url != "https://example.com/hook" || ep.Description != "" {
		t.Fatalf("after the calls on .., the endpoint is %+v, %v", ep, err)
	}

	_, err = client.Application.Create(ctx, models.ApplicationIn{Name: "Dots", Uid: new("..")}, nil)
	wantStatus("Application.Create uid ..", err, http.StatusUnprocessableEntity)
	_, err = client.Endpoint.Create(ctx, "victim", models.EndpointIn{Url: "https://example.com/hook", Uid: new(".")}, nil)
	wantStatus("Endpoint.Create uid .", err, http.StatusUnprocessableEntity)
	_, err = client.Message.Create(ctx, "victim", models.MessageIn{EventType: "invoice.paid", EventId: new(".."),
		Payload: map[string]any{"a": 1}}, nil)
	wantStatus("Message.Create eventId ..", err, http.StatusUnprocessableEntity)
	_, err = client.EventType.Create(ctx, models.EventTypeIn{Name: "..", Description: "dots"}, nil)
	wantStatus("EventType.Create name ..", err, http.StatusUnprocessableEntity)
}
