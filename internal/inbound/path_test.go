package inbound_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReceiveRefusesDotPaths checks that a receive URL with dot segments,
// escaped ones or doubled slashes is refused with a 400 that does not
// repeat the token, and that nothing is stored.
func TestReceiveRefusesDotPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	src, path := e.source(t, nil)
	token := strings.TrimPrefix(path, "/in/")
	srv := httptest.NewServer(e.svc.Handler()) // as the server mounts it: no ServeMux to clean the path first
	t.Cleanup(srv.Close)
	body := `{"a":1}`
	for _, p := range []string{
		path + "/..", path + "/../../api/v1/app/x", path + "/%2e%2e", path + "/.", path + "//x",
		"/in/./" + token, "/in//" + token, "/in/x/../" + token, "/in/%2E/" + token, "/in/" + token + "%2f..",
	} {
		req, err := http.NewRequest("POST", srv.URL+p, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range githubHeaders(body, "d-"+p) {
			req.Header.Set(k, v)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var eb struct{ Code, Detail string }
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &eb) != nil || eb.Code != "invalid_path" {
			t.Errorf("POST %s: %d %s, want a 400 invalid_path", p, resp.StatusCode, b)
		}
		if strings.Contains(string(b), token) {
			t.Errorf("POST %s: the answer repeats the token: %s", p, b)
		}
	}
	if n := len(e.received(t, src)); n != 0 {
		t.Errorf("%d refused requests were stored", n)
	}
}
