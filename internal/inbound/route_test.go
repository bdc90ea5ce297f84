package inbound

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookline/hookline"
)

// TestPublishPayloadDepth checks that a request's view becomes a payload
// only when the payload stays within hookline.MaxPayloadDepth; a deeper
// one (encoding/json accepts views up to 10000 levels) is published as
// text, so the message lists that show it stay decodable.
func TestPublishPayloadDepth(t *testing.T) {
	array := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	for _, tc := range []struct {
		name string
		view string
		want string // the payload, or "" for the body as text
	}{
		{"object", `{"a":` + array(hookline.MaxPayloadDepth-1) + `}`, `{"a":` + array(hookline.MaxPayloadDepth-1) + `}`},
		{"array wrapped", array(hookline.MaxPayloadDepth - 1), `{"data":` + array(hookline.MaxPayloadDepth-1) + `}`},
		{"too deep", array(hookline.JSONMaxDepth), ""},
		{"too deep once wrapped", array(hookline.MaxPayloadDepth), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &hookline.Received{Body: []byte(tc.view), View: json.RawMessage(tc.view)}
			got := publishPayload(x)
			want := tc.want
			if want == "" {
				b, _ := json.Marshal(map[string]string{"body": tc.view})
				want = string(b)
			}
			if string(got) != want {
				t.Fatalf("payload %.60s..., want %.60s...", got, want)
			}
			m := &hookline.Message{EventType: "x", Payload: got}
			if err := m.Validate(); err != nil {
				t.Fatalf("payload refused: %v", err)
			}
		})
	}
}
