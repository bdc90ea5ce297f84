package hookline

import (
	"strings"
	"sync"

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

var (
	idMu   sync.Mutex
	lastID ksuid.KSUID
)

// NewID returns a new sortable ID with the given prefix. IDs from one
// process increase strictly, even within one second (a KSUID's timestamp
// resolution), so that lists ordered by ID are in creation order.
func NewID(prefix string) string {
	id := ksuid.New()
	idMu.Lock()
	if ksuid.Compare(id, lastID) <= 0 {
		id = lastID.Next()
	}
	lastID = id
	idMu.Unlock()
	return prefix + id.String()
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
