package hookline

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// namePattern is the pattern Svix uses for uids, event type names, channels
// and event IDs. Each of its characters is unreserved in a URL (RFC 3986,
// section 2.3), so a name stands in a path as it is, without escaping.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9\-_.]+$`)

// maxName is the length of the longest name.
const maxName = 256

// ValidName reports whether s can be an event type name, channel, uid or
// event ID.
func ValidName(s string) bool { return checkName(s, maxName) == "" }

// checkName returns what is wrong with s as a name of at most max
// characters, or "" when nothing is.
//
// Names are chosen by callers and name resources in URL paths
// (/api/v1/app/{uid}/endpoint/{uid}), so each must be one path segment
// that reads back as itself. "." and ".." do not: URL resolution
// (RFC 3986, section 5.2.4), HTTP clients and routers remove them together
// with the segment before, so that a request for the endpoint ".." of an
// app would reach the app itself.
func checkName(s string, max int) string {
	switch {
	case s == "." || s == "..":
		return `must not be "." or "..", which URLs read as the current or the parent path segment`
	case s == "" || len(s) > max || !namePattern.MatchString(s):
		return "must be 1 to " + strconv.Itoa(max) + " characters of a-z, A-Z, 0-9, '-', '_' or '.'"
	}
	return ""
}

// validUID checks an optional uid.
func validUID(v *ValidationError, uid string) {
	if uid == "" {
		return
	}
	if msg := checkName(uid, maxName); msg != "" {
		v.add("uid", msg)
	}
}

// CheckPath returns what keeps an escaped URL path from naming one
// resource as it stands, or "" when nothing does. Such a path starts with
// "/" and has no empty segment (a doubled slash; one trailing slash is
// allowed), no segment that is "." or ".." once unescaped, which URL
// resolution, clients and routers remove together with the segment
// before, and no escaped "/", which makes one segment that a reader of the
// URL takes for two.
func CheckPath(escaped string) string {
	if !strings.HasPrefix(escaped, "/") {
		return "it must start with /"
	}
	segs := strings.Split(escaped[1:], "/")
	for i, seg := range segs {
		if seg == "" {
			if i == len(segs)-1 {
				continue
			}
			return "it has an empty segment (a doubled slash)"
		}
		dec, err := url.PathUnescape(seg)
		switch {
		case err != nil:
			return "a segment is not validly escaped"
		case dec == "." || dec == "..":
			return `a segment is "." or "..", which names no resource`
		case strings.Contains(dec, "/"):
			return `a segment holds an escaped "/"`
		}
	}
	return ""
}
