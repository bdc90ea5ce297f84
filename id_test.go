package hookline

import (
	"strings"
	"testing"
	"time"

	"github.com/segmentio/ksuid"
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

// idAt returns an ID as NewID would have made it at time at, with the
// least or the greatest payload.
func idAt(t *testing.T, at time.Time, greatest bool) string {
	t.Helper()
	payload := make([]byte, 16)
	if greatest {
		for i := range payload {
			payload[i] = 0xff
		}
	}
	k, err := ksuid.FromParts(at, payload)
	if err != nil {
		t.Fatal(err)
	}
	return PrefixMessage + k.String()
}

func TestIDFloor(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 28, 1, 2, 3, 500_000_000, time.UTC)
	for _, tt := range []struct {
		name  string
		id    time.Time // when the row's ID was read
		after time.Time // the window's start, before the row's creation
		below bool      // whether the ID must be at or above the floor
	}{
		{"ID read with the creation time", created, created.Add(-time.Nanosecond), true},
		{"ID read later", created.Add(time.Minute), created.Add(-time.Nanosecond), true},
		{"ID read just before, across a second", created.Add(-600 * time.Millisecond), created.Add(-time.Nanosecond), true},
		{"window starting seconds before", created, created.Add(-5 * time.Second), true},
		{"ID two seconds older than the window", created.Add(-2 * time.Second), created.Add(-time.Nanosecond), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			floor := IDFloor(PrefixMessage, tt.after)
			least, greatest := idAt(t, tt.id, false), idAt(t, tt.id, true)
			if tt.below && least < floor {
				t.Errorf("IDFloor(%v) = %s, above %s, an ID of %v", tt.after, floor, least, tt.id)
			}
			if !tt.below && greatest >= floor {
				t.Errorf("IDFloor(%v) = %s, not above %s, an ID of %v: the floor bounds nothing", tt.after, floor, greatest, tt.id)
			}
		})
	}
	if id, floor := NewID(PrefixMessage), IDFloor(PrefixMessage, time.Now()); id < floor {
		t.Errorf("NewID() = %s, below IDFloor(now) = %s", id, floor)
	}
	if got := IDFloor(PrefixMessage, time.Unix(0, 0)); got != PrefixMessage {
		t.Errorf("IDFloor(1970) = %q, want the bare prefix: every ID is later", got)
	}
	if got, want := IDFloor(PrefixMessage, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)), PrefixMessage+ksuid.Max.String(); got != want {
		t.Errorf("IDFloor(2200) = %q, want %q: no ID is that late", got, want)
	}
}

func TestIDCeiling(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 28, 1, 2, 3, 500_000_000, time.UTC)
	whole := created.Truncate(time.Second)
	for _, tt := range []struct {
		name   string
		id     time.Time // when the row's ID was read
		before time.Time // the window's end, after the row's creation
		within bool      // whether the ID must be at or below the ceiling
	}{
		{"ID read with the creation time", created, created.Add(time.Nanosecond), true},
		{"ID read before", created.Add(-time.Minute), created.Add(time.Nanosecond), true},
		{"ID read as late as may be", created.Add(IDLag), created.Add(time.Nanosecond), true},
		{"ID read just under a second past the lag", created.Add(IDLag + 400*time.Millisecond), created.Add(time.Nanosecond), true},
		{"ID two seconds past the lag", created.Add(IDLag + 2*time.Second), created.Add(time.Nanosecond), false},
		{"ID a second inside the lag", created.Add(IDLag - time.Second), created, true},
		{"ID a second past the lag", created.Add(IDLag + time.Second), created, false},
		{"on a whole second, ID a second inside the lag", whole.Add(IDLag - time.Second), whole, true},
		{"on a whole second, ID a second past the lag", whole.Add(IDLag + time.Second), whole, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ceiling := IDCeiling(PrefixMessage, tt.before)
			least, greatest := idAt(t, tt.id, false), idAt(t, tt.id, true)
			if tt.within && greatest > ceiling {
				t.Errorf("IDCeiling(%v) = %s, below %s, an ID of %v", tt.before, ceiling, greatest, tt.id)
			}
			if !tt.within && least <= ceiling {
				t.Errorf("IDCeiling(%v) = %s, not below %s, an ID of %v: the ceiling bounds nothing", tt.before, ceiling, least, tt.id)
			}
		})
	}
	if id, ceiling := NewID(PrefixMessage), IDCeiling(PrefixMessage, time.Now()); id > ceiling {
		t.Errorf("NewID() = %s, above IDCeiling(now) = %s", id, ceiling)
	}
	if got, want := IDCeiling(PrefixMessage, time.Unix(0, 0)), FirstID(PrefixMessage); got != want {
		t.Errorf("IDCeiling(1970) = %q, want %q: no ID is that early", got, want)
	}
	if got, want := IDCeiling(PrefixMessage, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)), PrefixMessage+ksuid.Max.String(); got != want {
		t.Errorf("IDCeiling(2200) = %q, want %q: every ID is earlier", got, want)
	}
}

func TestFirstID(t *testing.T) {
	t.Parallel()
	first := FirstID(PrefixReceived)
	if !IsID(PrefixReceived, first) {
		t.Fatalf("IsID(%q) = false", first)
	}
	if id := NewID(PrefixReceived); strings.Compare(first, id) >= 0 {
		t.Errorf("FirstID %s is not below %s", first, id)
	}
	if low := IDFloor(PrefixReceived, time.Unix(ksuidEpoch+1, 0)); strings.Compare(first, low) > 0 {
		t.Errorf("FirstID %s is above the lowest floor %s", first, low)
	}
}
