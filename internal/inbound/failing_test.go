package inbound_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/opwebhook"
)

// events records operational events.
type events struct {
	mu  sync.Mutex
	got []opwebhook.Event
}

func (r *events) Emit(ev opwebhook.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
}

func (r *events) all() []opwebhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]opwebhook.Event(nil), r.got...)
}

// TestVerificationFailing checks that the tenth rejected request to a
// source within five minutes of the first sends one
// source.verification_failing, and that the next window may send another.
func TestVerificationFailing(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Now().Add(-time.Hour).UTC().Truncate(time.Second) // behind the real clock, which IDs read
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	rec := &events{}
	e := newEnv(t, nil, func(o *inbound.Options) { o.Now = clock; o.Events = rec })
	src, path := e.source(t, func(s *hookline.Source) { s.UID = "gh" })
	_, other := e.source(t, nil)
	start := clock()

	reject := func(path string, n int) {
		t.Helper()
		for i := range n {
			if code, _ := e.post(t, "POST", path, `{"a":2}`, githubHeaders(`{"a":1}`, "d-"+strconv.Itoa(i))); code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
		}
	}
	reject(path, 5)
	reject(other, 9)
	// A verified request neither counts nor resets the count.
	if code, _ := e.post(t, "POST", path, `{"a":1}`, githubHeaders(`{"a":1}`, "ok")); code != http.StatusOK {
		t.Fatalf("verified request: status %d", code)
	}
	advance(time.Minute)
	reject(path, 4)
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("%d events after 9 rejections of one source and 9 of another", len(got))
	}
	reject(path, 1)
	got := rec.all()
	if len(got) != 1 || got[0].Type != opwebhook.SourceVerificationFailing {
		t.Fatalf("events %+v, want one %s", got, opwebhook.SourceVerificationFailing)
	}
	d := got[0].Data.(*opwebhook.SourceFailingData)
	if d.SourceID != src.ID || d.SourceUID == nil || *d.SourceUID != "gh" || d.SourceName != "github" || d.Failures != 10 ||
		!d.Since.Equal(start) || !d.LastAt.Equal(start.Add(time.Minute)) || d.LastError == "" {
		t.Errorf("data %+v", d)
	}
	// The rest of the window sends nothing more.
	reject(path, 15)
	if n := len(rec.all()); n != 1 {
		t.Fatalf("%d events within one window, want 1", n)
	}
	// A new window, a new burst.
	advance(failingWindow)
	reject(path, 10)
	if n := len(rec.all()); n != 2 {
		t.Fatalf("%d events after a second burst, want 2", n)
	}
}

// failingWindow is the window of a burst, as documented.
const failingWindow = 5 * time.Minute
