package hookline_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/hookline/hookline"
)

func TestFieldsLookup(t *testing.T) {
	t.Parallel()
	const view = ` {"type": "invoice.paid", "amount": 10.00, "n": null, "ok": true,
		"data": {"object": {"id": "in_1", "lines": [1, 2], "meta": {"b": 2, "a": 1}}}, "esc": "a\"b\u00e9"}`
	tests := []struct {
		path      string
		want      string
		found     bool
		stringGot string
		isString  bool
	}{
		{"type", "invoice.paid", true, "invoice.paid", true},
		{"amount", "10", true, "", false}, // numbers in encoding/json's shortest form
		{"n", "", true, "", false},
		{"ok", "true", true, "", false},
		{"data.object.id", "in_1", true, "in_1", true},
		{"data.object.lines", "[1,2]", true, "", false},
		{"data.object.meta", `{"a":1,"b":2}`, true, "", false}, // keys sorted, as encoding/json writes a map
		{"esc", `a"bé`, true, `a"bé`, true},
		{"missing", "", false, "", false},
		{"type.deeper", "", false, "", false},
		{"data.object.lines.0", "", false, "", false},
		{"data.missing.id", "", false, "", false},
	}
	f := hookline.NewFields(json.RawMessage(view))
	for _, tt := range tests {
		got, found := f.Lookup(tt.path)
		if got != tt.want || found != tt.found {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.path, got, found, tt.want, tt.found)
		}
		s, ok := f.String(tt.path)
		if s != tt.stringGot || ok != tt.isString {
			t.Errorf("String(%q) = %q, %v; want %q, %v", tt.path, s, ok, tt.stringGot, tt.isString)
		}
	}
	for _, v := range []string{"", `[{"type": "a"}]`, `"type"`, `{"type": `} {
		if got, ok := hookline.NewFields(json.RawMessage(v)).Lookup("type"); ok {
			t.Errorf("view %q: Lookup(type) = %q, true; want no fields", v, got)
		}
	}
	var none *hookline.Fields
	if _, ok := none.Lookup("type"); ok {
		t.Error("a nil Fields has a field")
	}
}

// TestFieldsMemory bounds what looking into a large view allocates: a route
// filter and the event type lookup on a 1 MiB body of many small members
// must not build a tree of Go values, which costs many times the body.
func TestFieldsMemory(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type": "big", "items": {`)
	for i := 0; b.Len() < 1<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d": {"a": %d, "b": [true, false, null], "c": "x"}`, i, i)
	}
	b.WriteString(`}, "event": {"type": "inner"}}`)
	view := json.RawMessage(b.String())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := hookline.NewFields(view)
	for _, path := range []string{"type", "event.type", "event_type", "items.k7.a", "items.k9.c"} {
		f.Lookup(path)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(3 * len(view)); allocated > limit {
		t.Errorf("looking into a %d-byte view allocated %d bytes, over %d", len(view), allocated, limit)
	}
	if got, _ := f.Lookup("items.k7.a"); got != "7" {
		t.Errorf("items.k7.a = %q, want 7", got)
	}
}
