package hookline

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// nested returns a JSON object whose value a nests arrays depth-1 deep,
// so that the whole text is depth levels deep.
func nested(depth int) []byte {
	return []byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
}

func TestJSONDeeper(t *testing.T) {
	quoted := `{"s":"` + strings.Repeat("[{", 200) + `\"` + strings.Repeat("{", 200) + `"}`
	for _, tc := range []struct {
		name  string
		b     string
		depth int
		want  bool
	}{
		{"at the limit", string(nested(100)), 100, false},
		{"one past", string(nested(101)), 100, true},
		{"short text", `[[[]]]`, 2, true},
		{"wide, not deep", strings.Repeat(`{"a":[]},`, 500), 100, false},
		{"brackets in strings", quoted, 100, false},
		{"escaped quote then brackets", `{"s":"\\"}` + strings.Repeat("[", 150), 100, true},
		{"unclosed", strings.Repeat("[", 101), 100, true},
		{"unterminated string", `["` + strings.Repeat("[", 200), 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := JSONDeeper([]byte(tc.b), tc.depth); got != tc.want {
				t.Fatalf("JSONDeeper(%.40q..., %d) = %v, want %v", tc.b, tc.depth, got, tc.want)
			}
		})
	}
}

// TestJSONDeeperAgrees checks that JSON deeper than JSONMaxDepth is what
// encoding/json refuses, and JSON at it what it accepts.
func TestJSONDeeperAgrees(t *testing.T) {
	for _, depth := range []int{JSONMaxDepth, JSONMaxDepth + 1} {
		b := nested(depth)
		if deep, valid := JSONDeeper(b, JSONMaxDepth), json.Valid(b); deep == valid {
			t.Errorf("depth %d: JSONDeeper says %v, encoding/json's Valid %v", depth, deep, valid)
		}
	}
}

// TestValidateDepth checks that a payload or schemas nested deeper than
// MaxPayloadDepth are refused, and ones at it accepted.
func TestValidateDepth(t *testing.T) {
	for _, tc := range []struct {
		depth int
		ok    bool
	}{{MaxPayloadDepth, true}, {MaxPayloadDepth + 1, false}, {500000, false}} {
		b := nested(tc.depth)
		m := &Message{EventType: "x", Payload: b}
		if err := m.Validate(); (err == nil) != tc.ok {
			t.Errorf("message payload of depth %d: Validate() = %v", tc.depth, err)
		}
		e := &EventType{Name: "x", Schemas: b}
		if err := e.Validate(); (err == nil) != tc.ok {
			t.Errorf("event type schemas of depth %d: Validate() = %v", tc.depth, err)
		}
	}
}

// BenchmarkJSONDeeper measures the depth check on a typical 1 KiB payload,
// which its length settles, and on a 1 MiB one, whose brackets it counts.
func BenchmarkJSONDeeper(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		payload := []byte(`{"items":[` + strings.Repeat(`{"id":1,"tags":["a","b"]},`, size/26) + `{}]}`)
		b.Run(strconv.Itoa(len(payload)), func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if JSONDeeper(payload, MaxPayloadDepth) {
					b.Fatal("deep")
				}
			}
		})
	}
}
