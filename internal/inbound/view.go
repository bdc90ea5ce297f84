package inbound

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookline/hookline"
)

// maxViewDepth bounds the nesting of an XML body turned into a view.
const maxViewDepth = 64

// View renders a JSON, form-encoded, multipart or XML body as JSON, for
// route filters and display. It returns nil for a body of another type or
// one that does not parse: such a body is still kept and forwarded as it
// came, only not looked into.
func View(contentType string, body []byte) json.RawMessage {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = ""
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"),
		mediaType == "" && len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
		// A view deeper than a payload may be is none: it could not be
		// published or shown to the SDKs that decode answers.
		if json.Valid(trimmed) && !hookline.JSONDeeper(trimmed, hookline.MaxPayloadDepth) {
			return json.RawMessage(trimmed)
		}
	case mediaType == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err == nil {
			return formView(vals)
		}
	case mediaType == "multipart/form-data":
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		if form, err := r.ReadForm(int64(len(body)) + 1024); err == nil {
			defer form.RemoveAll()
			return formView(form.Value)
		}
	case mediaType == "application/xml" || mediaType == "text/xml" || strings.HasSuffix(mediaType, "+xml"),
		mediaType == "" && len(trimmed) > 0 && trimmed[0] == '<':
		if v, err := xmlView(body); err == nil {
			return v
		}
	}
	return nil
}

// formView turns form values into a JSON object: a key sent once maps to
// its string, a repeated key to an array of strings. Slack, for one, sends
// its interactive payloads as a form field holding JSON: such a field is
// parsed, so filters can look into it.
func formView(vals map[string][]string) json.RawMessage {
	out := make(map[string]any, len(vals))
	for k, vs := range vals {
		if len(vs) == 1 {
			out[k] = maybeJSON(vs[0])
			continue
		}
		out[k] = vs
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}

func maybeJSON(s string) any {
	t := strings.TrimSpace(s)
	if len(t) > 1 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	return s
}

// xmlView turns an XML document into JSON: {"root": ...} where an element
// with only text is its text, an element with children or attributes is an
// object (attributes as "@name", text beside children as "#text"), and a
// repeated child becomes an array.
func xmlView(body []byte) (json.RawMessage, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			v, err := xmlElement(d, start, 0)
			if err != nil {
				return nil, err
			}
			return json.Marshal(map[string]any{start.Name.Local: v})
		}
	}
}

func xmlElement(d *xml.Decoder, start xml.StartElement, depth int) (any, error) {
	if depth > maxViewDepth {
		return nil, errors.New("xml nested too deeply")
	}
	obj := map[string]any{}
	for _, a := range start.Attr {
		obj["@"+a.Name.Local] = a.Value
	}
	var text strings.Builder
	children := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			children = true
			v, err := xmlElement(d, t, depth+1)
			if err != nil {
				return nil, err
			}
			name := t.Name.Local
			switch prev := obj[name].(type) {
			case nil:
				obj[name] = v
			case []any:
				obj[name] = append(prev, v)
			default:
				obj[name] = []any{prev, v}
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			s := strings.TrimSpace(text.String())
			if !children && len(obj) == 0 {
				return s, nil
			}
			if s != "" {
				obj["#text"] = s
			}
			return obj, nil
		}
	}
}

// eventTypeHeaders name the event in the headers of providers that send it
// there, in the order they are tried.
var eventTypeHeaders = []string{"X-Github-Event", "X-Gitlab-Event", "X-Shopify-Topic", "X-Event-Type", "X-Webhook-Event"}

// eventTypeFields name the event in the bodies of providers that send it
// there (Stripe and Standard Webhooks "type", Slack's Events API
// "event.type", others "event_type", "eventType" or "event").
var eventTypeFields = []string{"type", "event.type", "event_type", "eventType", "event"}

// EventType finds the provider's name for the kind of event a request
// carries, from its headers or its JSON view; "" when it names none.
func EventType(h http.Header, view *hookline.Fields) string {
	for _, name := range eventTypeHeaders {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	// Slack's Events API wraps the event: {"type": "event_callback",
	// "event": {"type": "app_mention"}}; the inner type is the useful one.
	if outer, _ := view.String("type"); outer == "event_callback" {
		if inner, ok := view.String("event.type"); ok {
			return inner
		}
	}
	for _, path := range eventTypeFields {
		if v, ok := view.String(path); ok && v != "" {
			return v
		}
	}
	return ""
}
