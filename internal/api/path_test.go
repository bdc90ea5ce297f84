package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// dotPaths each point, once cleaned as http.ServeMux cleans paths, at
// another resource than they name: the app above an endpoint, the list
// that creates apps, a source above its requests.
var dotPaths = []string{
	"/api/v1/app/victim/endpoint/..",
	"/api/v1/app/victim/endpoint/../",
	"/api/v1/app/victim/endpoint/.",
	"/api/v1/app/victim/endpoint/main/..",
	"/api/v1/app/victim/endpoint/main/../..",
	"/api/v1/app/victim/endpoint/main/./secret",
	"/api/v1/app/victim/endpoint/%2e%2e",
	"/api/v1/app/victim/endpoint/%2E.",
	"/api/v1/app/victim/endpoint/.%2E",
	"/api/v1/app/victim/endpoint/%2e",
	"/api/v1/app/victim/endpoint/main%2f..",
	"/api/v1/app/victim/endpoint/main%2F",
	"/api/v1/app/victim/msg/..",
	"/api/v1/app/victim/msg/evt-1/..",
	"/api/v1/app/victim/msg/%2e%2e",
	"/api/v1/app/victim/attempt/msg/..",
	"/api/v1/app/victim/..",
	"/api/v1/app/./victim",
	"/api/v1/app//victim",
	"/api/v1//app/victim",
	"//api/v1/app/victim",
	"/api/v1/app/victim//",
	"/api/v1/event-type/..",
	"/api/v1/event-type/invoice.paid/..",
	"/api/v1/event-type/%2e%2e",
	"/api/v1/source/src/request/..",
	"/api/v1/source/src/request/%2E%2E",
	"/api/v1/source/src/events/..",
	"/api/v1/source/..",
	"/api/v1/health/..",
}

// TestDotPathsNeverRedirect sends every method to paths with dot
// segments, escaped dots and slashes and doubled slashes, through a
// client that follows redirects keeping the method, as curl -L and the
// Svix SDKs do. Each must be refused with a JSON 400 of its own, and
// nothing may change.
func TestDotPathsNeverRedirect(t *testing.T) {
	t.Parallel()
	e := newVictim(t)
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	before := e.snapshot()

	// A body each parent would accept: a new name, uid and URL, a payload.
	body := `{"name":"renamed","uid":"stolen","url":"https://evil.example/","eventType":"invoice.paid",` +
		`"payload":{"a":1},"description":"x","routes":[{"type":"hold"}]}`
	for _, path := range dotPaths {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			t.Run(method+" "+path, func(t *testing.T) {
				var redirects []string
				client := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
					redirects = append(redirects, r.URL.String())
					return nil // follow, as curl -L does
				}}
				req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if len(redirects) > 0 {
					t.Fatalf("redirected to %v, answered %d %s", redirects, resp.StatusCode, b)
				}
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("answered %d %s %s, want a JSON 400", resp.StatusCode, resp.Header.Get("Content-Type"), b)
				}
				if method == "HEAD" {
					return
				}
				var eb errorBody
				if err := json.Unmarshal(b, &eb); err != nil || eb.Code != "invalid_path" || !strings.Contains(eb.Detail, "path") {
					t.Errorf("answered %s, want code invalid_path and a detail", b)
				}
			})
		}
	}
	if after := e.snapshot(); !bytes.Equal(after, before) {
		t.Errorf("resources changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestDotPathsRefusedBeforeAuth checks that the path is checked before
// the token, as the redirect it replaces came before it.
func TestDotPathsRefusedBeforeAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	e.doAuth("", "DELETE", "/api/v1/app/victim/endpoint/..", nil).wantError(http.StatusBadRequest, "invalid_path")
	e.doAuth("", "GET", "/api/v1/app/victim/endpoint/main", nil).wantError(http.StatusUnauthorized, "authentication_failed")
	e.do("GET", "/api/v1/app/", nil).want(http.StatusOK)
	e.do("GET", "/api/v1/event-type/a.b%2Ec", nil).wantError(http.StatusNotFound, "not_found")
}

// TestDotNamesRefused checks that no resource can be given a name that a
// path cannot hold, on create and on update, with a 422 that says why.
func TestDotNamesRefused(t *testing.T) {
	t.Parallel()
	e := newVictim(t)
	const ep = "/api/v1/app/victim/endpoint"
	tests := []struct {
		name, method, path string
		body               map[string]any
		loc                []string
	}{
		{"app create", "POST", "/api/v1/app", map[string]any{"name": "x", "uid": ".."}, []string{"body", "uid"}},
		{"app put", "PUT", "/api/v1/app/victim", map[string]any{"name": "x", "uid": "."}, []string{"body", "uid"}},
		{"app patch", "PATCH", "/api/v1/app/victim", map[string]any{"uid": ".."}, []string{"body", "uid"}},
		{"endpoint create", "POST", ep, map[string]any{"url": "https://example.com/", "uid": ".."}, []string{"body", "uid"}},
		{"endpoint put", "PUT", ep + "/main", map[string]any{"url": "https://example.com/", "uid": "."}, []string{"body", "uid"}},
		{"endpoint patch", "PATCH", ep + "/main", map[string]any{"uid": ".."}, []string{"body", "uid"}},
		{"endpoint filter", "PATCH", ep + "/main", map[string]any{"filterTypes": []string{".."}}, []string{"body", "eventTypes"}},
		{"message eventId", "POST", "/api/v1/app/victim/msg", map[string]any{"eventType": "invoice.paid", "eventId": "..",
			"payload": map[string]any{}}, []string{"body", "eventId"}},
		{"event type create", "POST", "/api/v1/event-type", map[string]any{"name": "..", "description": "x"}, []string{"body", "name"}},
		{"source create", "POST", "/api/v1/source", map[string]any{"name": "x", "uid": ".."}, []string{"body", "uid"}},
		{"source patch", "PATCH", "/api/v1/source/src", map[string]any{"uid": "."}, []string{"body", "uid"}},
		{"source route id", "POST", "/api/v1/source", map[string]any{"name": "x",
			"routes": []map[string]any{{"id": "..", "type": "hold"}}}, []string{"body", "routes.id"}},
	}
	before := e.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := e.in(t).do(tt.method, tt.path, tt.body).wantInvalid(tt.loc...)
			if !strings.Contains(it.Msg, `"." or ".."`) {
				t.Errorf("msg %q does not say why", it.Msg)
			}
		})
	}
	if after := e.snapshot(); !bytes.Equal(after, before) {
		t.Errorf("resources changed:\nbefore %s\nafter  %s", before, after)
	}
}

// newVictim returns an API with sources over SQLite, holding the app
// "victim" with the endpoint "main", the event type "invoice.paid", the
// message "evt-1" and the source "src".
func newVictim(t *testing.T) *srcEnv {
	t.Helper()
	e := newSrcEnv(t)
	e.createApp("Victim", "victim")
	e.createEventType("invoice.paid")
	e.createEndpoint("victim", map[string]any{"url": "https://example.com/hook", "uid": "main"})
	e.createMessage("victim", map[string]any{"eventType": "invoice.paid", "eventId": "evt-1", "payload": map[string]any{"n": 1}})
	e.createSource(map[string]any{"name": "Source", "uid": "src", "routes": []map[string]any{{"id": "held", "type": "hold"}}})
	return e
}

// snapshot reads back every resource a mistaken route could change.
func (e *srcEnv) snapshot() []byte {
	e.t.Helper()
	var b bytes.Buffer
	for _, path := range []string{"/api/v1/app", "/api/v1/app/victim/endpoint", "/api/v1/app/victim/msg",
		"/api/v1/event-type", "/api/v1/source", "/api/v1/app/victim/endpoint/main/secret"} {
		b.Write(e.do("GET", path, nil).want(http.StatusOK).Body)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestLegacyDotNames checks that an app and an endpoint stored with the
// uids "." and ".." by an earlier version are listed, reached by their
// IDs and can be given another uid there, and that the event type list
// pages past an event type named "..".
func TestLegacyDotNames(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: "..", Name: "Old", Metadata: map[string]string{},
			CreatedAt: now, UpdatedAt: now}
		ep := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: a.ID, UID: ".", URL: "https://example.com/hook",
			Version: 1, Format: hookline.FormatJSON, Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef0123456789abcdef")}},
			CreatedAt: now, UpdatedAt: now}
		if err := st.AppCreate(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.EndpointCreate(ctx, ep); err != nil {
			t.Fatal(err)
		}
		var apps struct{ Data []applicationOut }
		e.do("GET", "/api/v1/app", nil).want(http.StatusOK).decode(&apps)
		if len(apps.Data) != 1 || deref(apps.Data[0].UID) != ".." {
			t.Fatalf("listed %+v", apps.Data)
		}
		e.do("GET", "/api/v1/app/"+a.ID+"/endpoint/"+ep.ID, nil).want(http.StatusOK)
		e.do("PATCH", "/api/v1/app/"+a.ID+"/endpoint/"+ep.ID, map[string]any{"uid": "main"}).want(http.StatusOK)
		e.do("PATCH", "/api/v1/app/"+a.ID, map[string]any{"uid": "old"}).want(http.StatusOK)
		e.do("GET", "/api/v1/app/old/endpoint/main", nil).want(http.StatusOK)

		for _, name := range []string{"..", "a"} {
			if err := st.EventTypeCreate(ctx, &hookline.EventType{Name: name, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		for it := ""; ; {
			var page struct {
				Data     []struct{ Name string }
				Iterator *string
				Done     bool
			}
			e.do("GET", "/api/v1/event-type?limit=1&iterator="+it, nil).want(http.StatusOK).decode(&page)
			for _, et := range page.Data {
				names = append(names, et.Name)
			}
			if page.Done || page.Iterator == nil || len(names) > 2 {
				break
			}
			it = *page.Iterator
		}
		if strings.Join(names, " ") != ".. a" {
			t.Errorf("paged through event types %q, want .. and a", names)
		}
	})
}
