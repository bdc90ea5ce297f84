package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestTokensEndToEnd drives a real server's access control as an operator
// would: `hookline token` makes an app-scoped token, which reaches its app
// and not another, is listed with its last use, and stops working once
// revoked; a portal access answers a login link under --public-url.
func TestTokensEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, "--public-url", "https://hooks.example.com")
	env := map[string]string{"HOOKLINE_SERVER": srv.URL, "HOOKLINE_TOKEN": testToken}
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Main(context.Background(), args, &out, &out, func(k string) string { return env[k] })
		return out.String(), err
	}
	call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme"}, nil)
	call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "Other", "uid": "other"}, nil)

	out, err := cli("token", "create", "--name", "support", "--scope", "app", "--app", "acme", "--capability", "ViewBase", "--expiry", "1h")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	secret := regexp.MustCompile(`hl_[a-z0-9]{32}`).FindString(out)
	id := regexp.MustCompile(`tok_[0-9A-Za-z]{27}`).FindString(out)
	if secret == "" || id == "" {
		t.Fatalf("token create printed no token or ID:\n%s", out)
	}
	as := func(token, path string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := as(secret, "/api/v1/app/acme/endpoint"); code != http.StatusOK {
		t.Errorf("own app: %d", code)
	}
	if code := as(secret, "/api/v1/app/other/endpoint"); code != http.StatusForbidden {
		t.Errorf("other app: %d, want 403", code)
	}

	out, err = cli("token", "list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "support") || strings.Contains(out, secret) {
		t.Fatalf("token list (%v):\n%s", err, out)
	}
	// Created, expires and last used are times; revoked is not yet.
	if line := lineWith(out, id); !regexp.MustCompile(`(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+){3}-\s*$`).MatchString(line) {
		t.Errorf("list line shows no last use, or a revocation: %q", line)
	}

	if out, err := cli("token", "revoke", id); err != nil {
		t.Fatalf("token revoke: %v\n%s", err, out)
	}
	if code := as(secret, "/api/v1/app/acme/endpoint"); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}

	var access struct{ URL, Token string }
	if code := call(t, srv.URL, "POST", "/api/v1/auth/app-portal-access/acme", map[string]any{}, &access); code != http.StatusOK {
		t.Fatalf("app-portal-access: %d", code)
	}
	if !strings.HasPrefix(access.URL, "https://hooks.example.com/portal/login?code=") {
		t.Errorf("portal url %q is not under --public-url", access.URL)
	}
	if code := as(access.Token, "/api/v1/app/acme"); code != http.StatusOK {
		t.Errorf("portal token on its app: %d", code)
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
