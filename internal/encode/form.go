package encode

import (
	"encoding/json"
	"strconv"
)

// appendForm appends payload as application/x-www-form-urlencoded pairs.
//
// Nested values use the bracket notation of PHP, Rails (Rack) and Stripe:
// {"a":{"b":1,"c":["x","y"]}} becomes a[b]=1&a[c][0]=x&a[c][1]=y. The
// brackets are sent percent-encoded (a%5Bb%5D=1), as PHP's
// http_build_query, Rails' to_query and jQuery.param send them: RFC 3986
// reserves [ and ] outside IP literals, and every bracket-aware decoder
// unescapes a key before reading its brackets, so receivers see the same
// keys either way. Keys and values are escaped as url.QueryEscape does.
// Empty objects and arrays have no pairs to send and so contribute nothing.
func appendForm(dst, payload []byte) ([]byte, error) {
	d := newDecoder(payload)
	if err := d.open(); err != nil {
		return nil, err
	}
	e := formEncoder{decoder: d, dst: dst, first: true}
	if err := e.object(1); err != nil {
		return nil, err
	}
	if err := d.close(); err != nil {
		return nil, err
	}
	return e.dst, nil
}

type formEncoder struct {
	decoder
	dst []byte
	// key is the escaped key of the value being read, such as a%5Bb%5D;
	// nested values extend it and restore it when done.
	key   []byte
	first bool
}

// object encodes the members of an object whose '{' has been read.
func (e *formEncoder) object(depth int) error {
	for e.dec.More() {
		t, err := e.token()
		if err != nil {
			return err
		}
		n := len(e.key)
		if n == 0 {
			e.key = appendQueryEscape(e.key, t.(string))
		} else {
			e.key = append(e.key, "%5B"...)
			e.key = appendQueryEscape(e.key, t.(string))
			e.key = append(e.key, "%5D"...)
		}
		if err := e.value(depth); err != nil {
			return err
		}
		e.key = e.key[:n]
	}
	return e.end()
}

// array encodes the elements of an array whose '[' has been read.
func (e *formEncoder) array(depth int) error {
	for i := 0; e.dec.More(); i++ {
		n := len(e.key)
		e.key = append(e.key, "%5B"...)
		e.key = strconv.AppendInt(e.key, int64(i), 10)
		e.key = append(e.key, "%5D"...)
		if err := e.value(depth); err != nil {
			return err
		}
		e.key = e.key[:n]
	}
	return e.end()
}

// value encodes the next value under e.key. depth is the nesting of the
// object or array holding it.
func (e *formEncoder) value(depth int) error {
	t, err := e.token()
	if err != nil {
		return err
	}
	switch t := t.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return errTooDeep
		}
		if t == '{' {
			return e.object(depth + 1)
		}
		return e.array(depth + 1)
	case string:
		e.pair(t)
	case json.Number:
		e.pair(string(t))
	case bool:
		e.pair(strconv.FormatBool(t))
	case nil:
		e.pair("")
	}
	return nil
}

// pair appends e.key=value.
func (e *formEncoder) pair(value string) {
	if !e.first {
		e.dst = append(e.dst, '&')
	}
	e.first = false
	e.dst = append(e.dst, e.key...)
	e.dst = append(e.dst, '=')
	e.dst = appendQueryEscape(e.dst, value)
}

// appendQueryEscape appends s escaped as url.QueryEscape escapes it,
// without the intermediate string.
func appendQueryEscape(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}
