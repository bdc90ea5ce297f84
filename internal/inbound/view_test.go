package inbound

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
)

func TestView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string // "" for no view
	}{
		{"json", "application/json", ` {"a":1} `, `{"a":1}`},
		{"json without a content type", "", `[1,2]`, `[1,2]`},
		{"json suffix", "application/vnd.api+json; charset=utf-8", `{"a":1}`, `{"a":1}`},
		{"broken json", "application/json", `{"a":`, ""},
		{"json as deep as a payload may be", "application/json", deep(hookline.MaxPayloadDepth), deep(hookline.MaxPayloadDepth)},
		{"json deeper than a payload may be", "application/json", deep(hookline.MaxPayloadDepth + 1), ""},
		{"form", "application/x-www-form-urlencoded", "Customer=bob&value=10.00&item=paper",
			`{"Customer":"bob","item":"paper","value":"10.00"}`},
		{"form with repeats and json", "application/x-www-form-urlencoded", `tag=a&tag=b&payload=%7B%22type%22%3A%22block_actions%22%7D`,
			`{"payload":{"type":"block_actions"},"tag":["a","b"]}`},
		{"xml", "application/xml", `<order id="7"><item>paper</item><item>ink</item><total>10.00</total></order>`,
			`{"order":{"@id":"7","item":["paper","ink"],"total":"10.00"}}`},
		{"multipart", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX--\r\n", `{"a":"1"}`},
		{"binary", "application/octet-stream", "\x00\x01", ""},
		{"text", "text/plain", "hello", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(View(tt.contentType, []byte(tt.body)))
			if got != tt.want {
				t.Errorf("View = %s, want %s", got, tt.want)
			}
		})
	}
}

// deep returns a JSON array nested n levels deep.
func deep(n int) string {
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

func TestEventType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		view   string
		want   string
	}{
		{"github header", http.Header{"X-Github-Event": {"push"}}, `{"type": "x"}`, "push"},
		{"shopify header", http.Header{"X-Shopify-Topic": {"orders/create"}}, "", "orders/create"},
		{"stripe body", nil, `{"type": "invoice.paid"}`, "invoice.paid"},
		{"slack event callback", nil, `{"type": "event_callback", "event": {"type": "app_mention"}}`, "app_mention"},
		{"event_type field", nil, `{"event_type": "a.b"}`, "a.b"},
		{"a number is no event type", nil, `{"type": 5, "event": "x.y"}`, "x.y"},
		{"none", nil, `{"n": 1.0}`, ""},
		{"an array", nil, `[{"type": "a"}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventType(tt.header, hookline.NewFields(json.RawMessage(tt.view))); got != tt.want {
				t.Errorf("EventType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCappedBuffer(t *testing.T) {
	t.Parallel()
	b := &cappedBuffer{max: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defgh"))
	if diff := cmp.Diff("abcde…(truncated)", b.String()); diff != "" {
		t.Error(diff)
	}
}
