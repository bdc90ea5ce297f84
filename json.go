package hookline

import (
	"bytes"
	"strconv"
)

// JSONMaxDepth is how deeply encoding/json lets arrays and objects nest:
// it refuses deeper JSON, and so does every client built on it.
const JSONMaxDepth = 10000

// MaxPayloadDepth is how deeply the JSON that hookline keeps and shows
// back may nest: a message payload, an event type's schemas, a received
// request's view. It is JSONMaxDepth less room for the objects the API
// shows such JSON inside of (a page of a list puts a payload three levels
// down, a view published as a payload goes one deeper), so that every
// answer holding it stays within encoding/json's limit.
const MaxPayloadDepth = JSONMaxDepth - 16

// deepJSON is what a validation error says of JSON nested too deeply.
var deepJSON = "must not nest arrays and objects more than " + strconv.Itoa(MaxPayloadDepth) + " levels deep"

// JSONDeeper reports whether the JSON text b nests arrays and objects more
// than depth levels deep. It tells most texts apart without a scan: one
// shorter than depth, or with no more than depth brackets, cannot be. b
// need not be valid: brackets are counted outside strings up to the first
// level past depth, so a deep text is found before a parser that recurses
// per level (as segmentio/encoding/json does) is given it.
func JSONDeeper(b []byte, depth int) bool {
	if len(b) <= depth || bytes.Count(b, []byte{'['})+bytes.Count(b, []byte{'{'}) <= depth {
		return false
	}
	d := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Skip the string, escapes included; an unterminated one ends b.
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if d++; d > depth {
				return true
			}
		case ']', '}':
			d--
		}
	}
	return false
}
