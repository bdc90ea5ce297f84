package ops

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// Each operation decides access itself, whichever face calls it.
func TestEndpointOperationsRequireAccess(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, id := range []string{"acme", "other"} {
		if err := st.AppCreate(ctx, &hookline.App{ID: hookline.NewID(hookline.PrefixApp), UID: id, Name: id, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := st.AppGet(ctx, "acme")
	s := New(Options{Store: st})
	admin := hookline.AdminAccess()
	e, err := s.EndpointCreate(ctx, admin, "acme", "", func(e *hookline.Endpoint) { e.URL = "https://example.com/a" })
	if err != nil {
		t.Fatal(err)
	}

	full := &hookline.Access{Scope: hookline.ScopeApp, AppID: a.ID, Capabilities: hookline.AppCapabilities}
	readOnly := &hookline.Access{Scope: hookline.ScopeApp, AppID: a.ID, Capabilities: hookline.AppCapabilities, ReadOnly: true}
	viewOnly := &hookline.Access{Scope: hookline.ScopeApp, AppID: a.ID, Capabilities: []hookline.Capability{hookline.CapViewBase}}
	set := func(e *hookline.Endpoint) bool { e.Description = "changed"; return false }
	ops := map[string]func(acc *hookline.Access, app string) error{
		"list": func(acc *hookline.Access, app string) error {
			_, _, err := s.EndpointList(ctx, acc, app, store.Page{Limit: 10})
			return err
		},
		"create": func(acc *hookline.Access, app string) error {
			_, err := s.EndpointCreate(ctx, acc, app, "", func(e *hookline.Endpoint) { e.URL = "https://example.com/new" })
			return err
		},
		"update": func(acc *hookline.Access, app string) error {
			_, err := s.EndpointUpdate(ctx, acc, app, e.ID, set)
			return err
		},
		"secret": func(acc *hookline.Access, app string) error {
			_, err := s.EndpointSecret(ctx, acc, app, e.ID)
			return err
		},
		"rotate": func(acc *hookline.Access, app string) error {
			return s.EndpointSecretRotate(ctx, acc, app, e.ID, "", DefaultGracePeriod)
		},
	}
	for _, tc := range []struct {
		name    string
		acc     *hookline.Access
		app     string
		allowed map[string]bool
	}{
		{"full", full, "acme", map[string]bool{"list": true, "create": true, "update": true, "secret": true, "rotate": true}},
		{"read-only", readOnly, "acme", map[string]bool{"list": true, "secret": true}},
		{"view only", viewOnly, "acme", map[string]bool{"list": true}},
		{"other app", full, "other", map[string]bool{}},
		{"no such app", full, "missing", map[string]bool{}},
		{"no access", nil, "acme", map[string]bool{}},
	} {
		for name, op := range ops {
			err := op(tc.acc, tc.app)
			if tc.allowed[name] != (err == nil) {
				t.Errorf("%s %s: %v", tc.name, name, err)
			}
			if err != nil && !errors.Is(err, hookline.ErrForbidden) {
				t.Errorf("%s %s: %v, want a ForbiddenError", tc.name, name, err)
			}
		}
	}
}
