package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/webhook"
)

// testSecret is a valid endpoint secret: 24 bytes, base64.
var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))

func TestEndpoints(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.createApp("Acme", "acme")
		e.createEventType("invoice.paid")
		e.createEventType("invoice.void")
		base := "/api/v1/app/acme/endpoint"

		var ep endpointOut
		e.do("POST", base, map[string]any{
			"url": "https://example.com/hook", "uid": "main", "description": "Main",
			"filterTypes": []string{"invoice.paid"}, "channels": []string{"eu"},
			"rateLimit": 10, "metadata": map[string]string{"team": "billing"},
			"headers": map[string]string{"X-Team": "billing"},
		}).want(http.StatusCreated).decode(&ep)
		want := endpointOut{
			ID: ep.ID,
			endpointCommon: endpointCommon{
				UID: ptr("main"), URL: "https://example.com/hook", Description: "Main", Version: 1,
				RateLimit: ptrInt(10), ThrottleRate: ptrInt(10),
				EventTypes: []string{"invoice.paid"}, FilterTypes: []string{"invoice.paid"}, Channels: []string{"eu"},
				Format: "json", CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt,
			},
			Metadata: map[string]string{"team": "billing"},
		}
		if diff := cmp.Diff(want, ep, allowEndpoint); diff != "" {
			t.Fatalf("created endpoint (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(ep.ID, "ep_") {
			t.Errorf("ID %q", ep.ID)
		}
		stored, err := st.EndpointGet(context.Background(), a.ID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Headers["X-Team"] != "billing" || len(stored.Secrets) != 1 || len(stored.Secrets[0].Key) != 24 ||
			stored.Secrets[0].ExpiresAt != nil {
			t.Errorf("stored headers %v, secrets %+v", stored.Headers, stored.Secrets)
		}

		// Found by ID and by uid, through the app's ID or uid.
		for _, path := range []string{base + "/main", base + "/" + ep.ID, "/api/v1/app/" + a.ID + "/endpoint/main"} {
			var got endpointOut
			e.do("GET", path, nil).want(http.StatusOK).decode(&got)
			if diff := cmp.Diff(ep, got, allowEndpoint); diff != "" {
				t.Errorf("GET %s (-create +get):\n%s", path, diff)
			}
		}
		e.do("GET", base+"/other", nil).wantError(http.StatusNotFound, "not_found")
		e.do("GET", "/api/v1/app/nope/endpoint/main", nil).wantError(http.StatusNotFound, "not_found")

		// Endpoints are the app's own: another app does not see them.
		e.createApp("Other", "other")
		e.do("GET", "/api/v1/app/other/endpoint/"+ep.ID, nil).wantError(http.StatusNotFound, "not_found")

		e.do("POST", base, map[string]any{"url": "https://example.com/2", "uid": "main"}).wantError(http.StatusConflict, "conflict")
		e.do("POST", "/api/v1/app/other/endpoint", map[string]any{"url": "https://example.com/2", "uid": "main"}).
			want(http.StatusCreated)

		// PUT replaces, and a hookline-disabled endpoint re-enabled starts afresh.
		stored.Disabled, stored.DisabledReason = true, "endpoint answered 410 Gone"
		failing := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
		stored.FailingSince = &failing
		if err := st.EndpointUpdate(context.Background(), stored); err != nil {
			t.Fatal(err)
		}
		var got endpointOut
		e.do("GET", base+"/main", nil).want(http.StatusOK).decode(&got)
		if !got.Disabled || got.DisabledReason != "endpoint answered 410 Gone" {
			t.Errorf("disabled endpoint shows disabled=%v reason=%q", got.Disabled, got.DisabledReason)
		}
		var put endpointOut
		e.do("PUT", base+"/main", map[string]any{"url": "https://example.com/v2", "uid": "main", "eventTypes": []string{"invoice.void"},
			"throttleRate": 3}).want(http.StatusOK).decode(&put)
		if put.ID != ep.ID || put.URL != "https://example.com/v2" || put.Disabled || put.DisabledReason != "" ||
			!slices.Equal(put.EventTypes, []string{"invoice.void"}) || put.Channels != nil || *put.RateLimit != 3 ||
			put.Description != "" || len(put.Metadata) != 0 {
			t.Errorf("PUT gave %+v", put)
		}
		stored, _ = st.EndpointGet(context.Background(), a.ID, ep.ID)
		if stored.FailingSince != nil || stored.DisabledReason != "" || stored.Headers["X-Team"] != "billing" {
			t.Errorf("after re-enabling: failing since %v, reason %q, headers %v", stored.FailingSince,
				stored.DisabledReason, stored.Headers)
		}
		// PUT of a missing endpoint creates it.
		var created endpointOut
		e.do("PUT", base+"/backup", map[string]any{"url": "https://example.com/backup"}).want(http.StatusCreated).decode(&created)
		if deref(created.UID) != "backup" {
			t.Errorf("PUT-created endpoint uid %v", created.UID)
		}

		// PATCH: absent fields stay, null clears, filterTypes is eventTypes.
		var patched endpointOut
		e.do("PATCH", base+"/main", `{"filterTypes": null, "channels": ["us"], "disabled": true, "format": "form"}`).
			want(http.StatusOK).decode(&patched)
		if patched.URL != "https://example.com/v2" || patched.EventTypes != nil || !slices.Equal(patched.Channels, []string{"us"}) ||
			!patched.Disabled || patched.DisabledReason != "" || patched.Format != "form" || *patched.ThrottleRate != 3 {
			t.Errorf("PATCH gave %+v", patched)
		}
		e.do("PATCH", base+"/main", map[string]any{"uid": "backup"}).wantError(http.StatusConflict, "conflict")

		// Listing is newest first by default, as in Svix.
		var list listOut[endpointOut]
		e.do("GET", base, nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 2 || list.Data[0].ID < list.Data[1].ID {
			t.Errorf("list %v not in descending ID order", list.Data)
		}

		e.do("DELETE", base+"/main", nil).want(http.StatusNoContent)
		e.do("GET", base+"/main", nil).wantError(http.StatusNotFound, "not_found")
	})
}

func ptrInt(n int) *int { return &n }

func TestEndpointValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	e.createApp("A", "a")
	e.createEventType("known")
	archived := "gone"
	e.createEventType(archived)
	e.do("DELETE", "/api/v1/event-type/"+archived, nil).want(http.StatusNoContent)
	for _, tc := range []struct {
		name string
		body string
		loc  string
	}{
		{"ftp url", `{"url": "ftp://x"}`, "url"},
		{"no url", `{}`, "url"},
		{"url with credentials", `{"url": "https://u:p@example.com"}`, "url"},
		{"unknown event type", `{"url": "https://x.test", "eventTypes": ["known", "unknown"]}`, "eventTypes"},
		{"archived event type", `{"url": "https://x.test", "filterTypes": ["gone"]}`, "eventTypes"},
		{"empty event types", `{"url": "https://x.test", "eventTypes": []}`, "eventTypes"},
		{"bad channel", `{"url": "https://x.test", "channels": ["a b"]}`, "channels"},
		{"bad uid", `{"url": "https://x.test", "uid": "a/b"}`, "uid"},
		{"version 0", `{"url": "https://x.test", "version": 0}`, "version"},
		{"throttle too high", `{"url": "https://x.test", "throttleRate": 70000}`, "rateLimit"},
		{"bad format", `{"url": "https://x.test", "format": "yaml"}`, "format"},
		{"reserved header", `{"url": "https://x.test", "headers": {"Content-Type": "text/plain"}}`, "headers"},
		{"connection header", `{"url": "https://x.test", "headers": {"Upgrade": "websocket"}}`, "headers"},
		{"header name not a token", `{"url": "https://x.test", "headers": {"X(Team)": "a"}}`, "headers"},
		{"control character in a header value", `{"url": "https://x.test", "headers": {"X-Team": "a\u0000b"}}`, "headers"},
		{"line break in a header value", `{"url": "https://x.test", "headers": {"X-Team": "a\r\nX-Evil: 1"}}`, "headers"},
		{"short secret", `{"url": "https://x.test", "secret": "whsec_abc"}`, "secret"},
		{"secret not base64", `{"url": "https://x.test", "secret": "whsec_` + strings.Repeat("!", 32) + `"}`, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.in(t).do("POST", "/api/v1/app/a/endpoint", tc.body).wantInvalid("body", tc.loc)
		})
	}
	it := e.do("POST", "/api/v1/app/a/endpoint", `{"url": "https://x.test", "eventTypes": ["unknown"]}`).wantInvalid("body", "eventTypes")
	if !strings.Contains(it.Msg, "unknown") {
		t.Errorf("message %q does not name the missing event type", it.Msg)
	}
	e.do("POST", "/api/v1/app/nope/endpoint", `{"url": "https://x.test"}`).wantError(http.StatusNotFound, "not_found")
}

// TestEndpointURLGuard checks that a URL the network guard refuses at
// every attempt is refused when it is set, with a message that says what
// to do, and that an endpoint keeping such a URL can still be changed.
func TestEndpointURLGuard(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	strict := newEnv(t, st)
	open := newEnv(t, st, func(o *Options) { o.AllowPrivateNetworks = true })
	strict.createApp("A", "a")
	const base = "/api/v1/app/a/endpoint"

	for _, tc := range []struct {
		url    string
		always bool // refused with private networks allowed too
	}{
		{url: "http://127.0.0.1:3000/hook"},
		{url: "http://localhost:3000/hook"},
		{url: "http://[::1]/hook"},
		{url: "https://10.1.2.3/hook"},
		{url: "http://[::ffff:192.168.1.1]/hook"},
		{url: "http://198.18.0.1/hook"},
		{url: "http://169.254.169.254/latest/meta-data/", always: true},
		{url: "http://168.63.129.16/machine", always: true},
		{url: "http://[fd00:ec2::254]/", always: true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			body := map[string]any{"url": tc.url}
			it := strict.in(t).do("POST", base, body).wantInvalid("body", "url")
			if !strings.Contains(it.Msg, "--allow-private-networks") {
				t.Errorf("message %q does not name --allow-private-networks", it.Msg)
			}
			strict.in(t).do("PUT", base+"/new-"+strings.NewReplacer(":", "", "/", "", ".", "", "[", "", "]", "").Replace(tc.url), body).
				wantInvalid("body", "url")
			if !tc.always {
				open.in(t).do("POST", base, body).want(http.StatusCreated)
				return
			}
			it = open.in(t).do("POST", base, body).wantInvalid("body", "url")
			if !strings.Contains(it.Msg, "never connects to it, even with --allow-private-networks") {
				t.Errorf("message %q does not say the address stays refused", it.Msg)
			}
		})
	}

	strict.do("POST", base, map[string]any{"url": "https://example.com/hook", "uid": "public"}).want(http.StatusCreated)
	strict.do("PATCH", base+"/public", map[string]any{"url": "http://127.0.0.1/hook"}).wantInvalid("body", "url")
	strict.do("PUT", base+"/public", map[string]any{"url": "http://localhost/hook"}).wantInvalid("body", "url")

	// Made while private networks were allowed, an endpoint keeps its URL
	// and can still be changed otherwise, but not moved to another
	// private address.
	open.do("POST", base, map[string]any{"url": "http://127.0.0.1:3000/hook", "uid": "local"}).want(http.StatusCreated)
	strict.do("PATCH", base+"/local", map[string]any{"disabled": true}).want(http.StatusOK)
	strict.do("PUT", base+"/local", map[string]any{"url": "http://127.0.0.1:3000/hook", "uid": "local", "description": "dev"}).want(http.StatusOK)
	strict.do("PATCH", base+"/local", map[string]any{"url": "http://127.0.0.1:4000/hook"}).wantInvalid("body", "url")
}

func TestEndpointSecret(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		e := newEnv(t, st, func(o *Options) { o.Now = func() time.Time { return now } })
		a := e.createApp("A", "a")
		bare := strings.TrimPrefix(testSecret, "whsec_")
		ep := e.createEndpoint("a", map[string]any{"url": "https://x.test", "secret": bare})
		path := "/api/v1/app/a/endpoint/" + ep.ID

		var sec struct{ Key string }
		e.do("GET", path+"/secret", nil).want(http.StatusOK).decode(&sec)
		if sec.Key != testSecret {
			t.Fatalf("secret %q, want %q (a secret given without prefix is shown with it)", sec.Key, testSecret)
		}

		// A generated secret on create.
		gen := e.createEndpoint("a", map[string]any{"url": "https://y.test"})
		e.do("GET", "/api/v1/app/a/endpoint/"+gen.ID+"/secret", nil).want(http.StatusOK).decode(&sec)
		if key, err := webhook.ParseSecret(sec.Key); err != nil || len(key) != 24 || !strings.HasPrefix(sec.Key, "whsec_") {
			t.Errorf("generated secret %q: %v", sec.Key, err)
		}

		// Rotate to a given key: it becomes current, the old one signs on
		// for the grace period.
		next := "whsec_" + base64.StdEncoding.EncodeToString([]byte("abcdefghijklmnopqrstuvwxyz012345"))
		e.do("POST", path+"/secret/rotate", map[string]any{"key": next, "gracePeriodSeconds": 3600}).want(http.StatusNoContent)
		e.do("GET", path+"/secret", nil).want(http.StatusOK).decode(&sec)
		if sec.Key != next {
			t.Errorf("after rotation, secret %q, want %q", sec.Key, next)
		}
		stored, err := st.EndpointGet(context.Background(), a.ID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		old, _ := webhook.ParseSecret(testSecret)
		if len(stored.Secrets) != 2 || string(stored.Secrets[1].Key) != string(old) || stored.Secrets[0].ExpiresAt != nil ||
			stored.Secrets[1].ExpiresAt == nil || !stored.Secrets[1].ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("secrets after rotation: %+v", stored.Secrets)
		}
		if keys := stored.SigningKeys(now); len(keys) != 2 {
			t.Errorf("%d signing keys during the grace period, want 2", len(keys))
		}

		// Rotate again with the default grace period and a generated key.
		e.do("POST", path+"/secret/rotate", nil).want(http.StatusNoContent)
		stored, _ = st.EndpointGet(context.Background(), a.ID, ep.ID)
		if len(stored.Secrets) != 3 || !stored.Secrets[1].ExpiresAt.Equal(now.Add(24*time.Hour)) {
			t.Errorf("secrets after second rotation: %+v", stored.Secrets)
		}
		// A grace period of zero drops the old key at once.
		e.do("POST", path+"/secret/rotate", map[string]any{"gracePeriodSeconds": 0}).want(http.StatusNoContent)
		stored, _ = st.EndpointGet(context.Background(), a.ID, ep.ID)
		if len(stored.Secrets) != 3 {
			t.Errorf("%d secrets after a rotation without grace, want 3", len(stored.Secrets))
		}

		e.do("POST", path+"/secret/rotate", map[string]any{"gracePeriodSeconds": 604801}).wantInvalid("body", "gracePeriodSeconds")
		e.do("POST", path+"/secret/rotate", map[string]any{"key": "nope"}).wantInvalid("body", "key")
		e.do("GET", "/api/v1/app/a/endpoint/nope/secret", nil).wantError(http.StatusNotFound, "not_found")
	})
}

func TestEndpointHeaders(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.createApp("A", "a")
		ep := e.createEndpoint("a", map[string]any{"url": "https://x.test", "headers": map[string]string{"X-Initial": "1"}})
		path := "/api/v1/app/a/endpoint/" + ep.ID + "/headers"

		var h endpointHeadersOut
		e.do("GET", path, nil).want(http.StatusOK).decode(&h)
		if diff := cmp.Diff(endpointHeadersOut{Headers: map[string]string{"X-Initial": "1"}, Sensitive: []string{}}, h); diff != "" {
			t.Errorf("headers from create (-want +got):\n%s", diff)
		}

		e.do("PUT", path, map[string]any{"headers": map[string]string{"X-A": "a", "X-B": "b", "Authorization": "Bearer s3cret"}}).
			want(http.StatusNoContent)
		r := e.do("GET", path, nil).want(http.StatusOK)
		if strings.Contains(string(r.Body), "s3cret") {
			t.Errorf("GET headers shows a sensitive value: %s", r.Body)
		}
		h = endpointHeadersOut{}
		r.decode(&h)
		if diff := cmp.Diff(endpointHeadersOut{Headers: map[string]string{"X-A": "a", "X-B": "b"}, Sensitive: []string{"Authorization"}}, h); diff != "" {
			t.Errorf("headers after PUT (-want +got):\n%s", diff)
		}

		// PATCH merges; null and deleteHeaders remove, ignoring case.
		e.do("PATCH", path, `{"headers": {"X-C": "c", "x-a": null, "X-B": "B"}, "deleteHeaders": ["authorization"]}`).
			want(http.StatusNoContent)
		h = endpointHeadersOut{}
		e.do("GET", path, nil).want(http.StatusOK).decode(&h)
		if diff := cmp.Diff(endpointHeadersOut{Headers: map[string]string{"X-B": "B", "X-C": "c"}, Sensitive: []string{}}, h); diff != "" {
			t.Errorf("headers after PATCH (-want +got):\n%s", diff)
		}

		e.do("PUT", path, map[string]any{"headers": map[string]string{"Webhook-Signature": "x"}}).wantInvalid("body", "headers")
		e.do("PATCH", path, map[string]any{"headers": map[string]string{"Bad Name": "x"}}).wantInvalid("body", "headers")
		e.do("PUT", path, map[string]any{}).wantInvalid("body", "headers")
		e.do("GET", "/api/v1/app/a/endpoint/nope/headers", nil).wantError(http.StatusNotFound, "not_found")
	})
}

// allowEndpoint lets cmp see the embedded endpointCommon.
var allowEndpoint = cmp.AllowUnexported(endpointOut{})
