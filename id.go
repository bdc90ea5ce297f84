package hookline

import (
	"strings"

	"github.com/segmentio/ksuid"
)

// ID prefixes, one per resource, as Svix uses them. The rest of an ID is a
// KSUID: 27 base62 characters that sort by creation time.
const (
	PrefixApp      = "app_"
	PrefixEndpoint = "ep_"
	PrefixMessage  = "msg_"
	PrefixAttempt  = "atmpt_"
	PrefixDelivery = "dlv_"
	PrefixTask     = "qtask_"
)

// NewID returns a new sortable ID with the given prefix.
func NewID(prefix string) string {
	return prefix + ksuid.New().String()
}

// IsID reports whether s is a well-formed ID with the given prefix. Such a
// string is looked up as an ID; anything else is looked up as a uid.
func IsID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 27 {
		return false
	}
	_, err := ksuid.Parse(rest)
	return err == nil
}
