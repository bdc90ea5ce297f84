package ops

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// The operator's endpoints are the admin's alone, and the app operations
// do not reach the reserved app that holds them, even for the admin.
func TestOperationalEndpointsAdminOnly(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Options{Store: st, AllowPrivateNetworks: true})
	admin := hookline.AdminAccess()
	e, err := s.OperationalEndpointCreate(ctx, admin, "", func(e *hookline.Endpoint) { e.URL = "http://127.0.0.1:9/ops" })
	if err != nil {
		t.Fatal(err)
	}
	if e.AppID != opwebhook.AppID {
		t.Fatalf("the operator's endpoint is in app %s", e.AppID)
	}

	readOnly := &hookline.Access{Scope: hookline.ScopeReadOnly, ReadOnly: true, Capabilities: []hookline.Capability{hookline.CapViewBase}}
	appToken := &hookline.Access{Scope: hookline.ScopeApp, AppID: opwebhook.AppID, Capabilities: hookline.AppCapabilities}
	set := func(e *hookline.Endpoint) bool { e.Description = "changed"; return false }
	for _, acc := range []*hookline.Access{readOnly, appToken, nil} {
		for name, err := range map[string]error{
			"list": func() error { _, _, err := s.OperationalEndpointList(ctx, acc, store.Page{Limit: 10}); return err }(),
			"get":  func() error { _, err := s.OperationalEndpoint(ctx, acc, e.ID); return err }(),
			"create": func() error {
				_, err := s.OperationalEndpointCreate(ctx, acc, "", func(e *hookline.Endpoint) { e.URL = "http://127.0.0.1:9/x" })
				return err
			}(),
			"update": func() error { _, err := s.OperationalEndpointUpdate(ctx, acc, e.ID, set); return err }(),
			"put":    func() error { _, _, err := s.OperationalEndpointPut(ctx, acc, e.ID, set); return err }(),
			"secret": func() error { _, err := s.OperationalEndpointSecret(ctx, acc, e.ID); return err }(),
			"rotate": s.OperationalEndpointSecretRotate(ctx, acc, e.ID, "", time.Hour),
			"delete": s.OperationalEndpointDelete(ctx, acc, e.ID),
		} {
			if !errors.Is(err, hookline.ErrForbidden) {
				t.Errorf("%s by %+v: %v, want forbidden", name, acc, err)
			}
		}
	}
	// Through the app operations the reserved app does not exist.
	if _, _, err := s.EndpointList(ctx, admin, opwebhook.AppID, store.Page{Limit: 10}); !errors.Is(err, hookline.ErrNotFound) {
		t.Errorf("app endpoint list of the reserved app: %v, want not found", err)
	}
	if _, err := s.Endpoint(ctx, admin, opwebhook.AppID, e.ID); !errors.Is(err, hookline.ErrNotFound) {
		t.Errorf("app endpoint get of the operator's endpoint: %v, want not found", err)
	}
	if err := s.EndpointDelete(ctx, appToken, opwebhook.AppID, e.ID); err == nil {
		t.Error("an app token of the reserved app deleted the operator's endpoint")
	}
	if _, err := s.OperationalEndpoint(ctx, admin, e.ID); err != nil {
		t.Errorf("the operator's endpoint is gone: %v", err)
	}
}
