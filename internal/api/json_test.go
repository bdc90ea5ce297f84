package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzUnmarshalAgrees checks that request bodies decode as encoding/json
// decodes them: unmarshal takes a faster decoder's result, and must accept
// and fill in exactly what encoding/json would.
func FuzzUnmarshalAgrees(f *testing.F) {
	for _, seed := range []string{
		`{"eventType":"invoice.paid","payload":{"a":1,"b":[true,null,"x"]}}`,
		`{"eventType":"a","eventId":"e-1","channels":["x","y"],"payload":{},"payloadRetentionPeriod":30}`,
		`{"EVENTTYPE":"case","Payload":{"k":"v"},"eventtype":"twice"}`,
		`{"eventType":"a","eventType":"b","payload":{"x":1}}`,
		`{"eventType":"\u00e9\ud83d\ude00","payload":{"s":"\ud800"}}`,
		"{\"eventType\":\"bad \xff utf8\",\"payload\":{\"s\":\"\xfe\"}}",
		`{"eventType":1,"payload":{}}`,
		`{"eventType":"a","payload":{"x":1}} trailing`,
		`{"eventType":"a","payload":{"x":1e400}}`,
		`{"eventType":"a","payload":null,"application":{"name":"n","uid":"u","rateLimit":5}}`,
		`{"eventType":"a","channels":"notalist","payload":{}}`,
		`[]`, `null`, `{"payload":{"a":}}`, `{"payloadRetentionPeriod":1.5}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, std messageIn
		fastErr := unmarshal(body, &fast)
		stdErr := json.Unmarshal(body, &std)
		if len(body) > 0 && (fastErr == nil) != (stdErr == nil) {
			t.Fatalf("body %q: unmarshal error %v, encoding/json error %v", body, fastErr, stdErr)
		}
		if fastErr != nil {
			return
		}
		if diff := cmp.Diff(std, fast); diff != "" {
			t.Fatalf("body %q: decoded differently from encoding/json (-want +got):\n%s", body, diff)
		}
	})
}

// BenchmarkUnmarshalMessage measures the decoding of a publish's body with
// a 1 KiB payload, as `hookline bench` sends, which every publish makes.
func BenchmarkUnmarshalMessage(b *testing.B) {
	body := []byte(`{"eventType":"bench.event","payload":{"seq":1,"sent":1764250000000000000,"pad":"` +
		strings.Repeat("x", 1000) + `"}}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var in messageIn
		if err := unmarshal(body, &in); err != nil {
			b.Fatal(err)
		}
	}
}
