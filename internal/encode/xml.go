package encode

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strconv"
)

// appendXML appends payload as an XML document: the declaration, then a
// <payload> root holding one element per key, in published order.
//
//   - A scalar becomes the element's text, escaped by xml.EscapeText;
//     null becomes an empty element, as does "" (XML cannot tell them
//     apart).
//   - An object becomes an element holding its members; an empty object
//     an empty element.
//   - An array repeats its key's element once per item, the way XML lists
//     usually look: {"tag":["a","b"]} gives <tag>a</tag><tag>b</tag>. An
//     empty array therefore contributes nothing. An array directly inside
//     an array has no key to repeat, so it becomes one element of the outer
//     key holding an <item> per inner item.
//   - Element names are kept to ASCII letters, digits, '_', '-' and '.',
//     starting with a letter or '_'. Any other character of a key becomes
//     '_', a key starting with a digit, '-' or '.' gets a '_' in front, and
//     the empty key becomes "_". Such an element carries the original key
//     in a name attribute: {"1st place":1} gives
//     <_1st_place name="1st place">1</_1st_place>.
func appendXML(dst, payload []byte) ([]byte, error) {
	d := newDecoder(payload)
	if err := d.open(); err != nil {
		return nil, err
	}
	e := xmlEncoder{decoder: d, buf: bytes.NewBuffer(dst)}
	e.buf.WriteString(xml.Header)
	e.buf.WriteString("<payload>")
	if err := e.members(1); err != nil {
		return nil, err
	}
	e.buf.WriteString("</payload>")
	if err := d.close(); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

type xmlEncoder struct {
	decoder
	buf *bytes.Buffer
}

// members writes an element per member of an object whose '{' has been
// read. depth is the object's nesting.
func (e *xmlEncoder) members(depth int) error {
	for e.dec.More() {
		t, err := e.token()
		if err != nil {
			return err
		}
		if err := e.value(t.(string), depth, false); err != nil {
			return err
		}
	}
	return e.end()
}

// value writes the next value as element(s) named after key. inArray says
// the value is an array item, which changes how a nested array is written.
func (e *xmlEncoder) value(key string, depth int, inArray bool) error {
	t, err := e.token()
	if err != nil {
		return err
	}
	delim, isDelim := t.(json.Delim)
	if isDelim && depth >= MaxDepth {
		return errTooDeep
	}
	if delim == '[' && !inArray {
		for e.dec.More() {
			if err := e.value(key, depth+1, true); err != nil {
				return err
			}
		}
		return e.end()
	}

	name, sanitized := xmlName(key)
	e.buf.WriteByte('<')
	e.buf.WriteString(name)
	if sanitized {
		e.buf.WriteString(` name="`)
		e.escape(key)
		e.buf.WriteByte('"')
	}
	switch t := t.(type) {
	case nil:
		e.buf.WriteString("/>")
		return nil
	case json.Delim:
		e.buf.WriteByte('>')
		if t == '{' {
			err = e.members(depth + 1)
		} else {
			err = e.items(depth + 1)
		}
		if err != nil {
			return err
		}
	case string:
		e.buf.WriteByte('>')
		e.escape(t)
	case json.Number:
		e.buf.WriteByte('>')
		e.buf.WriteString(string(t)) // digits, '.', '-', '+', 'e': nothing to escape
	case bool:
		e.buf.WriteByte('>')
		e.buf.WriteString(strconv.FormatBool(t))
	}
	e.buf.WriteString("</")
	e.buf.WriteString(name)
	e.buf.WriteByte('>')
	return nil
}

// items writes an <item> per item of an array nested in an array, whose
// '[' has been read.
func (e *xmlEncoder) items(depth int) error {
	for e.dec.More() {
		if err := e.value("item", depth, true); err != nil {
			return err
		}
	}
	return e.end()
}

// escape writes s as XML text. EscapeText also replaces characters XML
// does not allow, such as most control characters, with U+FFFD, so the
// document stays well-formed whatever the payload holds.
func (e *xmlEncoder) escape(s string) {
	xml.EscapeText(e.buf, []byte(s)) // writes to a bytes.Buffer cannot fail
}

// xmlName returns key as an XML element name and whether it had to change.
func xmlName(key string) (string, bool) {
	if isXMLName(key) {
		return key, false
	}
	b := make([]byte, 0, len(key)+1)
	for i, r := range key {
		switch {
		case !isNameChar(r):
			r = '_'
		case i == 0 && !isNameStart(r):
			b = append(b, '_')
		}
		b = append(b, byte(r))
	}
	if len(b) == 0 {
		b = append(b, '_')
	}
	return string(b), true
}

func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !isNameStart(r) || !isNameChar(r) {
			return false
		}
	}
	return true
}

// isNameStart reports whether r may begin an element name. Names are kept
// to ASCII letters, digits, '_', '-' and '.': XML 1.0 editions disagree on
// which other characters names may hold (encoding/xml follows the fourth,
// stricter one), and ':' would declare a namespace prefix. The original
// key travels in the name attribute, so nothing is lost.
func isNameStart(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_'
}

// isNameChar reports whether r may continue an element name.
func isNameChar(r rune) bool {
	return isNameStart(r) || '0' <= r && r <= '9' || r == '-' || r == '.'
}
