package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPathsNeverRedirect sends requests whose paths, once cleaned, name
// another resource to a real server, through a client that follows
// redirects keeping the method as curl -L does. No handler the server
// mounts may redirect: the API and the receive URLs refuse such paths
// with a JSON 400, and nothing changes.
func TestPathsNeverRedirect(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "Victim", "uid": "victim"}, nil); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	if code := call(t, srv.URL, "POST", "/api/v1/app/victim/endpoint",
		map[string]any{"url": "https://example.com/hook", "uid": "main"}, nil); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}
	_, recvURL := createSource(t, srv.URL, map[string]any{"name": "Source", "uid": "src", "routes": []map[string]any{{"type": "hold"}}})
	token := strings.TrimPrefix(recvURL, srv.URL+"/in/")

	send := func(method, path string) (int, string) {
		t.Helper()
		var redirects []string
		client := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
			redirects = append(redirects, r.URL.String())
			return nil
		}}
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"name":"renamed","uid":"stolen"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if len(redirects) > 0 {
			t.Errorf("%s %s: redirected to %v, answered %d %s", method, path, redirects, resp.StatusCode, b)
		}
		return resp.StatusCode, string(b)
	}

	for _, path := range []string{
		"/api/v1/app/victim/endpoint/..",
		"/api/v1/app/victim/endpoint/%2E%2e",
		"/api/v1/app/victim/endpoint/main%2F..",
		"/api/v1/app/victim/msg/..",
		"/api/v1/app/victim/..",
		"/api/v1/app//victim",
		"//api/v1/app/victim",
		"/api/v1/source/src/request/..",
		"/api/v1/source/src/request/.%2e",
		"/api/v1/health/..",
		"/in/" + token + "/../../api/v1/app/victim",
		"/in/" + token + "/..",
		"/in//" + token,
		"/in/./" + token,
		"/in/%2e/" + token,
		"/in/x/../" + token,
	} {
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if code, body := send(method, path); code != http.StatusBadRequest || !strings.Contains(body, `"invalid_path"`) {
				t.Errorf("%s %s: %d %s, want a 400 invalid_path", method, path, code, body)
			}
		}
	}
	for _, path := range []string{"/in", "/in/"} {
		if code, body := send("POST", path); code != http.StatusNotFound {
			t.Errorf("POST %s: %d %s, want a 404", path, code, body)
		}
	}
	if code, body := send("POST", "/in/"+token); code != http.StatusOK {
		t.Errorf("POST to the receive URL: %d %s", code, body)
	}

	var app struct{ Name, UID string }
	if code := call(t, srv.URL, "GET", "/api/v1/app/victim", nil, &app); code != http.StatusOK || app.Name != "Victim" {
		t.Errorf("app victim after the requests: %d %+v", code, app)
	}
	for _, path := range []string{"/api/v1/app/victim/endpoint/main", "/api/v1/source/src"} {
		if code := call(t, srv.URL, "GET", path, nil, nil); code != http.StatusOK {
			t.Errorf("GET %s after the requests: %d", path, code)
		}
	}
}
