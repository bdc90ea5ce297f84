package main

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestReceiver runs the receiver as the README's quick start does and has
// hookline deliver to it: it prints the signed request and answers it.
func TestReceiver(t *testing.T) {
	srv := startServer(t, nil)
	var ep struct{ ID string }
	call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme"}, nil)

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	start := func(args ...string) {
		go func() {
			done <- Main(ctx, append([]string{"receiver", "--addr", "127.0.0.1:0"}, args...), stdout, stderr, func(string) string { return "" })
		}()
	}
	// First without a secret, to learn the address; the endpoint's secret
	// is only known once the endpoint exists.
	start()
	addrRE := regexp.MustCompile(`receiving on (http://\S+), answering 200`)
	var base string
	eventually(t, func() string {
		m := addrRE.FindStringSubmatch(stdout.String())
		if m == nil {
			return "no address printed:\n" + stdout.String() + stderr.String()
		}
		base = m[1]
		return ""
	})
	if st := call(t, srv.URL, "POST", "/api/v1/app/acme/endpoint", map[string]any{"url": base + "/hooks"}, &ep); st != http.StatusCreated {
		t.Fatalf("create endpoint: %d", st)
	}
	var sec struct{ Key string }
	call(t, srv.URL, "GET", "/api/v1/app/acme/endpoint/"+ep.ID+"/secret", nil, &sec)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("receiver returned %v", err)
	}

	// Again on the same address, checking signatures.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	stdout = &lockedBuffer{}
	go func() {
		done <- Main(ctx, []string{"receiver", "--addr", strings.TrimPrefix(base, "http://"), "--secret", sec.Key}, stdout, stderr, func(string) string { return "" })
	}()
	eventually(t, func() string {
		if !strings.Contains(stdout.String(), "receiving on") {
			return "not listening:\n" + stdout.String() + stderr.String()
		}
		return ""
	})
	call(t, srv.URL, "POST", "/api/v1/app/acme/msg", map[string]any{"eventType": "invoice.paid", "payload": map[string]any{"invoice": 1001}}, nil)
	eventually(t, func() string {
		out := stdout.String()
		if !strings.Contains(out, " POST /hooks\n") || !strings.Contains(out, `{"invoice":1001}`) ||
			!strings.Contains(out, "Webhook-Signature: v1,") || !strings.Contains(out, "signature: valid") || !strings.Contains(out, "answered 200") {
			return "the receiver printed:\n" + out
		}
		return ""
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("receiver returned %v", err)
	}

	// Bad flags are usage errors.
	for _, args := range [][]string{{"--status", "42"}, {"--secret", "nope"}} {
		err := Main(context.Background(), append([]string{"receiver"}, args...), stdout, stderr, func(string) string { return "" })
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("receiver %v: %v, want a usage error", args, err)
		}
	}
}
