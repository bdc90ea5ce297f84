package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// TestSvixSDKOperationalWebhook drives the operator's endpoints through
// the Svix Go SDK's OperationalWebhookEndpoint: every call must succeed
// and decode.
func TestSvixSDKOperationalWebhook(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	sum := sha256.Sum256([]byte(testToken))
	srv := httptest.NewServer(New(Options{Store: st, TokenHash: sum[:], AllowPrivateNetworks: true,
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
	ow := client.OperationalWebhookEndpoint

	list, err := ow.List(ctx, nil)
	must(err)
	if len(list.Data) != 0 || !list.Done {
		t.Fatalf("list before any: %+v", list)
	}
	ep, err := ow.Create(ctx, models.OperationalWebhookEndpointIn{
		Url:         "http://127.0.0.1:9/ops",
		Description: new("pager"),
		FilterTypes: []string{opwebhook.EndpointDisabled, opwebhook.MessageAttemptExhausted},
		Metadata:    &map[string]string{"team": "sre"},
		Secret:      new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
	}, nil)
	must(err)
	if ep.Url != "http://127.0.0.1:9/ops" || ep.Description != "pager" || ep.Metadata["team"] != "sre" ||
		!cmp.Equal(ep.FilterTypes, []string{opwebhook.EndpointDisabled, opwebhook.MessageAttemptExhausted}) || ep.CreatedAt.IsZero() {
		t.Fatalf("created %+v", ep)
	}
	got, err := ow.Get(ctx, ep.Id)
	must(err)
	if got.Id != ep.Id || got.Url != ep.Url {
		t.Errorf("get %+v, want %+v", got, ep)
	}
	list, err = ow.List(ctx, &svix.OperationalWebhookEndpointListOptions{Limit: new(uint64(10))})
	must(err)
	if len(list.Data) != 1 || list.Data[0].Id != ep.Id {
		t.Errorf("list %+v", list)
	}

	sec, err := ow.GetSecret(ctx, ep.Id)
	must(err)
	if sec.Key != "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" {
		t.Errorf("secret %q", sec.Key)
	}
	must(ow.RotateSecret(ctx, ep.Id, models.OperationalWebhookEndpointSecretIn{}, nil))
	sec2, err := ow.GetSecret(ctx, ep.Id)
	must(err)
	if sec2.Key == sec.Key {
		t.Error("rotation kept the secret")
	}

	must(ow.UpdateHeaders(ctx, ep.Id, models.OperationalWebhookEndpointHeadersIn{
		Headers: map[string]string{"X-Team": "sre", "Authorization": "Bearer x"}}))
	h, err := ow.GetHeaders(ctx, ep.Id)
	must(err)
	if h.Headers["X-Team"] != "sre" || !cmp.Equal(h.Sensitive, []string{"Authorization"}) {
		t.Errorf("headers %+v", h)
	}

	up, err := ow.Update(ctx, ep.Id, models.OperationalWebhookEndpointUpdate{
		Url: "http://127.0.0.1:9/ops2", Disabled: new(true), ThrottleRate: new(uint16(5))})
	must(err)
	if up.Url != "http://127.0.0.1:9/ops2" || up.Disabled == nil || !*up.Disabled || up.ThrottleRate == nil ||
		*up.ThrottleRate != 5 || len(up.FilterTypes) != 0 {
		t.Errorf("updated %+v", up)
	}
	// A PUT keeps the headers, which have routes of their own.
	if h, err := ow.GetHeaders(ctx, ep.Id); err != nil || h.Headers["X-Team"] != "sre" {
		t.Errorf("headers after update: %+v, %v", h, err)
	}
	// Upsert: a uid no endpoint has creates one.
	made, err := ow.Update(ctx, "pager-2", models.OperationalWebhookEndpointUpdate{Url: "http://127.0.0.1:9/ops3"})
	must(err)
	if made.Uid == nil || *made.Uid != "pager-2" || made.Id == ep.Id {
		t.Errorf("upserted %+v", made)
	}

	_, err = ow.Create(ctx, models.OperationalWebhookEndpointIn{Url: "http://127.0.0.1:9/x",
		FilterTypes: []string{"user.signup"}}, nil)
	var se *svix.Error
	if !errors.As(err, &se) || se.Status() != http.StatusUnprocessableEntity {
		t.Errorf("filter on a type that is no operational event: %v, want a 422", err)
	}

	must(ow.Delete(ctx, ep.Id))
	if _, err := ow.Get(ctx, ep.Id); !errors.As(err, &se) || se.Status() != http.StatusNotFound {
		t.Errorf("get after delete: %v, want a 404", err)
	}
}

// TestOperationalAppHidden checks that the reserved app of the operator's
// endpoints is out of reach of the app routes, the app list and tokens.
func TestOperationalAppHidden(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(o *Options) { o.AllowPrivateNetworks = true })
		a := e.createApp("First", "")
		e.do("POST", "/api/v1/operational-webhook/endpoint", map[string]any{"url": "http://127.0.0.1:9/ops"}).
			want(http.StatusCreated)
		b := e.createApp("Second", "")

		ids := func(query string) []string {
			var l listOut[applicationOut]
			e.do("GET", "/api/v1/app"+query, nil).want(http.StatusOK).decode(&l)
			var out []string
			for _, x := range l.Data {
				out = append(out, x.ID)
			}
			return out
		}
		for _, tc := range []struct{ query string }{{""}, {"?order=descending"}, {"?limit=1&iterator=-" + a.ID},
			{"?order=descending&limit=1&iterator=" + a.ID}} {
			for _, id := range ids(tc.query) {
				if id == opwebhook.AppID {
					t.Errorf("GET /api/v1/app%s lists the reserved app", tc.query)
				}
			}
		}
		if got := ids(""); !cmp.Equal(got, []string{a.ID, b.ID}) {
			t.Errorf("apps %v, want %v", got, []string{a.ID, b.ID})
		}

		e.do("GET", "/api/v1/app/"+opwebhook.AppID, nil).wantError(http.StatusNotFound, "not_found")
		e.do("GET", "/api/v1/app/"+opwebhook.AppID+"/endpoint", nil).wantError(http.StatusNotFound, "not_found")
		e.do("DELETE", "/api/v1/app/"+opwebhook.AppID, nil).wantError(http.StatusNotFound, "not_found")
		e.do("POST", "/api/v1/app/"+opwebhook.AppID+"/msg", map[string]any{"eventType": "endpoint.created",
			"payload": map[string]any{}}).wantError(http.StatusNotFound, "not_found")
		e.do("POST", "/api/v1/token", map[string]any{"name": "x", "scope": "app", "appId": opwebhook.AppID}).
			wantInvalid("body", "appId")

		// An app's token does not reach the operator's endpoints.
		var tok struct {
			Token string `json:"token"`
		}
		e.do("POST", "/api/v1/token", map[string]any{"name": "x", "scope": "app", "appId": a.ID}).
			want(http.StatusCreated).decode(&tok)
		e.doAuth("Bearer "+tok.Token, "GET", "/api/v1/operational-webhook/endpoint", nil).
			wantError(http.StatusForbidden, "forbidden")
	})
}

// events records operational events.
type events struct {
	mu  sync.Mutex
	got []opwebhook.Event
}

func (r *events) Emit(ev opwebhook.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
}

// types returns the types of the events recorded, and forgets them.
func (r *events) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.got {
		out = append(out, ev.Type)
	}
	r.got = nil
	return out
}

// TestOperationalEvents checks that the API's changes to endpoints emit
// their events, and changes to the operator's own endpoints none.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		rec := &events{}
		e := newEnv(t, st, func(o *Options) { o.AllowPrivateNetworks = true; o.Events = rec })
		a := e.createApp("Acme", "acme")
		path := "/api/v1/app/" + a.ID + "/endpoint"
		ep := e.createEndpoint(a.ID, map[string]any{"url": "http://127.0.0.1:9/a", "uid": "main"})
		steps := []struct {
			name   string
			do     func()
			events []string
		}{
			{"created", func() {}, []string{opwebhook.EndpointCreated}},
			{"patched", func() {
				e.do("PATCH", path+"/"+ep.ID, map[string]any{"description": "x"}).want(http.StatusOK)
			}, []string{opwebhook.EndpointUpdated}},
			{"disabled", func() {
				e.do("PATCH", path+"/"+ep.ID, map[string]any{"disabled": true}).want(http.StatusOK)
			}, []string{opwebhook.EndpointUpdated, opwebhook.EndpointDisabled}},
			{"enabled by a PUT", func() {
				e.do("PUT", path+"/"+ep.ID, map[string]any{"url": "http://127.0.0.1:9/a"}).want(http.StatusOK)
			}, []string{opwebhook.EndpointUpdated, opwebhook.EndpointEnabled}},
			{"refused", func() {
				e.do("PATCH", path+"/"+ep.ID, map[string]any{"url": "nope"}).want(http.StatusUnprocessableEntity)
			}, nil},
			{"created by a PUT", func() {
				e.do("PUT", path+"/second", map[string]any{"url": "http://127.0.0.1:9/b", "disabled": true}).want(http.StatusCreated)
			}, []string{opwebhook.EndpointCreated}},
			{"deleted", func() {
				e.do("DELETE", path+"/"+ep.ID, nil).want(http.StatusNoContent)
			}, []string{opwebhook.EndpointDeleted}},
			{"operator's endpoint", func() {
				var op operationalOut
				e.do("POST", "/api/v1/operational-webhook/endpoint", map[string]any{"url": "http://127.0.0.1:9/ops"}).
					want(http.StatusCreated).decode(&op)
				e.do("PUT", "/api/v1/operational-webhook/endpoint/"+op.ID, map[string]any{"url": "http://127.0.0.1:9/ops", "disabled": true}).
					want(http.StatusOK)
				e.do("DELETE", "/api/v1/operational-webhook/endpoint/"+op.ID, nil).want(http.StatusNoContent)
			}, nil},
		}
		for _, s := range steps {
			s.do()
			if got := rec.types(); !cmp.Equal(got, s.events) {
				t.Errorf("%s: events %v, want %v", s.name, got, s.events)
			}
		}

		// The data names the endpoint as Svix's EndpointCreatedEventData
		// does; the emitter fills in the app's uid.
		e.createEndpoint(a.ID, map[string]any{"url": "http://127.0.0.1:9/c", "uid": "third"})
		rec.mu.Lock()
		defer rec.mu.Unlock()
		d, ok := rec.got[0].Data.(*opwebhook.EndpointData)
		if !ok || d.AppID != a.ID || d.EndpointUID == nil || *d.EndpointUID != "third" || !hookline.IsID(hookline.PrefixEndpoint, d.EndpointID) {
			t.Errorf("endpoint.created data %#v", rec.got[0].Data)
		}
	})
}
