package api

import (
	"net/http"
	"net/url"

	"github.com/hookline/hookline"
)

// checkPath refuses a request path that does not name one resource as it
// stands (hookline.CheckPath), before routing and authentication.
// http.ServeMux answers a path with "." or ".." segments or doubled
// slashes by redirecting to the path without them, which is another
// resource: the parent of .../endpoint/.. is the app, and clients that
// follow redirects keeping the method would delete or change it. Escaped
// forms are refused too: a segment that unescapes to "." or ".." (%2e%2E),
// which clients and proxies may decode and clean, and an escaped "/"
// (%2F). One trailing slash is allowed; serve ignores it.
func checkPath(u *url.URL) error {
	p := u.EscapedPath()
	if why := hookline.CheckPath(p); why != "" {
		return &apiError{status: http.StatusBadRequest, code: "invalid_path",
			detail: "the path " + quote(p) + " is refused: " + why}
	}
	return nil
}
