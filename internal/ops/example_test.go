package ops

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
)

func TestExample(t *testing.T) {
	tests := []struct {
		name    string
		schemas string
		index   int
		want    string
	}{
		{"no schema", ``, 0, `{}`},
		{"first example", `{"1": {"examples": [{"a": 1}, {"a": 2}]}}`, 0, `{"a": 1}`},
		{"chosen example", `{"1": {"examples": [{"a": 1}, {"a": 2}]}}`, 1, `{"a": 2}`},
		{"newest version", `{"2": {"example": {"v": 2}}, "10": {"example": {"v": 10}}, "1": {"example": {"v": 1}}}`, 0, `{"v": 10}`},
		{"scalar example wrapped", `{"1": {"example": 5}}`, 0, `{"data": 5}`},
		{"made up from properties", `{"1": {"type": "object", "properties": {
			"id": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
			"n": {"type": "integer"}, "ok": {"type": "boolean"}, "kind": {"enum": ["paid", "void"]},
			"tags": {"type": "array", "items": {"type": "string"}},
			"owner": {"properties": {"email": {"type": "string", "format": "email"}}}}}}`, 0,
			`{"id": "string", "at": "2026-01-01T00:00:00Z", "n": 0, "ok": false, "kind": "paid", "tags": ["string"],
			"owner": {"email": "user@example.com"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Example(&hookline.EventType{Name: "x", Schemas: json.RawMessage(tt.schemas)}, tt.index)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("example %s: %v", got, err)
			}
			if err := json.Unmarshal([]byte(tt.want), &w); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("example (-want +got):\n%s", diff)
			}
		})
	}

	_, err := Example(&hookline.EventType{Name: "x", Schemas: json.RawMessage(`{"1": {"examples": [{}]}}`)}, 1)
	if !errors.Is(err, hookline.ErrInvalid) {
		t.Errorf("an index past the examples: %v, want ErrInvalid", err)
	}
	_, err = Example(&hookline.EventType{Name: "x", Schemas: json.RawMessage(`[1]`)}, 0)
	if err == nil {
		t.Error("schemas that are no object: no error")
	}
}
