package inbound

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// unstorable names the part of a request that no store can keep byte for
// byte, "" if none: a path (as decoded), query or header holding a NUL or
// bytes that are not UTF-8. Such text cannot go into a text or JSON column
// of PostgreSQL, nor into JSON; received bodies, kept as bytes, can hold
// anything. No well-formed request has one: a query's other bytes are
// percent-encoded, and header values outside ASCII are obsolete (RFC 9110,
// section 5.5). A request with one is refused rather than kept altered.
func unstorable(r *http.Request) string {
	bad := func(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }
	switch {
	case bad(r.URL.Path):
		return "the path"
	case bad(r.URL.RawQuery):
		return "the query"
	}
	for name, values := range r.Header {
		if bad(name) {
			return "a header name"
		}
		for _, v := range values {
			if bad(v) {
				return "header " + name
			}
		}
	}
	return ""
}
