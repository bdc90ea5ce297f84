package ops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/hookline/hookline"
)

// exampleDepth bounds how deep an example is made up from a schema.
const exampleDepth = 8

// Example returns an example payload of an event type, from its newest
// schema version (the highest number): the schema's "examples" entry at
// index, else its "example", else one made up from its properties (a
// placeholder of each property's type). With no schema it is an empty
// object. An index beyond the examples is an error.
func Example(et *hookline.EventType, index int) (json.RawMessage, error) {
	schema, err := newestSchema(et.Schemas)
	if err != nil {
		return nil, fmt.Errorf("event type %s: %w", et.Name, err)
	}
	if schema == nil {
		return json.RawMessage(`{}`), nil
	}
	if ex, ok := schema["examples"].([]any); ok && len(ex) > 0 {
		if index < 0 || index >= len(ex) {
			return nil, hookline.Invalid([]string{"body", "exampleIndex"},
				fmt.Sprintf("event type %s has %d examples, numbered from 0", et.Name, len(ex)))
		}
		return marshalExample(ex[index])
	}
	if ex, ok := schema["example"]; ok {
		return marshalExample(ex)
	}
	return marshalExample(fromSchema(schema, 0))
}

// newestSchema decodes the schema of the highest version of schemas, a
// JSON object of schemas by version; nil when there is none.
func newestSchema(schemas json.RawMessage) (map[string]any, error) {
	if len(bytes.TrimSpace(schemas)) == 0 || string(bytes.TrimSpace(schemas)) == "null" {
		return nil, nil
	}
	var byVersion map[string]json.RawMessage
	if err := json.Unmarshal(schemas, &byVersion); err != nil {
		return nil, fmt.Errorf("read schemas: %w", err)
	}
	versions := make([]string, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	sortVersions(versions)
	for i := len(versions) - 1; i >= 0; i-- {
		var schema map[string]any
		if err := json.Unmarshal(byVersion[versions[i]], &schema); err == nil && schema != nil {
			return schema, nil
		}
	}
	return nil, nil
}

// NewestVersion returns the highest of schema versions: numbers compare
// as numbers, and other names come after them, by name.
func NewestVersion(versions []string) string {
	if len(versions) == 0 {
		return ""
	}
	v := slices.Clone(versions)
	sortVersions(v)
	return v[len(v)-1]
}

func sortVersions(versions []string) {
	slices.SortFunc(versions, func(a, b string) int {
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		switch {
		case ea == nil && eb == nil:
			return na - nb
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		}
		return bytes.Compare([]byte(a), []byte(b))
	})
}

func marshalExample(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("example: %w", err)
	}
	if len(b) == 0 || b[0] != '{' {
		// A webhook payload is an object; a scalar example is wrapped.
		b, _ = json.Marshal(map[string]any{"data": v})
	}
	return b, nil
}

// fromSchema makes up a value a JSON schema accepts, as far as its type,
// properties, items, enum, const and default tell.
func fromSchema(schema map[string]any, depth int) any {
	if v, ok := schema["const"]; ok {
		return v
	}
	if v, ok := schema["default"]; ok {
		return v
	}
	if e, ok := schema["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	if ex, ok := schema["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	typ, _ := schema["type"].(string)
	if ts, ok := schema["type"].([]any); ok && len(ts) > 0 {
		typ, _ = ts[0].(string)
	}
	if typ == "" && schema["properties"] != nil {
		typ = "object"
	}
	switch typ {
	case "object":
		out := map[string]any{}
		if depth >= exampleDepth {
			return out
		}
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok {
				out[name] = fromSchema(ps, depth+1)
			}
		}
		return out
	case "array":
		items, ok := schema["items"].(map[string]any)
		if !ok || depth >= exampleDepth {
			return []any{}
		}
		return []any{fromSchema(items, depth+1)}
	case "string":
		switch schema["format"] {
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "email":
			return "user@example.com"
		case "uri", "url":
			return "https://example.com/"
		}
		return "string"
	case "integer":
		return 0
	case "number":
		return 0.0
	case "boolean":
		return false
	}
	return nil
}
