// Package encode turns a message payload into the body an endpoint
// receives, in the endpoint's format: the JSON as published, an
// application/x-www-form-urlencoded form, or an XML document.
//
// Form and XML bodies follow the payload's keys in the order they were
// published, not sorted, and keep every scalar's literal text: a number
// written 10.00 is sent as 10.00. Forms nest with brackets, as PHP, Rails
// and Stripe do (a[b]=1, a[c][0]=x); XML repeats an array's key per item.
// The comments on appendForm and appendXML give the full rules, and
// docs/formats.md describes them for users.
//
// A delivery is signed over the bytes returned here, so receivers verify
// the raw body before parsing it. The conversion is deterministic: every
// attempt of a delivery sends the same bytes.
package encode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hookline/hookline"
)

// MaxDepth is how deeply objects and arrays may nest in a payload, counting
// the top-level object as one. The encoders recurse per level, so the bound
// keeps a hostile payload from exhausting the stack; real events nest a
// handful of levels.
const MaxDepth = 64

// Content types of the formats.
const (
	ContentTypeJSON = "application/json"
	ContentTypeForm = "application/x-www-form-urlencoded"
	ContentTypeXML  = "application/xml; charset=utf-8"
)

// Body returns the body to send for payload, a JSON object, in format f,
// and its Content-Type. The zero Format means JSON. For JSON the body is
// payload itself, not a copy. A payload that is not a JSON object, nests
// deeper than MaxDepth, or an unknown format gives an error wrapping
// hookline.ErrInvalid.
func Body(f hookline.Format, payload []byte) (body []byte, contentType string, err error) {
	if f == hookline.FormatJSON || f == "" {
		if err := checkJSON(payload); err != nil {
			return nil, "", err
		}
		return payload, ContentTypeJSON, nil
	}
	return AppendBody(nil, f, payload)
}

// AppendBody is Body appending to dst, so a sender can reuse one buffer
// across deliveries. On error it returns dst unchanged.
func AppendBody(dst []byte, f hookline.Format, payload []byte) (body []byte, contentType string, err error) {
	switch f {
	case hookline.FormatJSON, "":
		if err := checkJSON(payload); err != nil {
			return dst, "", err
		}
		return append(dst, payload...), ContentTypeJSON, nil
	case hookline.FormatForm:
		b, err := appendForm(dst, payload)
		if err != nil {
			return dst, "", fmt.Errorf("encode form body: %w", err)
		}
		return b, ContentTypeForm, nil
	case hookline.FormatXML:
		b, err := appendXML(dst, payload)
		if err != nil {
			return dst, "", fmt.Errorf("encode xml body: %w", err)
		}
		return b, ContentTypeXML, nil
	}
	return dst, "", fmt.Errorf("encode body: %w: unknown format %q", hookline.ErrInvalid, f)
}

// checkJSON makes sure a payload sent as JSON is an object. It stops at the
// first byte: hookline.Message.Validate parsed the whole payload when it
// was published, and parsing it again for every delivery would cost more
// than signing it.
func checkJSON(payload []byte) error {
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) == 0 || p[0] != '{' {
		return fmt.Errorf("encode json body: %w", errNotObject)
	}
	return nil
}

var (
	errNotObject = fmt.Errorf("%w: payload is not a JSON object", hookline.ErrInvalid)
	errTooDeep   = fmt.Errorf("%w: payload nests deeper than %d levels", hookline.ErrInvalid, MaxDepth)
	errTrailing  = fmt.Errorf("%w: payload has data after its JSON object", hookline.ErrInvalid)
)

// decoder reads a payload as a stream of JSON tokens, so keys keep their
// published order and numbers their literal text.
type decoder struct {
	dec *json.Decoder
}

func newDecoder(payload []byte) decoder {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	return decoder{dec: d}
}

// token returns the next token, with syntax errors marked invalid.
func (d decoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %v", hookline.ErrInvalid, err)
	}
	return t, nil
}

// open reads the opening brace of the top-level object.
func (d decoder) open() error {
	t, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errNotObject
		}
		return fmt.Errorf("%w: %v", hookline.ErrInvalid, err)
	}
	if t != json.Delim('{') {
		return errNotObject
	}
	return nil
}

// end reads the closing delimiter of the current object or array.
func (d decoder) end() error {
	_, err := d.token()
	return err
}

// close checks that nothing follows the top-level object.
func (d decoder) close() error {
	if _, err := d.dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}
