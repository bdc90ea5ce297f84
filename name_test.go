package hookline

import (
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
)

// TestDotNamesRefused checks that every Validate refuses "." and ".." in
// each field whose value can name a resource in a URL path, and says why.
func TestDotNamesRefused(t *testing.T) {
	t.Parallel()
	endpoint := func(f func(*Endpoint)) *Endpoint {
		e := &Endpoint{URL: "https://example.com/hook", Version: 1, Format: FormatJSON}
		f(e)
		return e
	}
	message := func(f func(*Message)) *Message {
		m := &Message{EventType: "invoice.paid", Payload: json.RawMessage(`{}`)}
		f(m)
		return m
	}
	source := func(f func(*Source)) *Source {
		s := &Source{Name: "GitHub", Response: DefaultSourceResponse,
			Routes: []Route{{ID: "main", Type: RoutePublish, App: "acme"}}}
		f(s)
		return s
	}
	for _, name := range []string{".", ".."} {
		tests := []struct {
			name  string
			v     interface{ Validate() error }
			field string
		}{
			{"app uid", &App{Name: "Acme", UID: name}, "uid"},
			{"endpoint uid", endpoint(func(e *Endpoint) { e.UID = name }), "uid"},
			{"endpoint event types", endpoint(func(e *Endpoint) { e.EventTypes = []string{"a", name} }), "eventTypes"},
			{"endpoint channels", endpoint(func(e *Endpoint) { e.Channels = []string{name} }), "channels"},
			{"message eventId", message(func(m *Message) { m.EventID = name }), "eventId"},
			{"message eventType", message(func(m *Message) { m.EventType = name }), "eventType"},
			{"message channels", message(func(m *Message) { m.Channels = []string{name} }), "channels"},
			{"event type name", &EventType{Name: name}, "name"},
			{"event type feature flag", &EventType{Name: "a", FeatureFlag: name}, "featureFlag"},
			{"source uid", source(func(s *Source) { s.UID = name }), "uid"},
			{"source route id", source(func(s *Source) { s.Routes[0].ID = name }), "routes.id"},
			{"source route event type", source(func(s *Source) { s.Routes[0].EventType = name }), "routes.eventType"},
		}
		for _, tt := range tests {
			t.Run(tt.name+" "+name, func(t *testing.T) {
				t.Parallel()
				var ve *ValidationError
				err := tt.v.Validate()
				if !errors.As(err, &ve) {
					t.Fatalf("Validate() = %v, want a ValidationError", err)
				}
				i := slices.IndexFunc(ve.Fields, func(f FieldError) bool { return slices.Equal(f.Loc, []string{"body", tt.field}) })
				if i < 0 || len(ve.Fields) != 1 {
					t.Fatalf("Validate() = %v, want one error at body.%s", err, tt.field)
				}
				if msg := ve.Fields[i].Msg; !strings.Contains(msg, `"." or ".."`) {
					t.Errorf("message %q does not say that dot segments are refused", msg)
				}
			})
		}
	}
}

// FuzzNameIsPathSegment checks that every valid name stands in a URL path
// as one segment that reads back as itself: it needs no escaping, path
// cleaning (as routers do) and URL resolution (as clients do) leave it
// alone, and parsing gives it back.
func FuzzNameIsPathSegment(f *testing.F) {
	for _, seed := range []string{"a", ".", "..", "...", ".a", "a.", "a/b", "%2e%2e", "a b", "~", "é", "acme-1_x.y"} {
		f.Add(seed)
	}
	base, err := url.Parse("http://h/api/v1/app/acme/endpoint/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidName(s) {
			return
		}
		p := "/api/v1/app/acme/endpoint/" + s
		if got := url.PathEscape(s); got != s {
			t.Fatalf("PathEscape(%q) = %q", s, got)
		}
		if got := path.Clean(p); got != p {
			t.Fatalf("path.Clean(%q) = %q", p, got)
		}
		ref, err := url.Parse(s)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", s, err)
		}
		if got := base.ResolveReference(ref); got.Path != p || got.EscapedPath() != p {
			t.Fatalf("resolving %q gives %q, want %q", s, got.EscapedPath(), p)
		}
		u, err := url.Parse("http://h" + p)
		if err != nil || u.Path != p || strings.Count(u.EscapedPath(), "/") != 6 {
			t.Fatalf("url.Parse(%q) = %v, %v", p, u, err)
		}
	})
}

func TestCheckPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/api/v1/app", true},
		{"/api/v1/app/", true},
		{"/api/v1/app/a.b/endpoint/...", true},
		{"/api/v1/app/a%2Eb", true},
		{"/in/tok/any/sub/path", true},
		{"", false},
		{"*", false},
		{"api/v1/app", false},
		{"//api/v1/app", false},
		{"/api//v1", false},
		{"/api/v1/app//", false},
		{"/api/v1/app/victim/endpoint/..", false},
		{"/api/v1/app/victim/endpoint/../", false},
		{"/api/v1/app/victim/endpoint/.", false},
		{"/api/v1/app/./victim", false},
		{"/api/v1/app/victim/endpoint/%2e%2e", false},
		{"/api/v1/app/victim/endpoint/%2E.", false},
		{"/api/v1/app/victim/endpoint/.%2E", false},
		{"/api/v1/app/victim/endpoint/%2e", false},
		{"/api/v1/app/victim/endpoint/main%2F..", false},
		{"/api/v1/app/victim/endpoint/main%2f", false},
		{"/api/v1/app/victim%zz", false},
	}
	for _, tt := range tests {
		if why := CheckPath(tt.path); (why == "") != tt.ok {
			t.Errorf("CheckPath(%q) = %q, want ok %v", tt.path, why, tt.ok)
		}
	}
}
