package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
)

// TestSvixSDKAppPortalAccess drives portal access through the Svix SDK as a
// Svix user does: AppPortalAccess answers a login URL and a token, and an
// SDK client made with that token works on that app within its
// capabilities, and gets 403 everywhere else; ExpireAll and Logout end
// such tokens.
func TestSvixSDKAppPortalAccess(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte(testToken))
	srv := httptest.NewServer(New(Options{Store: openSQLite(t), TokenHash: sum[:], Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	noRetries := []time.Duration{}
	clientFor := func(token string) *svix.Svix {
		c, err := svix.New(token, &svix.SvixOptions{ServerUrl: u, RetrySchedule: &noRetries})
		if err != nil {
			t.Fatal(err)
		}
		return c
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
	wantStatus := func(what string, err error, status int) {
		t.Helper()
		var se *svix.Error
		if !errors.As(err, &se) || se.Status() != status {
			t.Errorf("%s: %v, want a %d", what, err, status)
		}
	}

	admin := clientFor(testToken)
	app, err := admin.Application.Create(ctx, models.ApplicationIn{Name: "Acme", Uid: new("acme")}, nil)
	must(err)
	other, err := admin.Application.Create(ctx, models.ApplicationIn{Name: "Other", Uid: new("other")}, nil)
	must(err)
	ep, err := admin.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://example.com/hook"}, nil)
	must(err)
	_, err = admin.Endpoint.Create(ctx, other.Id, models.EndpointIn{Url: "https://example.com/other"}, nil)
	must(err)

	access, err := admin.Authentication.AppPortalAccess(ctx, "acme", models.AppPortalAccessIn{
		Capabilities: []models.AppPortalCapability{models.APPPORTALCAPABILITY_VIEW_BASE, models.APPPORTALCAPABILITY_MANAGE_ENDPOINT},
		Expiry:       new(uint64(3600)),
		SessionId:    new("session-1"),
	}, nil)
	must(err)
	if !strings.HasPrefix(access.Url, srv.URL+"/portal/login?code=") || access.Token == "" {
		t.Fatalf("access %+v", access)
	}

	portal := clientFor(access.Token)
	eps, err := portal.Endpoint.List(ctx, "acme", nil)
	must(err)
	if len(eps.Data) != 1 || eps.Data[0].Id != ep.Id {
		t.Fatalf("portal token lists %+v, want its app's one endpoint", eps.Data)
	}
	_, err = portal.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://example.com/second"}, nil)
	must(err)
	_, err = portal.Endpoint.List(ctx, other.Id, nil)
	wantStatus("Endpoint.List of another app", err, http.StatusForbidden)
	_, err = portal.Application.List(ctx, nil)
	wantStatus("Application.List", err, http.StatusForbidden)
	_, err = portal.EventType.Create(ctx, models.EventTypeIn{Name: "user.created", Description: "x"}, nil)
	wantStatus("EventType.Create", err, http.StatusForbidden)
	_, err = portal.Message.Create(ctx, "acme", models.MessageIn{EventType: "user.created", Payload: map[string]any{}}, nil)
	wantStatus("Message.Create", err, http.StatusForbidden)
	_, err = portal.Authentication.AppPortalAccess(ctx, "acme", models.AppPortalAccessIn{}, nil)
	wantStatus("AppPortalAccess with a portal token", err, http.StatusForbidden)
	_, err = portal.MessageAttempt.Resend(ctx, "acme", "msg_x", ep.Id, nil)
	wantStatus("resend without CreateAttempts", err, http.StatusForbidden)

	// A read-only access reads and changes nothing.
	ro, err := admin.Authentication.AppPortalAccess(ctx, app.Id, models.AppPortalAccessIn{ReadOnly: new(true)}, nil)
	must(err)
	_, err = clientFor(ro.Token).Endpoint.List(ctx, app.Id, nil)
	must(err)
	err = clientFor(ro.Token).Endpoint.Delete(ctx, app.Id, ep.Id)
	wantStatus("Endpoint.Delete read-only", err, http.StatusForbidden)

	// ExpireAll by session, then Logout.
	must(admin.Authentication.ExpireAll(ctx, "acme", models.ApplicationTokenExpireIn{SessionIds: []string{"session-1"}}, nil))
	_, err = portal.Endpoint.List(ctx, "acme", nil)
	wantStatus("Endpoint.List after ExpireAll", err, http.StatusUnauthorized)
	_, err = clientFor(ro.Token).Endpoint.List(ctx, app.Id, nil)
	must(err)
	must(clientFor(ro.Token).Authentication.Logout(ctx, nil))
	_, err = clientFor(ro.Token).Endpoint.List(ctx, app.Id, nil)
	wantStatus("Endpoint.List after Logout", err, http.StatusUnauthorized)
}
