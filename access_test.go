package hookline

import (
	"errors"
	"testing"
	"time"
)

func TestAccessRequire(t *testing.T) {
	const app, other = "app_1", "app_2"
	portal := func(caps ...Capability) *Access { return &Access{Scope: ScopeApp, AppID: app, Capabilities: caps} }
	tests := []struct {
		name string
		acc  *Access
		cap  Capability
		app  string
		ok   bool
	}{
		{"admin writes anything", AdminAccess(), CapAdmin, "", true},
		{"admin in any app", AdminAccess(), CapManageEndpoint, other, true},
		{"no access", nil, CapViewBase, "", false},
		{"read-only reads apps", &Access{Scope: ScopeReadOnly}, CapViewBase, other, true},
		{"read-only reads outside apps", &Access{Scope: ScopeReadOnly}, CapRead, "", true},
		{"read-only writes nothing", &Access{Scope: ScopeReadOnly}, CapManageEndpoint, app, false},
		{"read-only is no admin", &Access{Scope: ScopeReadOnly, ReadOnly: true}, CapAdmin, "", false},
		{"read-only no secret", &Access{Scope: ScopeReadOnly, ReadOnly: true}, CapViewEndpointSecret, app, false},
		{"read-only secret when held", &Access{Scope: ScopeReadOnly, ReadOnly: true, Capabilities: []Capability{CapViewEndpointSecret}}, CapViewEndpointSecret, app, true},
		{"app reads its app", portal(CapViewBase), CapViewBase, app, true},
		{"app reads the catalog", portal(CapViewBase), CapViewBase, "", true},
		{"app not another app", portal(AppCapabilities...), CapViewBase, other, false},
		{"app not admin", portal(AppCapabilities...), CapAdmin, app, false},
		{"app not outside apps", portal(AppCapabilities...), CapRead, "", false},
		{"app lacks capability", portal(CapViewBase), CapManageEndpoint, app, false},
		{"app holds capability", portal(CapViewBase, CapCreateAttempts), CapCreateAttempts, app, true},
		{"manage endpoint includes secret", portal(CapManageEndpoint), CapManageEndpointSecret, app, true},
		{"manage secret includes view", portal(CapManageEndpointSecret), CapViewEndpointSecret, app, true},
		{"view secret does not rotate", portal(CapViewEndpointSecret), CapManageEndpointSecret, app, false},
		{"app read-only", &Access{Scope: ScopeApp, AppID: app, ReadOnly: true, Capabilities: AppCapabilities}, CapManageEndpoint, app, false},
		{"app read-only reads", &Access{Scope: ScopeApp, AppID: app, ReadOnly: true, Capabilities: AppCapabilities}, CapViewEndpointSecret, app, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.acc.Require(tt.cap, tt.app)
			if tt.ok != (err == nil) {
				t.Fatalf("Require(%s, %q) = %v, want ok=%v", tt.cap, tt.app, err, tt.ok)
			}
			var fe *ForbiddenError
			if err != nil && (!errors.Is(err, ErrForbidden) || !errors.As(err, &fe) || fe.Detail == "") {
				t.Errorf("refusal %v is no ForbiddenError with a detail", err)
			}
		})
	}
}

func TestTokenValidate(t *testing.T) {
	now := time.Now()
	past := now.Add(-time.Second)
	tests := []struct {
		name  string
		tok   Token
		field string // "" for valid
	}{
		{"admin", Token{Scope: ScopeAdmin}, ""},
		{"read-only", Token{Scope: ScopeReadOnly, Capabilities: []Capability{CapViewEndpointSecret}}, ""},
		{"app", Token{Scope: ScopeApp, AppID: "app_1", Capabilities: []Capability{CapViewBase}}, ""},
		{"unknown scope", Token{Scope: "root"}, "scope"},
		{"app without app", Token{Scope: ScopeApp}, "appId"},
		{"admin with app", Token{Scope: ScopeAdmin, AppID: "app_1"}, "appId"},
		{"admin with capabilities", Token{Scope: ScopeAdmin, Capabilities: []Capability{CapViewBase}}, "capabilities"},
		{"read-only writing", Token{Scope: ScopeReadOnly, Capabilities: []Capability{CapManageEndpoint}}, "capabilities"},
		{"unknown capability", Token{Scope: ScopeApp, AppID: "app_1", Capabilities: []Capability{"Admin"}}, "capabilities"},
		{"expired", Token{Scope: ScopeAdmin, ExpiresAt: &past}, "expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tok.CreatedAt = now
			err := tt.tok.Validate()
			var ve *ValidationError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tt.field != "" && (!errors.As(err, &ve) || ve.Fields[0].Loc[1] != tt.field):
				t.Fatalf("Validate = %v, want an error at %s", err, tt.field)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, ha := NewSecret(TokenPrefix)
	b, _ := NewSecret(TokenPrefix)
	if a == b || len(a) != len(TokenPrefix)+32 || a[:3] != TokenPrefix {
		t.Fatalf("secrets %q, %q", a, b)
	}
	if string(ha) != string(HashSecret(a)) || len(ha) != 32 {
		t.Fatalf("hash %x is not the SHA-256 of %q", ha, a)
	}
}

// TestAppUIDNotAnID checks that no app's uid can be another app's ID: a
// path naming either would then name both, and an app-scoped token reach
// the wrong one.
func TestAppUIDNotAnID(t *testing.T) {
	a := &App{Name: "x", UID: NewID(PrefixApp)}
	var ve *ValidationError
	if err := a.Validate(); !errors.As(err, &ve) || ve.Fields[0].Loc[1] != "uid" {
		t.Fatalf("uid of an app ID's form: %v", err)
	}
	for _, uid := range []string{"app_acme", "acme", NewID(PrefixEndpoint)} {
		a.UID = uid
		if err := a.Validate(); err != nil {
			t.Errorf("uid %q: %v", uid, err)
		}
	}
}
