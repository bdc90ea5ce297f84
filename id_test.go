package hookline

import (
	"strings"
	"testing"
)

func TestNewIDIncreases(t *testing.T) {
	t.Parallel()
	prev := NewID(PrefixMessage)
	for range 10000 {
		id := NewID(PrefixMessage)
		if strings.Compare(id, prev) <= 0 {
			t.Fatalf("%s after %s: IDs must increase", id, prev)
		}
		if !IsID(PrefixMessage, id) {
			t.Fatalf("IsID(%q) = false", id)
		}
		prev = id
	}
}

func TestIsID(t *testing.T) {
	t.Parallel()
	id := NewID(PrefixApp)
	tests := []struct {
		name   string
		prefix string
		s      string
		want   bool
	}{
		{"own prefix", PrefixApp, id, true},
		{"other prefix", PrefixEndpoint, id, false},
		{"uid", PrefixApp, "my-app", false},
		{"prefix but short", PrefixApp, "app_123", false},
		{"bad characters", PrefixApp, "app_" + strings.Repeat("!", 27), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsID(tt.prefix, tt.s); got != tt.want {
				t.Errorf("IsID(%q, %q) = %v, want %v", tt.prefix, tt.s, got, tt.want)
			}
		})
	}
}
