package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/segmentio/ksuid"

	"github.com/hookline/hookline"
)

// WantIDLag fails t unless id, an ID with the given prefix of a row
// created at created, was made when the lists that filter on creation time
// expect it: no earlier than the second before the creation time's (see
// hookline.IDFloor), and no later than hookline.IDLag after it (see
// hookline.IDCeiling). Every path that names new rows must keep to it.
func WantIDLag(t testing.TB, prefix, id string, created time.Time) {
	t.Helper()
	rest, ok := strings.CutPrefix(id, prefix)
	k, err := ksuid.Parse(rest)
	if !ok || err != nil {
		t.Errorf("%q is no ID with prefix %q", id, prefix)
		return
	}
	made := k.Time()
	if low := created.Truncate(time.Second).Add(-time.Second); made.Before(low) {
		t.Errorf("ID %s made at %v, more than a second before its creation time %v", id, made.UTC(), created.UTC())
	}
	if high := created.Add(hookline.IDLag); made.After(high) {
		t.Errorf("ID %s made at %v, more than hookline.IDLag (%v) after its creation time %v", id, made.UTC(), hookline.IDLag, created.UTC())
	}
}
