package hookline

import (
	"encoding/json"
	"testing"

	fastjson "github.com/segmentio/encoding/json"
)

// FuzzValidAgrees checks that the JSON validity check Message.Validate
// uses agrees with encoding/json's on every input.
func FuzzValidAgrees(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"}`, `{"a":1e400}`, `{"a":-0.5E+3}`,
		`{"a":01}`, `{"a":"\x01"}`, "{\"a\":\"\xff\"}", `{"a":}`, `{"a":1} `, `{"a":1} {}`, `{"a":tru}`,
		`{"a":"\ud800"}`, `{"a":"\z"}`, ` {"a":[]}`, `{"a":1,}`, `[1]`, `"s"`, `nul`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := fastjson.Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

// BenchmarkMessageValidate measures the check every publish makes, with a
// 1 KiB payload as `hookline bench` sends.
func BenchmarkMessageValidate(b *testing.B) {
	pad := make([]byte, 1000)
	for i := range pad {
		pad[i] = 'x'
	}
	m := &Message{EventType: "bench.event", Payload: json.RawMessage(`{"seq":1,"sent":1764250000000000000,"pad":"` + string(pad) + `"}`)}
	b.SetBytes(int64(len(m.Payload)))
	for b.Loop() {
		if err := m.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
