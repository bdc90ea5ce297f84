package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	fastjson "github.com/segmentio/encoding/json"

	"github.com/hookline/hookline"
)

// decode reads the request body as one JSON value into v. Unknown fields
// are ignored, as Svix ignores them. Syntax errors are 400 invalid_json
// with the line and column; a value of the wrong type is a 422 naming the
// field, like any other invalid field.
func decode(r *http.Request, v any) error {
	buf := getBuf()
	defer putBuf(buf)
	body, err := readBody(r, buf)
	if err != nil {
		return err
	}
	return notJSON(r, unmarshal(body, v))
}

// notJSON says, of a body that is no JSON, what the API takes, when the
// request declares another content type (a form post, say).
func notJSON(r *http.Request, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.code != "invalid_json" {
		return err
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return err
	}
	what := "no Content-Type"
	if ct != "" {
		what = "Content-Type " + strconv.Quote(ct)
	}
	return invalidJSON("This API takes a JSON body with Content-Type: application/json; the request has " + what + ". " + ae.detail)
}

// decodeOptional is decode for bodies that may be left out entirely, such
// as that of a secret rotation: an empty body leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	buf := getBuf()
	defer putBuf(buf)
	body, err := readBody(r, buf)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return notJSON(r, unmarshal(body, v))
}

// readBody reads the request body into buf, which it grows to the body's
// declared length at once (serve refused lengths over the limit), so that
// a large body is read into one allocation of its size rather than into
// ever larger ones. What is decoded from the body is copied out of it, so
// buf can serve the next request.
func readBody(r *http.Request, buf *bytes.Buffer) ([]byte, error) {
	if n := r.ContentLength; n > 0 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_body", detail: "reading request body: " + err.Error()}
	}
	return buf.Bytes(), nil
}

// maxPooled is the largest buffer kept for reuse: a publish of a few KiB
// is the common case, and rare large ones do not pin memory.
const maxPooled = 64 << 10

// bufPool holds the buffers request bodies are read into.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// outPool holds the buffers responses are written from.
var outPool = sync.Pool{New: func() any { return new([]byte) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		b.Reset()
		bufPool.Put(b)
	}
}

// unmarshal decodes a request body into v. Bodies are decoded with
// segmentio/encoding/json, which accepts and decodes exactly what
// encoding/json does at a fraction of the CPU (a publish's body is mostly
// its payload, scanned by every pass). A body it rejects is decoded again
// by encoding/json, whose errors the API describes.
//
// segmentio/encoding/json has no nesting limit and recurses once per
// level, so a body nested deeper than encoding/json allows is refused
// before it is given one: a few KiB of brackets would otherwise take
// megabytes of stack.
func unmarshal(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidJSON("request body is empty; want a JSON object")
	}
	if hookline.JSONDeeper(body, hookline.JSONMaxDepth) {
		return hookline.Invalid([]string{"body"},
			"JSON nests arrays and objects more than "+strconv.Itoa(hookline.JSONMaxDepth)+" levels deep")
	}
	if fastjson.Unmarshal(body, v) == nil {
		return nil
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return invalidJSON(fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, se.Error()))
	case errors.As(err, &te):
		loc := []string{"body"}
		if te.Field != "" {
			loc = append(loc, strings.Split(te.Field, ".")...)
		}
		return &hookline.ValidationError{Fields: []hookline.FieldError{{Loc: loc,
			Msg: "expected " + jsonType(te.Type.Kind().String()) + ", got " + te.Value, Type: "type_error"}}}
	case strings.HasPrefix(err.Error(), "unexpected end of JSON input"):
		return invalidJSON("invalid JSON: unexpected end of input at byte " + strconv.Itoa(len(body)))
	}
	return invalidJSON("invalid JSON: " + err.Error())
}

func invalidJSON(detail string) error {
	return &apiError{status: http.StatusBadRequest, code: "invalid_json", detail: detail}
}

// position converts a byte offset into a 1-based line and column.
func position(b []byte, offset int64) (line, col int) {
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n') - 1
	return line, max(col, 1)
}

// jsonType names a Go kind as the JSON type a client would have to send.
func jsonType(kind string) string {
	switch {
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "map", kind == "struct":
		return "an object"
	}
	return kind
}

// field is a JSON field of a PATCH body, which tells apart a field left
// out (no change), set to null (clear it) and set to a value.
type field[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present. encoding/json calls it
// for null too, which is how a null is told apart from an absent field.
func (f *field[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Null = true
		var zero T
		f.Value = zero
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// valueOr returns the field's value when it is set and not null, else def.
func (f field[T]) valueOr(def T) T {
	if f.Set && !f.Null {
		return f.Value
	}
	return def
}

// appender is a wire type that writes its own JSON, for bodies that hold a
// message payload: encoding/json would compact the payload, and payloads
// go back out byte for byte as they came in.
type appender interface {
	appendJSON(b []byte) ([]byte, error)
}

// appendValue appends the JSON of v.
func appendValue(b []byte, v any) ([]byte, error) {
	if a, ok := v.(appender); ok {
		return a.appendJSON(b)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, enc...), nil
}

// encoder is a wire type, a page of a list, that writes its JSON to the
// response as it goes: see listOut.encode.
type encoder interface {
	encode(w io.Writer, b []byte) ([]byte, error)
}

// appendWithPayload appends the JSON object of v, whose payload field is
// tagged `json:"-"`, with "payload" and the raw payload added at its end.
func appendWithPayload(b []byte, v any, payload json.RawMessage) ([]byte, error) {
	enc, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	b = append(b, enc[:len(enc)-1]...)
	if len(enc) > 2 {
		b = append(b, ',')
	}
	b = append(b, `"payload":`...)
	b = append(b, payload...)
	return append(b, '}'), nil
}

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	out := outPool.Get().(*[]byte)
	defer func() {
		if cap(*out) <= maxPooled {
			outPool.Put(out)
		}
	}()
	if e, ok := v.(encoder); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		// Wire types always marshal, and a write fails only when the
		// client has gone: either way the answer just ends, and a client
		// cannot mistake what it got for a whole page.
		rest, err := e.encode(w, (*out)[:0])
		*out = rest
		if err == nil {
			w.Write(rest)
		}
		return
	}
	body, err := appendValue((*out)[:0], v)
	*out = body
	if err != nil {
		// Wire types always marshal; this would be a programming error.
		status = http.StatusInternalServerError
		body = []byte(`{"code":"internal_error","detail":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// quote quotes an identifier from a request for an error detail.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strconv.Quote(s)
}
