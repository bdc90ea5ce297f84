package api

import (
	"net/http"
	"net/url"
	"strings"
)

// checkPath refuses a request path that does not name one resource as it
// stands, before routing and authentication. http.ServeMux answers a path
// with "." or ".." segments or doubled slashes by redirecting to the path
// without them, which is another resource: the parent of
// .../endpoint/.. is the app, and clients that follow redirects keeping
// the method would delete or change it. Escaped forms are refused too: a
// segment that unescapes to "." or ".." (%2e%2E), which clients and
// proxies may decode and clean, and an escaped "/" (%2F), which would make
// a name that the router reads as one segment and a reader of the URL as
// two. One trailing slash is allowed; serve ignores it.
func checkPath(u *url.URL) error {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return badPath(p, "it must start with /")
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		if seg == "" {
			if i == len(segs)-1 {
				continue
			}
			return badPath(p, "it has an empty segment (a doubled slash)")
		}
		dec, err := url.PathUnescape(seg)
		switch {
		case err != nil:
			return badPath(p, "a segment is not a valid escape")
		case dec == "." || dec == "..":
			return badPath(p, `a segment is "." or "..", which names no resource`)
		case strings.Contains(dec, "/"):
			return badPath(p, `a segment holds an escaped "/"`)
		}
	}
	return nil
}

func badPath(p, why string) error {
	return &apiError{status: http.StatusBadRequest, code: "invalid_path", detail: "the path " + quote(p) + " is refused: " + why}
}
