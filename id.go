package hookline

import (
	"math"
	"strings"
	"sync"
	"time"

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
	PrefixToken    = "tok_"
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

// ksuidEpoch is the Unix time at which KSUID timestamps start.
const ksuidEpoch = 1400000000

// IDFloor returns a lower bound on the IDs with the given prefix of the
// rows created after t, for lists that filter on creation time to walk
// only the IDs above it. It holds because a row's ID is read from the same
// clock as its creation time, at the same moment or later (an attempt's
// when its result is written), and NewID never goes back: such an ID is
// from the second of the row's creation time or a later one. The bound is
// a second lower still, so that an ID read just before its creation time,
// across a second boundary, stays above it.
func IDFloor(prefix string, t time.Time) string {
	sec := t.Unix() - 1
	switch {
	case sec < ksuidEpoch:
		return prefix // every ID is above its bare prefix
	case sec-ksuidEpoch > math.MaxUint32:
		return prefix + ksuid.Max.String()
	}
	k, err := ksuid.FromParts(time.Unix(sec, 0), make([]byte, 16))
	if err != nil {
		return prefix // cannot happen: the payload is of the right size
	}
	return prefix + k.String()
}

// IDLag is how long after its row's creation time an ID may be read, at
// most: the creation time is read first and the ID as the row is made,
// moments later. A message is named within its request, and a message a
// route publishes, or a replay, is named after the request it routes
// arrived, within the time the server gives a request. (A clock stepped
// back by more than IDLag would leave IDs ahead of their times for as long,
// as NewID never goes back.)
const IDLag = 10 * time.Minute

// IDCeiling returns an upper bound on the IDs with the given prefix of the
// rows created before t, whose IDs are read within IDLag of their creation
// time, for lists that filter on creation time to start their walk below
// it instead of at the newest row. The bound is the highest ID of the
// second IDLag after t.
func IDCeiling(prefix string, t time.Time) string {
	sec := t.Add(IDLag).Unix()
	switch {
	case sec < ksuidEpoch:
		return prefix + ksuid.Nil.String()
	case sec-ksuidEpoch > math.MaxUint32:
		return prefix + ksuid.Max.String()
	}
	payload := make([]byte, 16)
	for i := range payload {
		payload[i] = 0xff
	}
	k, err := ksuid.FromParts(time.Unix(sec, 0), payload)
	if err != nil {
		return prefix + ksuid.Max.String() // cannot happen: the payload is of the right size
	}
	return prefix + k.String()
}

// FirstID returns the lowest well-formed ID with the given prefix, below
// every ID that NewID returns: the cursor before the first row of a list.
func FirstID(prefix string) string {
	return prefix + ksuid.Nil.String()
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
